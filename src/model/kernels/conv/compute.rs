//! The arithmetic of the convolution operations on contiguous f32 slices: the fixed
//! partition of a batch into chunks of whole images (about [`COLS_BUDGET`] patch values
//! each, so a chunk's patch matrix stays in cache), and per chunk one im2col and one GEMM.
//! Chunks run in parallel on rayon; the partition depends on the shapes only, so results
//! are bit-identical run to run and for any thread count. The GEMMs run at the precision
//! the calling thread set (see [`crate::linalg::precision`]), read once per call because
//! the chunks run on rayon's threads.

use std::mem::MaybeUninit;

use candle_core::Result;
use rayon::prelude::*;

use super::super::cpu::{uninit_vec, with_scratch};
use super::super::im2col::Geometry;
use crate::linalg::{matmul_at, matmul_into_at, precision, Mat, Precision};

/// Patch-matrix values one chunk aims at (2 MiB of f32).
const COLS_BUDGET: usize = 1 << 19;
/// Chunks a batch is cut into at least (when it has that many images), for load balance.
const MIN_CHUNKS: usize = 8;
/// Weight-gradient partial sums computed side by side at most, each a `Cout × K` buffer.
const MAX_LANES: usize = 8;
/// Floats all weight-gradient partial sums may take together.
const LANES_BUDGET: usize = 1 << 22;

/// The fixed partition of a batch into chunks of whole images.
#[derive(Clone, Copy, Debug)]
struct Plan {
    images: usize,
    chunks: usize,
}

impl Plan {
    fn new(g: &Geometry) -> Self {
        let by_budget = COLS_BUDGET / (g.k() * g.pixels()).max(1);
        let images = by_budget.min(g.batch.div_ceil(MIN_CHUNKS)).max(1);
        Self {
            images,
            chunks: g.batch.div_ceil(images),
        }
    }

    /// Threads for each chunk's GEMM: one when chunks alone keep every thread busy.
    fn gemm_threads(&self, parallel_tasks: usize, threads: usize) -> usize {
        if parallel_tasks >= threads {
            1
        } else {
            threads
        }
    }
}

/// `Y = im2col(x)·Wᵀ`, chunk by chunk.
pub(in crate::model::kernels) fn forward(
    g: &Geometry,
    x: &[f32],
    w: &[f32],
    threads: usize,
) -> Result<Vec<f32>> {
    let len = g.batch * g.pixels() * g.cout;
    let plan = Plan::new(g);
    let (out_step, x_step) = (
        plan.images * g.pixels() * g.cout,
        plan.images * g.image_len(),
    );
    if x.len() != g.batch * g.image_len() {
        candle_core::bail!(
            "conv2d: x holds {} values, its shape {} × {}",
            x.len(),
            g.batch,
            g.image_len()
        );
    }
    if len == 0 || x_step == 0 {
        return Ok(vec![0f32; len]);
    }
    let inner = plan.gemm_threads(plan.chunks, threads);
    let at = precision::current();
    // SAFETY: the output and `x` split into the same number of chunks of whole images, and
    // `forward_chunk` writes all of each chunk's output.
    unsafe {
        uninit_vec(len, |out| {
            out.par_chunks_mut(out_step)
                .zip(x.par_chunks(x_step))
                .try_for_each(|(out, x)| forward_chunk(g, (x, w), out, (at, inner)))
        })
    }
}

/// One chunk of [`forward`]: im2col (none for a pointwise convolution), then one GEMM that
/// writes every output value.
fn forward_chunk(
    g: &Geometry,
    (x, w): (&[f32], &[f32]),
    out: &mut [MaybeUninit<f32>],
    (at, threads): (Precision, usize),
) -> Result<()> {
    let rows = out.len() / g.cout;
    let (o, c, wt) = (
        Mat::rows(rows, g.cout),
        Mat::rows(rows, g.k()),
        Mat::rows(g.cout, g.k()).t(),
    );
    if g.is_pointwise() {
        return Ok(matmul_into_at(at, (out, o), (x, c), (w, wt), threads)?);
    }
    with_scratch(rows * g.k(), |cols| {
        g.im2col(x, cols);
        Ok(matmul_into_at(at, (out, o), (cols, c), (w, wt), threads)?)
    })
}

/// `dX = col2im(dY·W)`, chunk by chunk (chunks hold whole images, so they never overlap).
pub(in crate::model::kernels) fn backward_input(
    g: &Geometry,
    dy: &[f32],
    w: &[f32],
    threads: usize,
) -> Result<Vec<f32>> {
    let mut dx = vec![0f32; g.batch * g.image_len()];
    let plan = Plan::new(g);
    let (dx_step, dy_step) = (
        plan.images * g.image_len(),
        plan.images * g.pixels() * g.cout,
    );
    if dx.is_empty() || dy_step == 0 {
        return Ok(dx);
    }
    let inner = plan.gemm_threads(plan.chunks, threads);
    let at = precision::current();
    let wm = Mat::rows(g.cout, g.k());
    dx.par_chunks_mut(dx_step)
        .zip(dy.par_chunks(dy_step))
        .try_for_each(|(dx, dy)| {
            let rows = dy.len() / g.cout;
            let (d, c) = (Mat::rows(rows, g.cout), Mat::rows(rows, g.k()));
            if g.is_pointwise() {
                return matmul_at(at, (dx, c), (dy, d), (w, wm), false, inner);
            }
            with_scratch(rows * g.k(), |cols| {
                matmul_at(at, (cols, c), (dy, d), (w, wm), false, inner)?;
                g.col2im(cols, dx);
                Ok(())
            })
        })?;
    Ok(dx)
}

/// `dW = Σ_chunks dY_cᵀ·X_c`: lanes of consecutive chunks accumulate side by side, then the
/// lanes are summed in order.
pub(in crate::model::kernels) fn backward_weight(
    g: &Geometry,
    x: &[f32],
    dy: &[f32],
    threads: usize,
) -> Result<Vec<f32>> {
    let plan = Plan::new(g);
    let per_lane = g.cout * g.k();
    let lanes = (LANES_BUDGET / per_lane.max(1))
        .clamp(1, MAX_LANES)
        .min(plan.chunks);
    let mut partial = vec![0f32; lanes.max(1) * per_lane];
    if per_lane == 0 || lanes == 0 {
        return Ok(partial);
    }
    let inner = (precision::current(), plan.gemm_threads(lanes, threads));
    partial
        .par_chunks_mut(per_lane)
        .enumerate()
        .try_for_each(|(lane, dw)| {
            let chunks = lane * plan.chunks / lanes..(lane + 1) * plan.chunks / lanes;
            for (i, chunk) in chunks.enumerate() {
                weight_chunk(g, &plan, chunk, x, dy, dw, i > 0, inner)?;
            }
            Ok::<_, candle_core::Error>(())
        })?;
    let (first, rest) = partial.split_at_mut(per_lane);
    for lane in rest.chunks_exact(per_lane) {
        first.iter_mut().zip(lane).for_each(|(a, b)| *a += b);
    }
    partial.truncate(per_lane);
    Ok(partial)
}

/// Adds (or, the first time, writes) one chunk's `dY_cᵀ·X_c` into `dw`.
#[allow(clippy::too_many_arguments)]
fn weight_chunk(
    g: &Geometry,
    plan: &Plan,
    chunk: usize,
    x: &[f32],
    dy: &[f32],
    dw: &mut [f32],
    accumulate: bool,
    (at, inner): (Precision, usize),
) -> Result<()> {
    let first = chunk * plan.images;
    let images = plan.images.min(g.batch - first);
    let x = &x[first * g.image_len()..][..images * g.image_len()];
    let rows = images * g.pixels();
    let dy = &dy[first * g.pixels() * g.cout..][..rows * g.cout];
    let (d, c, out) = (
        Mat::rows(rows, g.cout).t(),
        Mat::rows(rows, g.k()),
        Mat::rows(g.cout, g.k()),
    );
    if g.is_pointwise() {
        return Ok(matmul_at(
            at,
            (dw, out),
            (dy, d),
            (x, c),
            accumulate,
            inner,
        )?);
    }
    with_scratch(rows * g.k(), |cols| {
        g.im2col(x, cols);
        Ok(matmul_at(
            at,
            (dw, out),
            (dy, d),
            (cols, c),
            accumulate,
            inner,
        )?)
    })
}
