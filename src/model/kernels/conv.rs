//! Convolution on NHWC as im2col + GEMM, with its backward, as candle custom operations.
//!
//! With `X` the patch matrix of the batch (`B·Ho·Wo × K`, `K = kh·kw·Cin`, see [`im2col`])
//! and `W` the weight as `Cout × K`:
//! forward `Y = X·Wᵀ` (`B·Ho·Wo × Cout`, which *is* the NHWC output), input gradient
//! `dX = col2im(dY·W)`, weight gradient `dW = dYᵀ·X`. The batch is cut into chunks of whole
//! images (about [`COLS_BUDGET`] patch values each, so a chunk's patch matrix stays in
//! cache); chunks run in parallel on rayon, each with one GEMM. The partition depends on the
//! shapes only, so results are bit-identical run to run and for any thread count.
//!
//! [`im2col`]: super::im2col

use std::sync::Arc;

use candle_core::{CpuStorage, CustomOp2, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use super::cpu::{dims, matmul, slice, threads, with_scratch, Mat};
use super::im2col::Geometry;

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

/// `x (B, H, W, Cin)` ⊛ `w (Cout, kh, kw, Cin)` → `(B, Ho, Wo, Cout)`, f32 on the CPU.
pub(super) fn conv2d(x: &Tensor, w: &Tensor, stride: usize, padding: usize) -> Result<Tensor> {
    let op = Conv2d { stride, padding };
    x.contiguous()?
        .apply_op2_arc(&w.contiguous()?, Arc::new(Box::new(op)))
}

/// The gradient of [`conv2d`] with respect to an input of `height × width`.
pub(super) fn input_grad(
    dy: &Tensor,
    w: &Tensor,
    stride: usize,
    padding: usize,
    (height, width): (usize, usize),
) -> Result<Tensor> {
    let op = InputGrad {
        stride,
        padding,
        height,
        width,
    };
    dy.contiguous()?.apply_op2_no_bwd(&w.contiguous()?, &op)
}

/// The gradient of [`conv2d`] with respect to a `kh × kw` weight.
pub(super) fn weight_grad(
    x: &Tensor,
    dy: &Tensor,
    stride: usize,
    padding: usize,
    (kh, kw): (usize, usize),
) -> Result<Tensor> {
    let op = WeightGrad {
        stride,
        padding,
        kh,
        kw,
    };
    x.contiguous()?.apply_op2_no_bwd(&dy.contiguous()?, &op)
}

struct Conv2d {
    stride: usize,
    padding: usize,
}

impl CustomOp2 for Conv2d {
    fn name(&self) -> &'static str {
        "conv2d-nhwc"
    }

    fn cpu_fwd(
        &self,
        xs: &CpuStorage,
        xl: &Layout,
        ws: &CpuStorage,
        wl: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (op, x_dims, w_dims) = ("conv2d", dims(xl, "conv2d", "x")?, dims(wl, "conv2d", "w")?);
        let g = Geometry::new(op, x_dims, w_dims, self.stride, self.padding)?;
        let out = forward(
            &g,
            slice(xs, xl, op, "x")?,
            slice(ws, wl, op, "w")?,
            threads(),
        )?;
        Ok((CpuStorage::F32(out), (g.batch, g.ho, g.wo, g.cout).into()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _res: &Tensor,
        dy: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let (_, height, width, _) = x.dims4()?;
        let (_, kh, kw, _) = w.dims4()?;
        let (s, p) = (self.stride, self.padding);
        let dx = match x.track_op() {
            true => Some(input_grad(dy, w, s, p, (height, width))?),
            false => None,
        };
        let dw = match w.track_op() {
            true => Some(weight_grad(x, dy, s, p, (kh, kw))?),
            false => None,
        };
        Ok((dx, dw))
    }
}

/// `Y = im2col(x)·Wᵀ`, chunk by chunk.
pub(super) fn forward(g: &Geometry, x: &[f32], w: &[f32], threads: usize) -> Result<Vec<f32>> {
    let mut out = vec![0f32; g.batch * g.pixels() * g.cout];
    let plan = Plan::new(g);
    let (out_step, x_step) = (
        plan.images * g.pixels() * g.cout,
        plan.images * g.image_len(),
    );
    if out.is_empty() || x_step == 0 {
        return Ok(out);
    }
    let inner = plan.gemm_threads(plan.chunks, threads);
    let wt = Mat::rows(g.cout, g.k()).t();
    out.par_chunks_mut(out_step)
        .zip(x.par_chunks(x_step))
        .try_for_each(|(out, x)| {
            let rows = out.len() / g.cout;
            let (o, c) = (Mat::rows(rows, g.cout), Mat::rows(rows, g.k()));
            if g.is_pointwise() {
                return matmul(out, o, x, c, w, wt, false, inner);
            }
            with_scratch(rows * g.k(), |cols| {
                g.im2col(x, cols);
                matmul(out, o, cols, c, w, wt, false, inner)
            })
        })?;
    Ok(out)
}

struct InputGrad {
    stride: usize,
    padding: usize,
    height: usize,
    width: usize,
}

impl CustomOp2 for InputGrad {
    fn name(&self) -> &'static str {
        "conv2d-nhwc-input-grad"
    }

    fn cpu_fwd(
        &self,
        dys: &CpuStorage,
        dyl: &Layout,
        ws: &CpuStorage,
        wl: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let op = "conv2d input gradient";
        let [b, _, _, _] = dims(dyl, op, "dy")?;
        let w_dims: [usize; 4] = dims(wl, op, "w")?;
        let x_dims = [b, self.height, self.width, w_dims[3]];
        let g = Geometry::new(op, x_dims, w_dims, self.stride, self.padding)?;
        check_dy(op, &g, dyl)?;
        let dx = backward_input(
            &g,
            slice(dys, dyl, op, "dy")?,
            slice(ws, wl, op, "w")?,
            threads(),
        )?;
        Ok((
            CpuStorage::F32(dx),
            (b, self.height, self.width, g.cin).into(),
        ))
    }
}

/// Checks that `dy` has the output shape of the convolution `g`.
fn check_dy(op: &'static str, g: &Geometry, dyl: &Layout) -> Result<()> {
    if dyl.dims() == [g.batch, g.ho, g.wo, g.cout] {
        return Ok(());
    }
    candle_core::bail!(
        "{op}: dy has shape {:?}, the convolution's output is {:?}",
        dyl.dims(),
        [g.batch, g.ho, g.wo, g.cout]
    )
}

/// `dX = col2im(dY·W)`, chunk by chunk (chunks hold whole images, so they never overlap).
pub(super) fn backward_input(
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
    let wm = Mat::rows(g.cout, g.k());
    dx.par_chunks_mut(dx_step)
        .zip(dy.par_chunks(dy_step))
        .try_for_each(|(dx, dy)| {
            let rows = dy.len() / g.cout;
            let (d, c) = (Mat::rows(rows, g.cout), Mat::rows(rows, g.k()));
            if g.is_pointwise() {
                return matmul(dx, c, dy, d, w, wm, false, inner);
            }
            with_scratch(rows * g.k(), |cols| {
                matmul(cols, c, dy, d, w, wm, false, inner)?;
                g.col2im(cols, dx);
                Ok(())
            })
        })?;
    Ok(dx)
}

struct WeightGrad {
    stride: usize,
    padding: usize,
    kh: usize,
    kw: usize,
}

impl CustomOp2 for WeightGrad {
    fn name(&self) -> &'static str {
        "conv2d-nhwc-weight-grad"
    }

    fn cpu_fwd(
        &self,
        xs: &CpuStorage,
        xl: &Layout,
        dys: &CpuStorage,
        dyl: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let op = "conv2d weight gradient";
        let x_dims: [usize; 4] = dims(xl, op, "x")?;
        let [_, _, _, cout] = dims(dyl, op, "dy")?;
        let w_dims = [cout, self.kh, self.kw, x_dims[3]];
        let g = Geometry::new(op, x_dims, w_dims, self.stride, self.padding)?;
        check_dy(op, &g, dyl)?;
        let dw = backward_weight(
            &g,
            slice(xs, xl, op, "x")?,
            slice(dys, dyl, op, "dy")?,
            threads(),
        )?;
        Ok((CpuStorage::F32(dw), Shape::from(&w_dims[..])))
    }
}

/// `dW = Σ_chunks dY_cᵀ·X_c`: lanes of consecutive chunks accumulate side by side, then the
/// lanes are summed in order.
pub(super) fn backward_weight(
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
    let inner = plan.gemm_threads(lanes, threads);
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
    inner: usize,
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
        return matmul(dw, out, dy, d, x, c, accumulate, inner);
    }
    with_scratch(rows * g.k(), |cols| {
        g.im2col(x, cols);
        matmul(dw, out, dy, d, cols, c, accumulate, inner)
    })
}
