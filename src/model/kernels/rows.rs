//! Row loops over a `rows × C` channels-last matrix, the shape every per-channel kernel
//! (batch norm, its backward) works on. The rows are cut into fixed chunks of about
//! [`CHUNK_VALUES`] values; chunks run in parallel and per-chunk partial sums are combined in
//! chunk order, so results depend on the shape only, never on the thread count.

use std::mem::MaybeUninit;
use std::ops::Range;

use rayon::prelude::*;

/// Values per chunk: small enough that f32 partial sums stay accurate, large enough to
/// amortise a rayon task.
const CHUNK_VALUES: usize = 1 << 14;

/// Rows per chunk for `channels` values per row.
pub(super) fn chunk_rows(channels: usize) -> usize {
    (CHUNK_VALUES / channels.max(1)).max(1)
}

/// Per-channel sums: `body(rows, acc)` adds the rows `rows` of its input into the `width`
/// accumulators `acc` (zeroed); chunk partials are combined in f64, in chunk order.
pub(super) fn sums(
    rows: usize,
    channels: usize,
    width: usize,
    body: impl Fn(Range<usize>, &mut [f32]) + Sync,
) -> Vec<f64> {
    let step = chunk_rows(channels);
    let partials: Vec<Vec<f32>> = (0..rows.div_ceil(step))
        .into_par_iter()
        .map(|chunk| {
            let mut acc = vec![0f32; width];
            body(chunk * step..((chunk + 1) * step).min(rows), &mut acc);
            acc
        })
        .collect();
    let mut total = vec![0f64; width];
    for partial in partials {
        total
            .iter_mut()
            .zip(partial)
            .for_each(|(t, p)| *t += f64::from(p));
    }
    total
}

/// Fills `out` (`rows × channels`, not yet initialised) chunk by chunk in parallel:
/// `body(rows, out_rows)` writes every value of the rows `rows`, given as the slice
/// `out_rows`.
pub(super) fn fill(
    out: &mut [MaybeUninit<f32>],
    channels: usize,
    body: impl Fn(Range<usize>, &mut [MaybeUninit<f32>]) + Sync + Send,
) {
    let step = chunk_rows(channels);
    if channels == 0 {
        return;
    }
    out.par_chunks_mut(step * channels)
        .enumerate()
        .for_each(|(chunk, out)| {
            let first = chunk * step;
            body(first..first + out.len() / channels, out)
        });
}

/// Per-channel mean and biased variance of `x` (`rows × channels`) in one pass over memory:
/// each chunk, while in cache, takes its own mean and then its centred sum of squares; the
/// chunks merge in order with the pairwise update of Chan, Golub and LeVeque (in f64).
pub(super) fn moments(x: &[f32], channels: usize) -> (Vec<f32>, Vec<f32>) {
    let c = channels.max(1);
    let partials: Vec<(usize, Vec<f32>, Vec<f32>)> = x
        .par_chunks(chunk_rows(c) * c)
        .map(|chunk| chunk_moments(chunk, c))
        .collect();
    let (mut n, mut mean, mut m2) = (0usize, vec![0f64; c], vec![0f64; c]);
    for (nb, mean_b, m2_b) in partials {
        let total = (n + nb) as f64;
        let weight = (n * nb) as f64 / total;
        for ch in 0..c {
            let delta = f64::from(mean_b[ch]) - mean[ch];
            mean[ch] += delta * nb as f64 / total;
            m2[ch] += f64::from(m2_b[ch]) + delta * delta * weight;
        }
        n += nb;
    }
    let var = m2.iter().map(|m| (m / n as f64) as f32).collect();
    (mean.into_iter().map(|m| m as f32).collect(), var)
}

/// Rows, mean and centred sum of squares of one chunk, in two sweeps.
fn chunk_moments(chunk: &[f32], c: usize) -> (usize, Vec<f32>, Vec<f32>) {
    let n = chunk.len() / c;
    let mut mean = vec![0f32; c];
    for row in chunk.chunks_exact(c) {
        mean.iter_mut().zip(row).for_each(|(m, v)| *m += v);
    }
    mean.iter_mut().for_each(|m| *m /= n as f32);
    let mut m2 = vec![0f32; c];
    for row in chunk.chunks_exact(c) {
        for ((s, v), m) in m2.iter_mut().zip(row).zip(&mean) {
            *s += (v - m) * (v - m);
        }
    }
    (n, mean, m2)
}
