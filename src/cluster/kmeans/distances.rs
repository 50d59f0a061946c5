//! Squared distances of rows to centroids by blocks of [`BLOCK`] rows, each block one GEMM
//! (`‖x‖² + ‖c‖² − 2⟨x, c⟩`, clamped at 0); the assignment step with its partial centroid
//! sums; and the soft assignment `p_ic = softmax_c(−d²_ic / T)`.

use rayon::prelude::*;
use rayon::ThreadPool;

use super::BLOCK;
use crate::knn::tile::inner_products;

/// One assignment pass over every row.
pub(super) struct Pass {
    /// Each row's nearest centroid (lowest index on ties).
    pub labels: Vec<u32>,
    /// Each row's squared distance to it.
    pub nearest: Vec<f32>,
    /// `Σ nearest`.
    pub inertia: f64,
    /// k×dim sums of each cluster's rows.
    sums: Vec<f64>,
    /// Rows per cluster.
    counts: Vec<u64>,
}

/// N×k squared distances of the rows of `data` to the k×dim `centroids`.
pub fn squared_distances(
    data: &[f32],
    dim: usize,
    centroids: &[f32],
    pool: &ThreadPool,
) -> Vec<f32> {
    let norms = row_norms(centroids, dim);
    let blocks: Vec<Vec<f32>> = pool.install(|| {
        data.par_chunks(BLOCK * dim)
            .map(|block| block_distances(block, dim, centroids, &norms))
            .collect()
    });
    blocks.concat()
}

/// The squared distances of one block of rows (rows × k).
fn block_distances(block: &[f32], dim: usize, centroids: &[f32], norms: &[f32]) -> Vec<f32> {
    let k = norms.len();
    let mut tile = vec![0f32; block.len() / dim * k];
    inner_products(block, centroids, dim, &mut tile);
    for (row, out) in block.chunks_exact(dim).zip(tile.chunks_exact_mut(k)) {
        let x: f32 = row.iter().map(|v| v * v).sum();
        for (d, &c) in out.iter_mut().zip(norms) {
            *d = (x + c - 2.0 * *d).max(0.0);
        }
    }
    tile
}

/// `‖row‖²` of each row.
fn row_norms(rows: &[f32], dim: usize) -> Vec<f32> {
    rows.chunks_exact(dim)
        .map(|r| r.iter().map(|v| v * v).sum())
        .collect()
}

/// Assigns every row to its nearest centroid and sums each cluster's rows (in `f32` within
/// a block of at most [`BLOCK`] rows, in `f64` across blocks); blocks are reduced in
/// order, so the result does not depend on the thread count.
pub(super) fn assign_and_sum(
    data: &[f32],
    dim: usize,
    centroids: &[f32],
    pool: &ThreadPool,
) -> Pass {
    let norms = row_norms(centroids, dim);
    let k = norms.len();
    let parts: Vec<Pass> = pool.install(|| {
        data.par_chunks(BLOCK * dim)
            .map(|block| block_pass(block, dim, centroids, &norms))
            .collect()
    });
    let mut total = Pass {
        labels: Vec::with_capacity(data.len() / dim),
        nearest: Vec::with_capacity(data.len() / dim),
        inertia: 0.0,
        sums: vec![0.0; k * dim],
        counts: vec![0; k],
    };
    for part in parts {
        total.labels.extend(part.labels);
        total.nearest.extend(part.nearest);
        total.inertia += part.inertia;
        total
            .sums
            .iter_mut()
            .zip(&part.sums)
            .for_each(|(a, b)| *a += b);
        total
            .counts
            .iter_mut()
            .zip(&part.counts)
            .for_each(|(a, b)| *a += b);
    }
    total
}

/// The assignment pass of one block.
fn block_pass(block: &[f32], dim: usize, centroids: &[f32], norms: &[f32]) -> Pass {
    let k = norms.len();
    let distances = block_distances(block, dim, centroids, norms);
    let mut pass = Pass {
        labels: Vec::with_capacity(block.len() / dim),
        nearest: Vec::with_capacity(block.len() / dim),
        inertia: 0.0,
        sums: vec![0.0; k * dim],
        counts: vec![0; k],
    };
    let mut sums = vec![0f32; k * dim];
    for (row, d) in block.chunks_exact(dim).zip(distances.chunks_exact(k)) {
        let (c, &best) = d
            .iter()
            .enumerate()
            .fold((0, &d[0]), |b, (c, v)| if *v < *b.1 { (c, v) } else { b });
        pass.labels.push(c as u32);
        pass.nearest.push(best);
        pass.inertia += f64::from(best);
        pass.counts[c] += 1;
        let sum = &mut sums[c * dim..(c + 1) * dim];
        sum.iter_mut().zip(row).for_each(|(s, &v)| *s += v);
    }
    pass.sums = sums.into_iter().map(f64::from).collect();
    pass
}

impl Pass {
    /// The clusters' means, empty clusters re-seeded with the farthest rows from their own
    /// centroids (farthest first); also returns how many were empty.
    pub fn centroids(&self, data: &[f32], dim: usize, k: usize) -> (Vec<f32>, usize) {
        let mut next = vec![0f32; k * dim];
        let empty: Vec<usize> = (0..k).filter(|&c| self.counts[c] == 0).collect();
        for c in (0..k).filter(|&c| self.counts[c] > 0) {
            let n = self.counts[c] as f64;
            let sum = &self.sums[c * dim..(c + 1) * dim];
            next[c * dim..(c + 1) * dim]
                .iter_mut()
                .zip(sum)
                .for_each(|(out, s)| *out = (s / n) as f32);
        }
        if empty.is_empty() {
            return (next, 0);
        }
        let mut far: Vec<usize> = (0..self.nearest.len()).collect();
        far.sort_by(|&a, &b| self.nearest[b].total_cmp(&self.nearest[a]).then(a.cmp(&b)));
        for (&c, &row) in empty.iter().zip(&far) {
            next[c * dim..(c + 1) * dim].copy_from_slice(&data[row * dim..(row + 1) * dim]);
        }
        (next, empty.len())
    }
}

/// Each row's soft assignment `p_ic = exp(−(d_ic − min_c d_ic)/T) / Σ_c …` from its N×k
/// squared distances: the nearest centroid gets the largest share, and a point far from
/// every centroid relative to `T` (the fit's mean within-cluster squared distance) is
/// confidently assigned only if the others are farther still by several `T`.
pub fn soft_assign(distances: &[f32], k: usize, temperature: f32) -> Vec<f32> {
    let mut probs = distances.to_vec();
    for row in probs.chunks_exact_mut(k) {
        let least = row.iter().copied().fold(f32::INFINITY, f32::min);
        row.iter_mut()
            .for_each(|d| *d = (-(*d - least) / temperature).exp());
        let total: f32 = row.iter().sum();
        row.iter_mut().for_each(|p| *p /= total);
    }
    probs
}
