//! 2×2 max-pooling with stride 2 on NHWC as a candle custom operation:
//! `y[b, i, j, c] = max over dy, dx ∈ {0, 1} of x[b, 2i + dy, 2j + dx, c]`; odd trailing rows
//! and columns are dropped. The backward routes each `dy` to the window's maximum, taking
//! the first in (0,0), (0,1), (1,0), (1,1) order on ties.

use std::mem::MaybeUninit;

use candle_core::{CpuStorage, CustomOp1, CustomOp2, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use super::cpu::{dims, slice, uninit_vec};

/// Max-pooling on the CPU.
pub(super) fn max_pool2(x: &Tensor) -> Result<Tensor> {
    x.contiguous()?.apply_op1(MaxPool2)
}

/// The four values of a window, in tie-breaking order, as offsets into one image.
fn window(w: usize, c: usize, i: usize, j: usize) -> [usize; 4] {
    let top = (2 * i * w + 2 * j) * c;
    let bottom = top + w * c;
    [top, top + c, bottom, bottom + c]
}

struct MaxPool2;

impl CustomOp1 for MaxPool2 {
    fn name(&self) -> &'static str {
        "max-pool2-nhwc"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let [b, h, w, c] = dims(l, "max_pool2", "x")?;
        let y = forward(slice(s, l, "max_pool2", "x")?, [b, h, w, c])?;
        Ok((CpuStorage::F32(y), (b, h / 2, w / 2, c).into()))
    }

    fn bwd(&self, x: &Tensor, _res: &Tensor, dy: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(x.apply_op2_no_bwd(&dy.contiguous()?, &MaxPool2Grad)?))
    }
}

/// The backward of [`MaxPool2`] over `(x, dy)`: `dx`, zero off the maxima.
struct MaxPool2Grad;

impl CustomOp2 for MaxPool2Grad {
    fn name(&self) -> &'static str {
        "max-pool2-nhwc-grad"
    }

    fn cpu_fwd(
        &self,
        xs: &CpuStorage,
        xl: &Layout,
        ds: &CpuStorage,
        dl: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let op = "max_pool2 backward";
        let [b, h, w, c] = dims(xl, op, "x")?;
        let (x, dy) = (slice(xs, xl, op, "x")?, slice(ds, dl, op, "dy")?);
        if dl.dims() != [b, h / 2, w / 2, c] {
            candle_core::bail!(
                "{op}: dy has shape {:?}, expected {:?}",
                dl.dims(),
                [b, h / 2, w / 2, c]
            );
        }
        Ok((
            CpuStorage::F32(backward(x, dy, [b, h, w, c])?),
            xl.shape().clone(),
        ))
    }
}

/// Max-pools `x` of shape `[B, H, W, C]` into `(B, H/2, W/2, C)`.
pub(super) fn forward(x: &[f32], [b, h, w, c]: [usize; 4]) -> Result<Vec<f32>> {
    let (ho, wo) = (h / 2, w / 2);
    let pool_row = |(row, out): (usize, &mut [MaybeUninit<f32>])| {
        let image = &x[(row / ho) * h * w * c..][..h * w * c];
        for (j, out) in out.chunks_exact_mut(c).enumerate() {
            let [p, q, r, t] = window(w, c, row % ho, j).map(|o| &image[o..][..c]);
            for (ch, y) in out.iter_mut().enumerate() {
                y.write(p[ch].max(q[ch]).max(r[ch]).max(t[ch]));
            }
        }
    };
    // SAFETY: every output row is handed to `pool_row`, which writes all of it.
    unsafe {
        uninit_vec(b * ho * wo * c, |y| {
            if !y.is_empty() {
                y.par_chunks_mut(wo * c).enumerate().for_each(pool_row);
            }
            Ok(())
        })
    }
}

/// The gradient with respect to `x` (`[B, H, W, C]`) of [`forward`], given its output
/// gradient `dy`: zero off the maxima.
pub(super) fn backward(x: &[f32], dy: &[f32], [b, h, w, c]: [usize; 4]) -> Result<Vec<f32>> {
    let (ho, wo) = (h / 2, w / 2);
    if x.len() != b * h * w * c || dy.len() != b * ho * wo * c {
        candle_core::bail!(
            "max_pool2 backward: x or dy does not fit {:?}",
            [b, h, w, c]
        );
    }
    // SAFETY: `route_image` writes all of each image; an empty `dy` (H or W below 2)
    // leaves the whole of `dx` to `zero`.
    unsafe {
        uninit_vec(x.len(), |dx| {
            if ho * wo * c == 0 {
                zero(dx);
                return Ok(());
            }
            let images = dx.par_chunks_mut(h * w * c).zip(x.par_chunks(h * w * c));
            images
                .zip(dy.par_chunks(ho * wo * c))
                .for_each(|((dx, x), dy)| route_image([h, w, c], x, dy, dx));
            Ok(())
        })
    }
}

/// Routes the output gradients `dy` of one image onto `dx` (`H × W × C`), writing every
/// value: the row pairs through [`route_row`], a last odd row as zeros.
fn route_image([h, w, c]: [usize; 3], x: &[f32], dy: &[f32], dx: &mut [MaybeUninit<f32>]) {
    let (pairs, odd_row) = dx.split_at_mut(h / 2 * 2 * w * c);
    zero(odd_row);
    let rows = pairs
        .chunks_exact_mut(2 * w * c)
        .zip(x.chunks_exact(2 * w * c));
    for ((dx, x), dy) in rows.zip(dy.chunks_exact(w / 2 * c)) {
        route_row(w, c, x, dy, dx);
    }
}

/// Routes one row of output gradients `dy` (`Wo × C`) onto the two input rows `x`, `dx`
/// (`2 × W × C`) that its windows cover, writing every value of `dx` (an odd last column
/// gets zeros).
fn route_row(w: usize, c: usize, x: &[f32], dy: &[f32], dx: &mut [MaybeUninit<f32>]) {
    let (x_top, x_bottom) = x.split_at(w * c);
    let (dx_top, dx_bottom) = dx.split_at_mut(w * c);
    let (dx_top, odd_top) = dx_top.split_at_mut(w / 2 * 2 * c);
    let (dx_bottom, odd_bottom) = dx_bottom.split_at_mut(w / 2 * 2 * c);
    zero(odd_top);
    zero(odd_bottom);
    let pixel_pairs = dx_top
        .chunks_exact_mut(2 * c)
        .zip(dx_bottom.chunks_exact_mut(2 * c));
    let x_pairs = x_top.chunks_exact(2 * c).zip(x_bottom.chunks_exact(2 * c));
    for (((dx_t, dx_b), (x_t, x_b)), dy) in pixel_pairs.zip(x_pairs).zip(dy.chunks_exact(c)) {
        let (x0, x1) = x_t.split_at(c);
        let (x2, x3) = x_b.split_at(c);
        let (d0, d1) = dx_t.split_at_mut(c);
        let (d2, d3) = dx_b.split_at_mut(c);
        route([x0, x1, x2, x3], dy, [d0, d1, d2, d3]);
    }
}

/// Writes each channel of `dy` to the first maximum of its window in `dx` and 0 to the
/// other three (branch-free, so the channel loop vectorises).
fn route(x: [&[f32]; 4], dy: &[f32], dx: [&mut [MaybeUninit<f32>]; 4]) {
    let c = dy.len();
    let [x0, x1, x2, x3] = x.map(|x| &x[..c]);
    let [d0, d1, d2, d3] = dx;
    let (d0, d1, d2, d3) = (&mut d0[..c], &mut d1[..c], &mut d2[..c], &mut d3[..c]);
    for ch in 0..c {
        let m = x0[ch].max(x1[ch]).max(x2[ch]).max(x3[ch]);
        let first = x0[ch] == m;
        let second = !first & (x1[ch] == m);
        let third = !(first | second) & (x2[ch] == m);
        let fourth = !(first | second | third);
        let g = dy[ch];
        d0[ch].write(if first { g } else { 0.0 });
        d1[ch].write(if second { g } else { 0.0 });
        d2[ch].write(if third { g } else { 0.0 });
        d3[ch].write(if fourth { g } else { 0.0 });
    }
}

/// Writes zeros over `values`.
fn zero(values: &mut [MaybeUninit<f32>]) {
    values.fill(MaybeUninit::new(0.0));
}
