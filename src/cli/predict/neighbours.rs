//! `predict` against a `Knn` node's run folder: each new image's nearest points among those
//! the node indexed. The node's `source.json` says which `Encode` node made the indexed
//! vectors (model, output, view size, views averaged); the new images go through the same
//! model, output and views, then the saved HNSW index is queried (no rebuild) — or, when the node searched
//! exactly, the indexed vectors themselves. CSV: `file,neighbour_1,similarity_1,…` with
//! each neighbour's dataset index, most similar first.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use scanflow::data::npy::{read_npy_ids, read_npy_matrix};
use scanflow::data::{FeatureBatch, NeighbourTable};
use scanflow::knn::hnsw::HnswIndex;
use scanflow::knn::{exact, gather, KnnError, UnitRows};
use scanflow::model::network::ContrastiveModel;
use scanflow::model::ClusterModel;
use scanflow::ops::provenance::{self, IndexedFeatures, SOURCE_FILE};
use scanflow::ops::{mean_of_views, EncodeOutput};
use scanflow::report::csv_field;

use super::images::NewImages;
use super::output::PredictionWriter;
use super::{InputSizes, PredictArgs, PredictError};

/// True when `run` is the folder of a node that mined neighbours (it holds a table).
pub fn is_knn_run(run: &Path) -> bool {
    run.join("neighbours.npy").is_file()
}

/// The indexed points: unit rows in table order and each row's dataset index.
struct Indexed {
    rows: UnitRows,
    ids: Vec<u64>,
}

/// Embeds the new images as the indexed points were, finds each one's nearest indexed
/// points and writes the CSV; returns the rows written.
pub fn predict(args: &PredictArgs) -> Result<usize, PredictError> {
    let run = &args.run;
    let source = load_source(run)?;
    let indexed = load_indexed(run, &source)?;
    let k = match args.k {
        Some(k) => k as usize,
        None => table_k(run)?,
    };
    let search = Search::open(run, &indexed)?;
    let images = NewImages::open(&args.images)?;
    let device = Device::Cpu;
    let embed = Embedder::load(&source, run, &device)?;
    let (height, width) = source.encoder.input_size;
    let recorded = source.encoder.cropped_from.map(|(h, w)| (w, h));
    let sizes = InputSizes::new(args.source_size.or(recorded), (width, height))?;
    let pool = pool()?;
    let mut writer = PredictionWriter::create(&args.out)?;
    let order: Vec<usize> = (0..images.len()).collect();
    for chunk in order.chunks(args.batch as usize) {
        let views = source.encoder.eval_views;
        let x = images.model_input(chunk, sizes, views, &pool, &device)?;
        let names: Vec<String> = chunk.iter().map(|&i| images.name(i)).collect();
        let queries = embed.unit_rows(&x, views.map_or(1, |v| v.views), &names)?;
        let table = search
            .query(&indexed.rows, &queries, k, &pool)
            .map_err(knn(run))?;
        writer.write_lines(
            &header(k),
            &lines(&names, &table, &indexed.ids),
            names.len(),
        )?;
    }
    writer.finish()
}

/// The node's `source.json`, or why new images cannot be embedded like its points.
fn load_source(run: &Path) -> Result<IndexedFeatures, PredictError> {
    let source: Option<IndexedFeatures> =
        provenance::load(run, SOURCE_FILE).map_err(|message| PredictError::BadModelFile {
            path: run.join(SOURCE_FILE),
            message,
        })?;
    source.ok_or_else(|| PredictError::NoFeatureSource {
        run: run.to_path_buf(),
    })
}

/// The vectors the node indexed, re-read from the `Encode` node's files and ordered by
/// dataset index as `Knn` ordered them.
fn load_indexed(run: &Path, source: &IndexedFeatures) -> Result<Indexed, PredictError> {
    let matrix = read_npy_matrix(&source.features)?;
    let indices = read_npy_ids(&source.indices)?;
    let batch = FeatureBatch {
        dim: matrix.cols,
        data: matrix.data,
        indices: indices.into_iter().map(u64::from).collect(),
        labels: None,
        names: None,
    };
    let gathered = gather(&[std::sync::Arc::new(batch)]).map_err(knn(run))?;
    let rows = UnitRows::normalise(gathered.data, gathered.dim).map_err(knn(run))?;
    Ok(Indexed {
        rows,
        ids: gathered.ids,
    })
}

/// The node's `k`, from its `quality.json`.
fn table_k(run: &Path) -> Result<usize, PredictError> {
    let path = run.join("quality.json");
    let bad = |message: String| PredictError::BadModelFile {
        path: path.clone(),
        message,
    };
    let bytes = std::fs::read(&path).map_err(|e| bad(e.to_string()))?;
    let report: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
    let k = report["k"].as_u64().ok_or_else(|| bad("no `k`".into()))?;
    Ok(k as usize)
}

/// The node's search: its saved HNSW index, or exact search when it searched exactly.
enum Search {
    Exact,
    Hnsw(HnswIndex),
}

impl Search {
    fn open(run: &Path, indexed: &Indexed) -> Result<Self, PredictError> {
        if !HnswIndex::saved_in(run) {
            return Ok(Search::Exact);
        }
        HnswIndex::load(run, &indexed.rows)
            .map(Search::Hnsw)
            .map_err(knn(run))
    }

    fn query(
        &self,
        rows: &UnitRows,
        queries: &UnitRows,
        k: usize,
        pool: &rayon::ThreadPool,
    ) -> Result<NeighbourTable, KnnError> {
        match self {
            Search::Exact => exact::search_external(rows, queries, k, pool),
            Search::Hnsw(index) => index.query_external(rows, queries, k, pool),
        }
    }
}

/// The model and output of the `Encode` node, as a function from images to unit rows.
enum Embedder {
    Contrastive(ContrastiveModel, EncodeOutput),
    Cluster(ClusterModel),
}

impl Embedder {
    fn load(source: &IndexedFeatures, run: &Path, device: &Device) -> Result<Self, PredictError> {
        let artifact = &source.encoder.model;
        let failed = |e: scanflow::model::ModelError| PredictError::Model {
            run: run.to_path_buf(),
            producer: artifact.producer.clone(),
            message: e.to_string(),
        };
        Ok(match source.encoder.output {
            EncodeOutput::Clusters => {
                Embedder::Cluster(ClusterModel::from_artifact(artifact, device).map_err(failed)?)
            }
            output => Embedder::Contrastive(
                ContrastiveModel::from_artifact(artifact, device).map_err(failed)?,
                output,
            ),
        })
    }

    /// The images' vectors, L2-normalised (the mean of their `views` views, `x` holding
    /// them view-major); a degenerate one is named by its file.
    fn unit_rows(
        &self,
        x: &Tensor,
        views: usize,
        names: &[String],
    ) -> Result<UnitRows, PredictError> {
        let z = match self {
            Embedder::Contrastive(m, EncodeOutput::Features) => m.features(x),
            Embedder::Contrastive(m, _) => m.forward(x, false),
            Embedder::Cluster(m) => m.probabilities(x),
        };
        let z = z.map_err(|e| PredictError::Tensor(candle_core::Error::Msg(e.to_string())))?;
        let dim = z.dim(1)?;
        let values = mean_of_views(z.flatten_all()?.to_vec1()?, dim, views);
        UnitRows::normalise(values, dim).map_err(|e| match e {
            KnnError::NonFinite { row, .. } | KnnError::ZeroNorm { row } => {
                PredictError::Degenerate {
                    image: names[row].clone(),
                    message: e.to_string(),
                }
            }
            other => PredictError::Tensor(candle_core::Error::Msg(other.to_string())),
        })
    }
}

/// `file,neighbour_1,similarity_1,…,neighbour_k,similarity_k` and a newline.
fn header(k: usize) -> String {
    let mut out = String::from("file");
    for j in 1..=k {
        let _ = write!(out, ",neighbour_{j},similarity_{j}");
    }
    out.push('\n');
    out
}

/// One line per image: its name, then each neighbour's dataset index and similarity.
fn lines(names: &[String], table: &NeighbourTable, ids: &[u64]) -> String {
    let mut out = String::new();
    for (r, name) in names.iter().enumerate() {
        out.push_str(&csv_field(name));
        let sims = &table.similarities[r * table.k..(r + 1) * table.k];
        for (&row, sim) in table.neighbours(r).iter().zip(sims) {
            let _ = write!(out, ",{},{sim:.6}", ids[row as usize]);
        }
        out.push('\n');
    }
    out
}

fn knn(run: &Path) -> impl Fn(KnnError) -> PredictError + '_ {
    move |e| PredictError::Neighbours {
        run: PathBuf::from(run),
        message: e.to_string(),
    }
}

fn pool() -> Result<rayon::ThreadPool, PredictError> {
    rayon::ThreadPoolBuilder::new()
        .build()
        .map_err(|e| PredictError::Tensor(candle_core::Error::Msg(e.to_string())))
}
