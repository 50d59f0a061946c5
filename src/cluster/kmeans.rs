//! k-means on an N×D matrix: k-means++ seeding (Arthur & Vassilvitskii 2007: each new
//! centre drawn with probability ∝ D², the squared distance to the nearest centre so far),
//! then Lloyd iterations; the best of `restarts` runs by inertia `Σ_i min_c ‖x_i − c‖²`
//! (sklearn's `n_init`). Squared distances come from one GEMM per block of rows:
//! `‖x − c‖² = ‖x‖² + ‖c‖² − 2⟨x, c⟩` (clamped at 0).
//!
//! Convergence (sklearn's rule): stop when `Σ_c ‖c_new − c_old‖² ≤ tol · mean_d Var(x_d)`.
//! A cluster left empty by an update is re-seeded with the point farthest from its own
//! centroid (the next farthest for a second empty cluster, and so on), as sklearn does.
//! Blocks of rows are fixed ([`BLOCK`]) and reduced in block order, so a fit depends on
//! the seed alone, never on the thread count.

mod distances;
mod seeding;

use rayon::ThreadPool;
use serde::Serialize;

use distances::{assign_and_sum, Pass};
pub use distances::{soft_assign, squared_distances};

/// Rows per block of the distance GEMM and of the partial centroid sums.
pub const BLOCK: usize = 2048;

/// The settings of one fit.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KMeansConfig {
    /// Clusters `k` (2 ≤ k ≤ N).
    pub clusters: usize,
    /// Independent seedings; the lowest inertia wins.
    pub restarts: usize,
    /// Lloyd iterations per restart at most.
    pub max_iter: usize,
    /// Relative tolerance on the centroid shift (see the module docs).
    pub tol: f64,
    /// Seed of the first restart's seeding; later restarts draw theirs from it.
    pub seed: u64,
}

/// Why k-means could not run.
#[derive(Debug, thiserror::Error)]
pub enum KMeansError {
    /// Fewer points than clusters, or fewer than two clusters.
    #[error("k-means with {clusters} clusters needs 2 ≤ clusters ≤ points, but there are {points} points")]
    BadClusterCount {
        /// Clusters asked for.
        clusters: usize,
        /// Points available.
        points: usize,
    },
    /// The matrix is not N×`dim` with `dim` ≥ 1.
    #[error("feature matrix of {values} values is not a whole number of rows of {dim}")]
    Shape {
        /// Values given.
        values: usize,
        /// Row length.
        dim: usize,
    },
    /// A row holds NaN or ±Inf.
    #[error("feature row {row} holds a non-finite value")]
    NonFinite {
        /// The row.
        row: usize,
    },
}

/// How one restart went.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Restart {
    /// Final inertia.
    pub inertia: f64,
    /// Lloyd iterations run.
    pub iterations: usize,
    /// Whether the shift fell below the tolerance (rather than hitting `max_iter`).
    pub converged: bool,
    /// Empty clusters re-seeded with far points, over all iterations.
    pub reseeded: usize,
}

/// A fitted clustering: the best restart's centroids and each row's cluster.
#[derive(Clone, Debug, PartialEq)]
pub struct Fit {
    /// Values per row.
    pub dim: usize,
    /// k×dim centroids, row-major.
    pub centroids: Vec<f32>,
    /// Each row's nearest centroid.
    pub labels: Vec<u32>,
    /// The best restart's inertia.
    pub inertia: f64,
    /// Every restart, in order.
    pub restarts: Vec<Restart>,
    /// Index of the restart kept.
    pub chosen: usize,
}

impl Fit {
    /// Mean squared distance of a point to its centroid (`inertia / N`): the temperature
    /// of [`soft_assign`], floored at 1e-12 so a perfect fit stays finite.
    pub fn temperature(&self) -> f32 {
        let mean = self.inertia / self.labels.len().max(1) as f64;
        (mean as f32).max(1e-12)
    }
}

/// Fits `config.clusters` centroids to the N×`dim` row-major `data`.
pub fn fit(
    data: &[f32],
    dim: usize,
    config: &KMeansConfig,
    pool: &ThreadPool,
) -> Result<Fit, KMeansError> {
    let points = check(data, dim, config.clusters)?;
    let tol = config.tol * mean_variance(data, dim, points);
    let mut seeds = crate::rng::SplitMix64::new(config.seed);
    let mut best: Option<(usize, Vec<f32>, Pass)> = None;
    let mut restarts = Vec::with_capacity(config.restarts);
    for index in 0..config.restarts.max(1) {
        let seed = seeds.next_u64();
        let (centroids, pass, restart) = lloyd(data, dim, config, seed, tol, pool);
        if best
            .as_ref()
            .is_none_or(|(_, _, b)| pass.inertia < b.inertia)
        {
            best = Some((index, centroids, pass));
        }
        restarts.push(restart);
    }
    let (chosen, centroids, pass) = best.ok_or(KMeansError::BadClusterCount {
        clusters: config.clusters,
        points,
    })?;
    Ok(Fit {
        dim,
        centroids,
        labels: pass.labels,
        inertia: pass.inertia,
        restarts,
        chosen,
    })
}

/// The number of points, after checking the shape, the values and the cluster count.
fn check(data: &[f32], dim: usize, clusters: usize) -> Result<usize, KMeansError> {
    if dim == 0 || !data.len().is_multiple_of(dim) {
        return Err(KMeansError::Shape {
            values: data.len(),
            dim,
        });
    }
    let points = data.len() / dim;
    if clusters < 2 || clusters > points {
        return Err(KMeansError::BadClusterCount { clusters, points });
    }
    match data
        .chunks_exact(dim)
        .position(|r| r.iter().any(|v| !v.is_finite()))
    {
        Some(row) => Err(KMeansError::NonFinite { row }),
        None => Ok(points),
    }
}

/// `mean_d Var(x_d)` (population variance per column, averaged over columns).
fn mean_variance(data: &[f32], dim: usize, points: usize) -> f64 {
    let mut sum = vec![0f64; dim];
    let mut squares = vec![0f64; dim];
    for row in data.chunks_exact(dim) {
        for (d, &v) in row.iter().enumerate() {
            sum[d] += f64::from(v);
            squares[d] += f64::from(v) * f64::from(v);
        }
    }
    let n = points as f64;
    let total: f64 = (0..dim)
        .map(|d| squares[d] / n - (sum[d] / n).powi(2))
        .sum();
    total.max(0.0) / dim as f64
}

/// One restart: seeding, Lloyd iterations, and a final assignment to the final centroids.
fn lloyd(
    data: &[f32],
    dim: usize,
    config: &KMeansConfig,
    seed: u64,
    tol: f64,
    pool: &ThreadPool,
) -> (Vec<f32>, Pass, Restart) {
    let mut centroids = seeding::kmeans_plus_plus(data, dim, config.clusters, seed, pool);
    let (mut iterations, mut converged, mut reseeded) = (0, false, 0);
    while iterations < config.max_iter && !converged {
        let pass = assign_and_sum(data, dim, &centroids, pool);
        let (next, empty) = pass.centroids(data, dim, config.clusters);
        reseeded += empty;
        let shift: f64 = next
            .iter()
            .zip(&centroids)
            .map(|(a, b)| f64::from(a - b).powi(2))
            .sum();
        centroids = next;
        iterations += 1;
        converged = shift <= tol;
    }
    let pass = assign_and_sum(data, dim, &centroids, pool);
    let restart = Restart {
        inertia: pass.inertia,
        iterations,
        converged,
        reseeded,
    };
    (centroids, pass, restart)
}

#[cfg(test)]
mod tests;
