//! Approximate neighbours with an HNSW graph (`hnsw_rs`): distance 1 − ⟨a, b⟩ on unit
//! vectors, clamped at 0 (rounding can push it slightly negative, which `DistDot` rejects
//! with a panic). Points are inserted in parallel on the caller's pool, so the graph (not
//! its quality) depends on thread timing. Every point is queried for k+1 neighbours and
//! itself dropped; the similarities are recomputed as exact dot products and rows sorted
//! (similarity descending, lower index first). A point the graph returns too few
//! neighbours for is answered exactly. The index can be saved (`file_dump`) with a JSON
//! sidecar naming the features it was built from, and is refused for other features.

use std::path::Path;

use hnsw_rs::prelude::{AnnT, Distance, Hnsw, HnswIo};
use rayon::prelude::*;
use rayon::ThreadPool;
use serde::{Deserialize, Serialize};

use super::{exact, KnnError, UnitRows};
use crate::data::NeighbourTable;

/// Base name of the dumped graph files (`hnsw.hnsw.graph`, `hnsw.hnsw.data`).
const BASENAME: &str = "hnsw";
/// The sidecar describing what a dumped index was built from.
const SIDECAR: &str = "hnsw.json";
/// Layers the graph may grow (hnsw_rs caps it at 16).
const MAX_LAYERS: usize = 16;

/// HNSW construction and search widths.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HnswParams {
    /// Links per node and layer (layer 0 keeps 2m).
    pub m: usize,
    /// Candidate list width while inserting.
    pub ef_construction: usize,
    /// Candidate list width while searching (raised to k+1 when smaller).
    pub ef_search: usize,
}

impl Default for HnswParams {
    fn default() -> Self {
        HnswParams {
            m: 16,
            ef_construction: 200,
            ef_search: 128,
        }
    }
}

/// 1 − ⟨a, b⟩ clamped at 0: cosine distance of unit vectors.
#[derive(Clone, Copy, Debug, Default)]
pub struct ClampedDot;

impl Distance<f32> for ClampedDot {
    fn eval(&self, a: &[f32], b: &[f32]) -> f32 {
        (1.0 - dot(a, b)).max(0.0)
    }
}

/// Inner product, with eight accumulators so it vectorises.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// What a saved index was built from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sidecar {
    /// Points indexed.
    pub points: usize,
    /// Vector length.
    pub dim: usize,
    /// [`UnitRows::fingerprint`] of the indexed features.
    pub fingerprint: String,
    /// The construction parameters.
    pub params: HnswParams,
}

/// A built HNSW graph over some [`UnitRows`].
pub struct HnswIndex {
    graph: Hnsw<'static, f32, ClampedDot>,
    params: HnswParams,
}

impl HnswIndex {
    /// Builds the graph over every row, inserting in parallel on `pool`.
    pub fn build(rows: &UnitRows, params: HnswParams, pool: &ThreadPool) -> Self {
        let graph = Hnsw::new(
            params.m.clamp(2, 255),
            rows.len(),
            MAX_LAYERS,
            params.ef_construction.max(params.m),
            ClampedDot,
        );
        let items: Vec<(&[f32], usize)> = (0..rows.len()).map(|i| (rows.row(i), i)).collect();
        pool.install(|| graph.parallel_insert_slice(&items));
        HnswIndex { graph, params }
    }

    /// Every point's `k` nearest other points (see the module notes).
    pub fn query_all(
        &self,
        rows: &UnitRows,
        k: usize,
        pool: &ThreadPool,
    ) -> Result<NeighbourTable, KnnError> {
        query_all(&self.graph, rows, k, self.params.ef_search, pool)
    }

    /// Dumps the graph into `dir` with a sidecar naming `rows`.
    pub fn save(&self, dir: &Path, rows: &UnitRows) -> Result<(), KnnError> {
        let fail = |message: String| KnnError::Index {
            path: dir.join(BASENAME),
            message,
        };
        let written = self
            .graph
            .file_dump(dir, BASENAME)
            .map_err(|e| fail(e.to_string()))?;
        if written != BASENAME {
            return Err(fail(format!("hnsw_rs wrote under `{written}` instead")));
        }
        let sidecar = Sidecar {
            points: rows.len(),
            dim: rows.dim(),
            fingerprint: rows.fingerprint(),
            params: self.params,
        };
        let json = serde_json::to_vec_pretty(&sidecar).map_err(|e| fail(e.to_string()))?;
        crate::fsutil::write_atomic(&dir.join(SIDECAR), &json).map_err(|e| fail(e.to_string()))
    }
}

/// Reads the sidecar of the index saved in `dir` and refuses it unless it was built from
/// exactly `rows`.
pub fn verify_saved(dir: &Path, rows: &UnitRows) -> Result<Sidecar, KnnError> {
    let path = dir.join(SIDECAR);
    let fail = |message: String| KnnError::Index {
        path: path.clone(),
        message,
    };
    let bytes = std::fs::read(&path).map_err(|e| fail(e.to_string()))?;
    let saved: Sidecar = serde_json::from_slice(&bytes).map_err(|e| fail(e.to_string()))?;
    let ours = (rows.len(), rows.dim(), rows.fingerprint());
    if (saved.points, saved.dim, &saved.fingerprint) != (ours.0, ours.1, &ours.2) {
        return Err(KnnError::ForeignIndex {
            path,
            message: format!(
                "it indexes {}×{} features (fingerprint {}) but these are {}×{} (fingerprint {})",
                saved.points, saved.dim, saved.fingerprint, ours.0, ours.1, ours.2
            ),
        });
    }
    Ok(saved)
}

/// Reloads the index saved in `dir` (after [`verify_saved`]) and queries every point.
pub fn load_and_query(
    dir: &Path,
    rows: &UnitRows,
    k: usize,
    ef_search: usize,
    pool: &ThreadPool,
) -> Result<NeighbourTable, KnnError> {
    verify_saved(dir, rows)?;
    let io = HnswIo::new(dir, BASENAME);
    let graph: Hnsw<f32, ClampedDot> =
        io.load_hnsw_with_dist(ClampedDot)
            .map_err(|e| KnnError::Index {
                path: dir.join(BASENAME),
                message: e.to_string(),
            })?;
    query_all(&graph, rows, k, ef_search, pool)
}

/// Queries every point for k+1 neighbours, drops itself, fills short rows exactly.
fn query_all(
    graph: &Hnsw<'_, f32, ClampedDot>,
    rows: &UnitRows,
    k: usize,
    ef_search: usize,
    pool: &ThreadPool,
) -> Result<NeighbourTable, KnnError> {
    rows.check_k(k)?;
    let ef = ef_search.max(k + 1);
    let found: Vec<Vec<(f32, u32)>> = pool.install(|| {
        (0..rows.len())
            .into_par_iter()
            .map(|i| neighbours_of(graph, rows, i, k, ef))
            .collect()
    });
    let short: Vec<usize> = (0..rows.len()).filter(|&i| found[i].len() < k).collect();
    let exact = exact::search_subset(rows, &short, k, pool)?;
    let mut table = NeighbourTable {
        k,
        indices: Vec::with_capacity(rows.len() * k),
        similarities: Vec::with_capacity(rows.len() * k),
        labels: None,
        ids: None,
    };
    let mut next_short = 0;
    for row in &found {
        if row.len() < k {
            let range = next_short * k..(next_short + 1) * k;
            table
                .indices
                .extend_from_slice(&exact.indices[range.clone()]);
            table
                .similarities
                .extend_from_slice(&exact.similarities[range]);
            next_short += 1;
            continue;
        }
        table.indices.extend(row.iter().map(|&(_, j)| j));
        table.similarities.extend(row.iter().map(|&(s, _)| s));
    }
    Ok(table)
}

/// Point `i`'s best `k` graph neighbours other than itself, as (similarity, index) sorted
/// by similarity descending then index; fewer than `k` when the graph returned fewer.
fn neighbours_of(
    graph: &Hnsw<'_, f32, ClampedDot>,
    rows: &UnitRows,
    i: usize,
    k: usize,
    ef: usize,
) -> Vec<(f32, u32)> {
    let query = rows.row(i);
    let mut found: Vec<(f32, u32)> = graph
        .search(query, k + 1, ef)
        .into_iter()
        .map(|n| n.d_id)
        .filter(|&j| j != i && j < rows.len())
        .map(|j| (dot(query, rows.row(j)), j as u32))
        .collect();
    found.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    found.truncate(k);
    found
}
