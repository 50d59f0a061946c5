//! Approximate neighbours with an HNSW graph (Malkov & Yashunin 2018), built in the
//! crate with hnswlib's layout and algorithms ([`graph`], [`search`]): distance 1 − ⟨a, b⟩
//! on unit vectors, the vectors read in place from [`UnitRows`]. Points are inserted in
//! parallel on the caller's pool in batches planned against a frozen graph ([`insert`]),
//! so the same points give the same graph and table on any number of threads; levels are
//! seeded. After the build, every node that no layer-0 walk from the entry
//! point reaches is linked from its nearest reached node ([`repair`]), so no point is
//! unfindable; `quality.json` counts them (`unreached_nodes_linked`).
//!
//! Mining every point's neighbours needs no pass of queries after the build:
//! [`HnswIndex::build_with_neighbours`] keeps what the insertion searches measure
//! ([`harvest`]), then runs one round of neighbours' neighbours. On 250,000 clustered
//! 128-D points that took 31.3 s (recall@20 0.965) where build then query took 26.4 + 21.2 s
//! (recall 0.955), and 4.9 s against 3.4 + 2.8 s (0.999 against 0.997) at 60,000 (medians
//! of three, 2 threads, `benches/knn_hnsw.rs` with and without `KNN_QUERY=1`). A saved
//! graph is queried instead ([`HnswIndex::query_all`]): every point for k+1 neighbours,
//! itself dropped. Either way the similarities are recomputed as exact dot products and
//! rows sorted (similarity descending, lower index first), and a point left with too few
//! neighbours is answered exactly. The graph can be saved (`hnsw.graph`, see [`file`])
//! with a JSON sidecar naming the features it was built from, and is refused for other
//! features; [`HnswIndex::reusable`] returns a saved graph built from the same features
//! and construction parameters, so a caller can skip the build.
//!
//! Why not `hnsw_rs`: profiled on 20,000 × 128 clustered points (m 16, ef 200), 59 % of
//! its time went to `search_layer` itself, almost all of it two dependent cache misses
//! per neighbour (`Arc<PointWithOrder>` → `Arc<Point>` → id) before the visited-set
//! lookup, and 28 % to distances; nothing in its API avoids them. This graph took 4.6×
//! less CPU on the same points (build 5.4 against 24.8 CPU-s, query 3.2 against 14.9,
//! recall@20 0.9995).
//!
//! Side by side with hnswlib 0.8 (`benches/knn_hnswlib.py`, same `.npy`, same parameters,
//! 2 threads, CPU seconds build + query, load average 6–12 on 2 cores):
//!
//! | points | m, ef_c, ef_s | scanflow | hnswlib | recall@20 (ours / hnswlib) |
//! |---|---|---|---|---|
//! | 60,000 clustered | 16, 200, 128 | 23.8 | 31.8 | 0.9997 / 0.9999 |
//! | 60,000 clustered | 16, 100, 64 | 15.3 | 18.2 | 0.9972 / 0.9972 |
//! | 60,000 clustered | 12, 64, 48 | 11.0 | 14.4 | 0.9747 / 0.9746 |
//! | 50,000 CIFAR-10 features | 16, 100, 64 | 16.3 | 14.9 | 0.9997 / 0.9998 |
//! | 50,000 CIFAR-10 features | 12, 64, 48 | 10.1 | 11.0 | 0.9988 / 0.9986 |

mod distance;
mod file;
mod graph;
mod harvest;
mod insert;
mod query;
mod repair;
mod search;

use std::path::Path;

use rayon::ThreadPool;
use serde::{Deserialize, Serialize};

use super::{KnnError, UnitRows};
use crate::data::NeighbourTable;
use distance::Dot;
use graph::Graph;
use harvest::Harvest;
use query::{harvested, query_all, query_external};
use search::View;

/// The dumped graph file.
const GRAPH_FILE: &str = "hnsw.graph";
/// The sidecar describing what a dumped index was built from.
const SIDECAR: &str = "hnsw.json";

/// HNSW construction and search widths. The defaults (m 16, ef 100/64) are the cheapest
/// setting swept (`benches/knn_hnsw.rs`, 2 threads) that kept recall@20 ≥ 0.95 on clustered
/// synthetic 128-D data at both 60,000 (0.997) and 250,000 points (0.952–0.954), and they
/// gave 0.9997 on real CIFAR-10 features; m 16, ef 200/128 cost 1.6× the CPU at 60,000.
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
            ef_construction: 100,
            ef_search: 64,
        }
    }
}

impl HnswParams {
    /// The candidate list width insertions (and the repair's searches) use: at least m.
    fn construction_width(&self) -> usize {
        self.ef_construction.max(self.m)
    }
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
    graph: Graph,
    params: HnswParams,
    dot: Dot,
    /// Nodes the reachability repair linked (see [`repair`]).
    repaired: usize,
}

impl HnswIndex {
    /// Builds the graph over every row, inserting in parallel on `pool`.
    pub fn build(rows: &UnitRows, params: HnswParams, pool: &ThreadPool) -> Self {
        Self::insert_all(rows, params, None, pool)
    }

    /// Builds the graph as [`HnswIndex::build`] does and returns with it every point's `k`
    /// nearest other points as its insertion searches found them (see [`harvest`]): the
    /// same table [`HnswIndex::query_all`] gives, without a second pass of searches.
    pub fn build_with_neighbours(
        rows: &UnitRows,
        params: HnswParams,
        k: usize,
        pool: &ThreadPool,
    ) -> Result<(Self, NeighbourTable), KnnError> {
        rows.check_k(k)?;
        let harvest = Harvest::new(rows.len(), k);
        let index = Self::insert_all(rows, params, Some(&harvest), pool);
        harvest.refine(&index.view(rows), pool);
        let table = harvested(&index.view(rows), &harvest, k, pool)?;
        Ok((index, table))
    }

    /// Inserts every row in parallel on `pool`, recording into `harvest` if given.
    fn insert_all(
        rows: &UnitRows,
        params: HnswParams,
        harvest: Option<&Harvest>,
        pool: &ThreadPool,
    ) -> Self {
        let graph = Graph::new(rows.len(), params.m.clamp(2, 255));
        let dot = distance::pick();
        let view = View {
            graph: &graph,
            rows,
            dot,
        };
        let ef = params.construction_width();
        pool.install(|| insert::insert_all(&view, ef, harvest));
        let repaired = repair::link_unreached(&view, ef);
        HnswIndex {
            graph,
            params,
            dot,
            repaired,
        }
    }

    /// How many nodes no layer-0 walk from the entry point reached after the build (or in
    /// the loaded graph) and were linked by the repair (see [`repair`]).
    pub fn repaired(&self) -> usize {
        self.repaired
    }

    /// Every point's `k` nearest other points (see the module notes).
    pub fn query_all(
        &self,
        rows: &UnitRows,
        k: usize,
        pool: &ThreadPool,
    ) -> Result<NeighbourTable, KnnError> {
        query_all(&self.view(rows), k, self.params.ef_search, pool)
    }

    /// The `k` nearest indexed points to each row of `queries`, vectors from outside the
    /// index such as new images (`rows` are the points it was built from); nothing is
    /// excluded, so a copy of point `i` finds `i` first. Row `r` belongs to query `r`.
    pub fn query_external(
        &self,
        rows: &UnitRows,
        queries: &UnitRows,
        k: usize,
        pool: &ThreadPool,
    ) -> Result<NeighbourTable, KnnError> {
        query_external(&self.view(rows), queries, k, self.params.ef_search, pool)
    }

    /// The graph over `rows`, the points it was built from, ready to search.
    fn view<'a>(&'a self, rows: &'a UnitRows) -> View<'a> {
        View {
            graph: &self.graph,
            rows,
            dot: self.dot,
        }
    }

    /// Saves the graph into `dir` with a sidecar naming `rows`.
    pub fn save(&self, dir: &Path, rows: &UnitRows) -> Result<(), KnnError> {
        let path = dir.join(GRAPH_FILE);
        file::write(&path, &self.graph).map_err(|e| KnnError::Index {
            path,
            message: e.to_string(),
        })?;
        let sidecar = Sidecar {
            points: rows.len(),
            dim: rows.dim(),
            fingerprint: rows.fingerprint(),
            params: self.params,
        };
        let path = dir.join(SIDECAR);
        let fail = |message: String| KnnError::Index {
            path: path.clone(),
            message,
        };
        let json = serde_json::to_vec_pretty(&sidecar).map_err(|e| fail(e.to_string()))?;
        crate::fsutil::write_atomic(&path, &json).map_err(|e| fail(e.to_string()))
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
    let mut index = HnswIndex::load(dir, rows)?;
    index.params.ef_search = ef_search;
    index.query_all(rows, k, pool)
}

impl HnswIndex {
    /// True when `dir` holds a saved index (its sidecar).
    pub fn saved_in(dir: &Path) -> bool {
        dir.join(SIDECAR).is_file()
    }

    /// Reloads the index saved in `dir`, refused unless it was built from exactly `rows`
    /// (its sidecar and graph file are checked against each other and against `rows`).
    pub fn load(dir: &Path, rows: &UnitRows) -> Result<Self, KnnError> {
        let sidecar = verify_saved(dir, rows)?;
        HnswIndex::load_graph(dir, rows, sidecar)
    }

    /// Reads the graph file of the index whose checked sidecar is `sidecar`.
    fn load_graph(dir: &Path, rows: &UnitRows, sidecar: Sidecar) -> Result<Self, KnnError> {
        let path = dir.join(GRAPH_FILE);
        let graph = file::read(&path).map_err(|message| KnnError::Index {
            path: path.clone(),
            message,
        })?;
        if graph.len() != rows.len() || graph.m != sidecar.params.m.clamp(2, 255) {
            return Err(KnnError::ForeignIndex {
                path,
                message: format!(
                    "it links {} points with m {} but its sidecar says {} points with m {}",
                    graph.len(),
                    graph.m,
                    sidecar.points,
                    sidecar.params.m
                ),
            });
        }
        let mut index = HnswIndex {
            graph,
            params: sidecar.params,
            dot: distance::pick(),
            repaired: 0,
        };
        let ef = index.params.construction_width();
        index.repaired = repair::link_unreached(&index.view(rows), ef);
        Ok(index)
    }

    /// The index saved in `dir` when it was built from exactly `rows` with the construction
    /// parameters of `params` (`ef_search` is taken from `params`); otherwise why not, for
    /// the caller to report before it builds afresh. Nothing is written either way.
    pub fn reusable(dir: &Path, rows: &UnitRows, params: HnswParams) -> Result<Self, String> {
        if !dir.join(SIDECAR).is_file() {
            return Err("no saved index".into());
        }
        let sidecar = verify_saved(dir, rows).map_err(|e| e.to_string())?;
        let saved = sidecar.params;
        if (saved.m, saved.ef_construction) != (params.m, params.ef_construction) {
            return Err(format!(
                "the saved index was built with m {}, ef_construction {}",
                saved.m, saved.ef_construction
            ));
        }
        let mut index = HnswIndex::load_graph(dir, rows, sidecar).map_err(|e| e.to_string())?;
        index.params = params;
        Ok(index)
    }
}

#[cfg(test)]
mod tests;
