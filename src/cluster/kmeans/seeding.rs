//! k-means++ seeding: the first centre a uniformly drawn row, each next one a row drawn
//! with probability proportional to its squared distance `D²` to the nearest centre so far
//! (uniformly when every `D²` is 0, i.e. all rows coincide with chosen centres). The plain
//! variant (one candidate per centre), not sklearn's greedy one (2 + ln k candidates).

use rayon::prelude::*;
use rayon::ThreadPool;

use super::BLOCK;
use crate::rng::SplitMix64;

/// k×dim starting centroids drawn from the rows of `data` with `seed`.
pub(super) fn kmeans_plus_plus(
    data: &[f32],
    dim: usize,
    k: usize,
    seed: u64,
    pool: &ThreadPool,
) -> Vec<f32> {
    let points = data.len() / dim;
    let mut rng = SplitMix64::new(seed);
    let mut chosen = rng.below(points);
    let mut centroids = Vec::with_capacity(k * dim);
    let mut nearest = vec![f32::INFINITY; points];
    for _ in 0..k {
        let centre = &data[chosen * dim..(chosen + 1) * dim];
        centroids.extend_from_slice(centre);
        lower_to(&mut nearest, data, dim, centre, pool);
        chosen = draw(&nearest, &mut rng);
    }
    centroids
}

/// `nearest[i] = min(nearest[i], ‖x_i − centre‖²)`.
fn lower_to(nearest: &mut [f32], data: &[f32], dim: usize, centre: &[f32], pool: &ThreadPool) {
    pool.install(|| {
        nearest
            .par_chunks_mut(BLOCK)
            .zip(data.par_chunks(BLOCK * dim))
            .for_each(|(out, rows)| {
                for (d, row) in out.iter_mut().zip(rows.chunks_exact(dim)) {
                    let dist: f32 = row.iter().zip(centre).map(|(a, b)| (a - b) * (a - b)).sum();
                    *d = d.min(dist);
                }
            })
    });
}

/// A row drawn with probability ∝ `weights` (uniformly when they are all 0).
fn draw(weights: &[f32], rng: &mut SplitMix64) -> usize {
    let total: f64 = weights.iter().map(|&w| f64::from(w)).sum();
    if total <= 0.0 {
        return rng.below(weights.len());
    }
    let target = f64::from(rng.uniform_f32(0.0, 1.0)) * total;
    let mut running = 0.0;
    for (i, &w) in weights.iter().enumerate() {
        running += f64::from(w);
        if running > target && w > 0.0 {
            return i;
        }
    }
    weights.iter().rposition(|&w| w > 0.0).unwrap_or(0)
}
