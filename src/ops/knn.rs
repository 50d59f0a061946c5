//! `Knn`: mines each point's k nearest neighbours (cosine similarity) from all the feature
//! batches it receives — SCAN's step 2. Writes `neighbours.npy` (`<u4`, N×k),
//! `similarities.npy` (`<f4`, N×k) and `quality.json` into its run folder (plus the HNSW
//! index and its sidecar when approximate) and sends the table once. An HNSW index already
//! in the run folder, built from the same features with the same `m` and
//! `ef_construction`, is reused rather than rebuilt: a re-run that changes only `k` or
//! `ef_search` (or resumes after a crash while querying) skips the build. When the features
//! came from an `Encode` node, `source.json` says how (`ops::provenance`), for `predict`.

use std::sync::Arc;
use std::time::Instant;

use rayon::ThreadPool;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{provenance, BuildContext, InputPort, Operator, ParamDoc, ParamError};
use crate::data::NeighbourTable;
use crate::knn::hnsw::{HnswIndex, HnswParams};
use crate::knn::{exact, gather, quality, save_table, KnnError, UnitRows};
use crate::payload::{Payload, PortType};
use crate::runtime::{Context, OpError};

/// Up to this many points `Auto` searches exactly; above it, HNSW with the default
/// parameters (m 16, ef 100/64). Measured with `benches/knn_hnsw.rs` (test profile, 2
/// threads, wall seconds, medians of three, quiet 2-core machine, load ≈ 2, 2026-12-06) on
/// clustered synthetic 128-D data (100 clusters, spread 0.5: the hard case, each cluster's
/// spread is isotropic 128-D noise), exact top-20 against HNSW build with the neighbours
/// gathered on the way:
///
/// | points | exact | HNSW (recall@20) |
/// |---|---|---|
/// | 20,000 | 0.87 | 1.20 (0.998) |
/// | 40,000 | 2.74 | 2.74 (0.999) |
/// | 60,000 | 5.97 | 4.87 (0.999) |
/// | 120,000 | 26.3 | 11.4 (0.991) |
/// | 250,000 | 102.1 | 31.3 (0.965) |
///
/// So HNSW overtakes exact at about 40,000 points and is 3.26× faster at 250,000 (exact
/// grows as N^2, HNSW as N^1.4 here). Up to 50,000 `Auto` stays exact: it is exact (HNSW
/// approximates) and no slower there, which keeps the CIFAR-10 train split exact. The cost ratio barely depends on D (both sides are dominated by
/// D-long dot products), so the threshold is on N alone.
pub const AUTO_EXACT_MAX: usize = 50_000;

/// How neighbours are searched.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum IndexKind {
    /// Brute force: every pair's similarity (blocked GEMM).
    Exact,
    /// An HNSW graph (approximate; recall is measured and reported).
    Hnsw {
        /// Links per node and layer.
        #[serde(default = "default_m")]
        m: usize,
        /// Candidate list width while inserting.
        #[serde(default = "default_ef_construction")]
        ef_construction: usize,
        /// Candidate list width while searching.
        #[serde(default = "default_ef_search")]
        ef_search: usize,
    },
    /// Exact up to [`AUTO_EXACT_MAX`] points, HNSW with default parameters above.
    #[default]
    Auto,
}

fn default_m() -> usize {
    HnswParams::default().m
}
fn default_ef_construction() -> usize {
    HnswParams::default().ef_construction
}
fn default_ef_search() -> usize {
    HnswParams::default().ef_search
}

/// Parameters of [`Knn`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnnParams {
    /// Neighbours per point.
    #[serde(default = "default_k")]
    pub k: usize,
    /// How neighbours are searched.
    #[serde(default)]
    pub index: IndexKind,
}

fn default_k() -> usize {
    20
}

impl Default for KnnParams {
    fn default() -> Self {
        KnnParams {
            k: default_k(),
            index: IndexKind::default(),
        }
    }
}

/// The `Knn` operator.
pub struct Knn {
    params: KnnParams,
}

impl Operator for Knn {
    type Params = KnnParams;
    const NAME: &'static str = "Knn";
    const SUMMARY: &'static str = "Mines each point's k nearest neighbours by cosine similarity (exact or HNSW) and reports their quality.";
    const PARAMS: &'static [ParamDoc] = &[
        ParamDoc {
            name: "k",
            ty: "usize",
            doc: "neighbours per point (below the number of points)",
        },
        ParamDoc {
            name: "index",
            ty: "Exact | Hnsw(m, ef_construction, ef_search) | Auto",
            doc: "the search; Auto is exact up to 50,000 points, HNSW above",
        },
    ];
    const INPUTS: &'static [InputPort] = &[InputPort {
        field: "input",
        payload: PortType::Features,
        required: true,
        doc: "the feature vectors (all of them are gathered first)",
    }];
    const OUTPUT: Option<PortType> = Some(PortType::Neighbours);

    fn build(params: KnnParams, _ctx: &BuildContext) -> Result<Self, Vec<ParamError>> {
        let mut errors = Vec::new();
        if params.k == 0 {
            errors.push(ParamError::new("k", "must be at least 1"));
        }
        if let IndexKind::Hnsw { m, ef_search, .. } = params.index {
            if !(2..=255).contains(&m) {
                errors.push(ParamError::new("index", "m must be within 2..=255"));
            }
            if ef_search == 0 {
                errors.push(ParamError::new("index", "ef_search must be at least 1"));
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Knn { params })
    }

    fn run(self, ctx: &mut Context) -> Result<(), OpError> {
        let mut batches = Vec::new();
        while let Some(payload) = ctx.recv("input")? {
            match payload {
                Payload::Features(batch) => batches.push(batch),
                other => return Err(wrong_payload(&other)),
            }
        }
        let gathered = gather(&batches)?;
        drop(batches);
        ctx.set_total(gathered.data.len().checked_div(gathered.dim).unwrap_or(0) as u64);
        let rows = UnitRows::normalise(gathered.data, gathered.dim)?;
        rows.check_k(self.params.k)?;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(ctx.workers())
            .build()
            .map_err(|e| KnnError::Pool(e.to_string()))?;
        let (mut table, mut report) = self.mine(&rows, &pool, ctx)?;
        if let Some(labels) = gathered.labels {
            report["label_agreement"] = json!(quality::label_agreement(&table, &labels));
            table.labels = Some(labels);
        }
        table.ids = subset_ids(gathered.ids);
        finish(ctx, table, report)
    }
}

impl Knn {
    /// Builds the table with the chosen index; returns it with the quality figures so far.
    fn mine(
        &self,
        rows: &UnitRows,
        pool: &ThreadPool,
        ctx: &Context,
    ) -> Result<(NeighbourTable, serde_json::Value), OpError> {
        let k = self.params.k;
        let hnsw = match self.params.index {
            IndexKind::Exact => None,
            IndexKind::Auto if rows.len() <= AUTO_EXACT_MAX => None,
            IndexKind::Auto => Some(HnswParams::default()),
            IndexKind::Hnsw {
                m,
                ef_construction,
                ef_search,
            } => Some(HnswParams {
                m,
                ef_construction,
                ef_search,
            }),
        };
        let mut report = json!({ "points": rows.len(), "dim": rows.dim(), "k": k });
        let Some(params) = hnsw else {
            ctx.set_status(format!("exact top-{k} of {} points", rows.len()));
            let start = Instant::now();
            let table = exact::search(rows, k, pool)?;
            report["index"] = json!("exact");
            report["seconds"] = json!(start.elapsed().as_secs_f64());
            return Ok((table, report));
        };
        let start = Instant::now();
        let table = match HnswIndex::reusable(ctx.run_dir(), rows, params) {
            Ok(index) => {
                report["index_reused"] = json!(true);
                report["unreached_nodes_linked"] = json!(index.repaired());
                index.query_all(rows, k, pool)?
            }
            Err(why_not) => {
                ctx.set_status(format!("building HNSW over {} points", rows.len()));
                report["index_reused"] = json!(false);
                report["index_rebuilt_because"] = json!(why_not);
                let (index, table) = HnswIndex::build_with_neighbours(rows, params, k, pool)?;
                report["unreached_nodes_linked"] = json!(index.repaired());
                index.save(ctx.run_dir(), rows)?;
                table
            }
        };
        report["seconds"] = json!(start.elapsed().as_secs_f64());
        let recall = quality::recall_at_k(rows, &table, quality::RECALL_QUERIES, ctx.seed(), pool)?;
        report["index"] = json!({ "hnsw": params });
        report["recall_at_k"] = json!(recall);
        Ok((table, report))
    }
}

fn wrong_payload(found: &Payload) -> OpError {
    OpError::WrongPayload {
        field: "input".into(),
        found: found.port_type().describe(),
        expected: "feature batches".into(),
    }
}

/// Writes the table and `quality.json`, shows the quality line, sends the table.
fn finish(
    ctx: &mut Context,
    table: NeighbourTable,
    report: serde_json::Value,
) -> Result<(), OpError> {
    let dir = ctx.run_dir().to_path_buf();
    save_table(&dir, &table).map_err(|e| OpError::io(&dir, e))?;
    record_source(ctx)?;
    let path = dir.join("quality.json");
    let text = serde_json::to_vec_pretty(&report).map_err(|e| OpError::Failed(e.to_string()))?;
    crate::fsutil::write_atomic(&path, &text).map_err(|e| OpError::io(&path, e))?;
    ctx.set_status(status_line(&report));
    ctx.send(Payload::Neighbours(Arc::new(table)))
}

/// Writes `source.json` when the features came from an `Encode` node (which left its
/// `encoder.json`), so `scanflow predict` can embed new images the same way and query the
/// table's points; removes a stale one otherwise.
fn record_source(ctx: &Context) -> Result<(), OpError> {
    let dir = ctx.run_dir();
    let path = dir.join(provenance::SOURCE_FILE);
    let from = ctx.source("input").zip(dir.parent());
    let source = match from {
        Some((node, graph_dir)) => provenance::feature_source(&graph_dir.join(node)),
        None => Ok(None),
    };
    match source.map_err(OpError::Failed)? {
        Some(source) => provenance::save(&source, dir, provenance::SOURCE_FILE),
        None => std::fs::remove_file(&path).or_else(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Ok(()),
            _ => Err(e),
        }),
    }
    .map_err(|e| OpError::io(path, e))
}

/// e.g. `k=20 hnsw recall@20 0.987 label agreement 0.874`.
fn status_line(report: &serde_json::Value) -> String {
    let k = &report["k"];
    let mut line = match report["recall_at_k"].as_f64() {
        Some(recall) => format!("k={k} hnsw recall@{k} {recall:.3}"),
        None => format!("k={k} exact"),
    };
    if let Some(agreement) = report["label_agreement"].as_f64() {
        line.push_str(&format!(" label agreement {agreement:.3}"));
    }
    line
}

/// The rows' dataset indices when they are a subset, not 0..N (saved as `ids.npy`).
fn subset_ids(ids: Vec<u64>) -> Option<Vec<u64>> {
    let identity = ids.iter().enumerate().all(|(row, &id)| row as u64 == id);
    (!identity).then_some(ids)
}
