//! Convolution on NHWC as im2col + GEMM, with its backward, as candle custom operations.
//!
//! With `X` the patch matrix of the batch (`B·Ho·Wo × K`, `K = kh·kw·Cin`, see [`im2col`])
//! and `W` the weight as `Cout × K`:
//! forward `Y = X·Wᵀ` (`B·Ho·Wo × Cout`, which *is* the NHWC output), input gradient
//! `dX = col2im(dY·W)`, weight gradient `dW = dYᵀ·X`. The batch is cut into chunks of whole
//! images processed in parallel, one GEMM each (see [`compute`]).
//!
//! [`im2col`]: super::im2col

mod compute;

use std::sync::Arc;

use candle_core::{CpuStorage, CustomOp2, Layout, Result, Shape, Tensor};

pub(super) use compute::{backward_input, backward_weight, forward};

use super::cpu::{dims, slice, threads};
use super::im2col::Geometry;

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
