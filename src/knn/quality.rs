//! How good a neighbour table is. Recall@k of an approximate table: the mean, over query
//! points, of |approx(i) ∩ exact(i)| / k, on a seeded sample of at most `max_queries`
//! points when N is large. Label agreement: the mean, over points, of the fraction of their
//! k neighbours that share their label (SCAN reports it as the neighbours' accuracy).

use rayon::ThreadPool;

use super::{exact, KnnError, UnitRows};
use crate::data::NeighbourTable;
use crate::rng::SplitMix64;

/// Default cap on the recall sample.
pub const RECALL_QUERIES: usize = 2000;

/// Every index below `n` when `n ≤ max`, else `max` distinct indices drawn from `seed`,
/// sorted.
pub fn sample_queries(n: usize, max: usize, seed: u64) -> Vec<usize> {
    let mut all: Vec<usize> = (0..n).collect();
    if n > max {
        SplitMix64::new(seed).shuffle(&mut all);
        all.truncate(max);
        all.sort_unstable();
    }
    all
}

/// Mean recall of `approx` on `queries`, against `exact` whose row `r` holds the true
/// neighbours of `queries[r]`. Both tables must have the same k.
pub fn recall(approx: &NeighbourTable, queries: &[usize], exact: &NeighbourTable) -> f64 {
    if queries.is_empty() || approx.k == 0 {
        return 0.0;
    }
    let hits: usize = queries
        .iter()
        .enumerate()
        .map(|(r, &q)| {
            let truth = exact.neighbours(r);
            approx
                .neighbours(q)
                .iter()
                .filter(|j| truth.contains(j))
                .count()
        })
        .sum();
    hits as f64 / (queries.len() * approx.k) as f64
}

/// Recall@k of `approx` against exact search on a sample of at most `max_queries` points.
pub fn recall_at_k(
    rows: &UnitRows,
    approx: &NeighbourTable,
    max_queries: usize,
    seed: u64,
    pool: &ThreadPool,
) -> Result<f64, KnnError> {
    let queries = sample_queries(rows.len(), max_queries, seed);
    let truth = exact::search_subset(rows, &queries, approx.k, pool)?;
    Ok(recall(approx, &queries, &truth))
}

/// Mean fraction of each point's neighbours that share its label (0 for an empty table).
pub fn label_agreement(table: &NeighbourTable, labels: &[u32]) -> f64 {
    let points = table.points().min(labels.len());
    if points == 0 {
        return 0.0;
    }
    let agree: usize = (0..points)
        .map(|i| {
            let own = labels[i];
            let same = |&&j: &&u32| labels.get(j as usize) == Some(&own);
            table.neighbours(i).iter().filter(same).count()
        })
        .sum();
    agree as f64 / (points * table.k) as f64
}
