//! Exact top-k by inner product of unit vectors: S = Q·Bᵀ computed block by block
//! (256 queries × 2048 base rows, f32 GEMM from the `gemm` crate), each block of S scanned at
//! once into per-query [`TopK`] buffers, so the N×N matrix never exists (peak extra memory
//! per worker: one 256×2048 block, 2 MiB). Query blocks run in parallel on the caller's
//! pool; the block layout never depends on the worker count, so results do not either.
//! A point is excluded from its own neighbours by index (a duplicate is still a neighbour).

use rayon::prelude::*;
use rayon::ThreadPool;

use super::topk::TopK;
use super::{KnnError, UnitRows};
use crate::data::NeighbourTable;

/// Queries per block (rows of S).
const QUERY_BLOCK: usize = 256;
/// Base rows per block (columns of S).
const BASE_BLOCK: usize = 2048;

/// Every point's `k` nearest other points, most similar first (ties: lower index first).
pub fn search(rows: &UnitRows, k: usize, pool: &ThreadPool) -> Result<NeighbourTable, KnnError> {
    let all: Vec<usize> = (0..rows.len()).collect();
    search_subset(rows, &all, k, pool)
}

/// The `k` nearest other points of each point in `queries`; row `i` of the table belongs
/// to point `queries[i]` (its labels are `None`).
pub fn search_subset(
    rows: &UnitRows,
    queries: &[usize],
    k: usize,
    pool: &ThreadPool,
) -> Result<NeighbourTable, KnnError> {
    rows.check_k(k)?;
    if let Some(&bad) = queries.iter().find(|&&q| q >= rows.len()) {
        return Err(KnnError::Indices {
            points: rows.len(),
            index: bad as u64,
            problem: "out of range",
        });
    }
    let mut indices = vec![0u32; queries.len() * k];
    let mut similarities = vec![0f32; queries.len() * k];
    pool.install(|| {
        indices
            .par_chunks_mut(QUERY_BLOCK * k)
            .zip(similarities.par_chunks_mut(QUERY_BLOCK * k))
            .zip(queries.par_chunks(QUERY_BLOCK))
            .for_each(|((ids, sims), block)| search_block(rows, block, k, ids, sims));
    });
    Ok(NeighbourTable {
        k,
        indices,
        similarities,
        labels: None,
    })
}

/// Searches one block of queries against every base block, writing `k` results per query.
fn search_block(rows: &UnitRows, queries: &[usize], k: usize, ids: &mut [u32], sims: &mut [f32]) {
    let dim = rows.dim();
    let mut query_data = Vec::with_capacity(queries.len() * dim);
    for &q in queries {
        query_data.extend_from_slice(rows.row(q));
    }
    let mut tops = vec![TopK::new(k); queries.len()];
    let mut scores = vec![0f32; queries.len() * BASE_BLOCK];
    for start in (0..rows.len()).step_by(BASE_BLOCK) {
        let end = (start + BASE_BLOCK).min(rows.len());
        let base = &rows.as_slice()[start * dim..end * dim];
        let width = end - start;
        let scores = &mut scores[..queries.len() * width];
        inner_products(&query_data, base, dim, scores);
        for (r, (top, &q)) in tops.iter_mut().zip(queries).enumerate() {
            let row = &mut scores[r * width..(r + 1) * width];
            if (start..end).contains(&q) {
                row[q - start] = f32::NEG_INFINITY;
            }
            scan(row, start as u32, top);
        }
    }
    for (r, top) in tops.iter().enumerate() {
        top.write(&mut ids[r * k..(r + 1) * k], &mut sims[r * k..(r + 1) * k]);
    }
}

/// Feeds one row of scores (base indices `first..`) into `top`.
#[inline]
fn scan(row: &[f32], first: u32, top: &mut TopK) {
    let mut threshold = top.threshold();
    for (j, &s) in row.iter().enumerate() {
        if s > threshold {
            top.offer(s, first + j as u32);
            threshold = top.threshold();
        }
    }
}

/// `scores` (m×n, row-major) = `queries` (m×dim) · `base` (n×dim)ᵀ.
fn inner_products(queries: &[f32], base: &[f32], dim: usize, scores: &mut [f32]) {
    let (m, n) = (queries.len() / dim, base.len() / dim);
    debug_assert_eq!(scores.len(), m * n);
    // SAFETY: the three slices hold exactly m×dim, n×dim and m×n values; the strides below
    // stay inside them (lhs row-major m×dim; rhs read as the dim×n transpose of `base`;
    // dst row-major m×n), and dst does not alias the inputs.
    unsafe {
        gemm::gemm(
            m,
            n,
            dim,
            scores.as_mut_ptr(),
            1,
            n as isize,
            false,
            queries.as_ptr(),
            1,
            dim as isize,
            base.as_ptr(),
            dim as isize,
            1,
            0.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}
