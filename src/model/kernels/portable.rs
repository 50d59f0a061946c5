//! Portable NHWC kernels: compositions of candle operations that run on any device and any
//! float dtype, differentiated by candle's own autograd. The fast CPU operations are checked
//! against these, and every non-CPU (or non-f32) call lands here.

use candle_core::{Result, Tensor, D};

/// 2-D convolution without bias: `x (B, H, W, Cin)` ⊛ `w (Cout, kh, kw, Cin)` →
/// `(B, Ho, Wo, Cout)`, through candle's NCHW `conv2d`.
pub fn conv2d(x: &Tensor, w: &Tensor, stride: usize, padding: usize) -> Result<Tensor> {
    let x_nchw = x.permute((0, 3, 1, 2))?;
    let w_oihw = w.permute((0, 3, 1, 2))?.contiguous()?;
    x_nchw
        .conv2d(&w_oihw, padding, stride, 1, 1)?
        .permute((0, 2, 3, 1))?
        .contiguous()
}

/// Training-mode batch normalisation over the last dimension; returns the output with the
/// detached batch mean and biased variance.
pub fn batch_norm_train(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    eps: f64,
    relu: bool,
) -> Result<(Tensor, Tensor, Tensor)> {
    let channels = x.dim(D::Minus1)?;
    let rows = x.elem_count() / channels;
    let flat = x.reshape((rows, channels))?;
    let mean = flat.mean_keepdim(0)?;
    let centred = flat.broadcast_sub(&mean)?;
    let var = centred.sqr()?.mean_keepdim(0)?;
    let normed = centred.broadcast_div(&(var.clone() + eps)?.sqrt()?)?;
    let out = affine(&normed, gamma, beta, relu)?.reshape(x.shape())?;
    Ok((out, mean.squeeze(0)?.detach(), var.squeeze(0)?.detach()))
}

/// Evaluation-mode batch normalisation with the given running statistics.
pub fn batch_norm_eval(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    mean: &Tensor,
    var: &Tensor,
    eps: f64,
    relu: bool,
) -> Result<Tensor> {
    let channels = x.dim(D::Minus1)?;
    let flat = x.reshape((x.elem_count() / channels, channels))?;
    let normed = flat
        .broadcast_sub(mean)?
        .broadcast_div(&(var + eps)?.sqrt()?)?;
    affine(&normed, gamma, beta, relu)?.reshape(x.shape())
}

fn affine(normed: &Tensor, gamma: &Tensor, beta: &Tensor, relu: bool) -> Result<Tensor> {
    let out = normed.broadcast_mul(gamma)?.broadcast_add(beta)?;
    if relu {
        out.relu()
    } else {
        Ok(out)
    }
}

/// 2×2/2 max-pooling over `(B, H, W, C)`, odd trailing rows and columns dropped. Gradients
/// of tied maxima go to every tied element (candle's `max` backward).
pub fn max_pool2(x: &Tensor) -> Result<Tensor> {
    let (b, h, w, c) = x.dims4()?;
    let (ho, wo) = (h / 2, w / 2);
    let x = x.narrow(1, 0, ho * 2)?.narrow(2, 0, wo * 2)?;
    x.reshape((b, ho, 2, wo, 2, c))?.max(4)?.max(2)
}

/// The input gradient of [`conv2d`]: a transposed convolution of `dy` (NCHW) with the
/// weight, as candle's autograd computes it, except that the output padding is worked out
/// per axis (candle's backward takes the height's for both axes, which fails for stride 2
/// on inputs whose height and width differ in parity).
pub fn conv2d_input_grad(
    dy: &Tensor,
    w: &Tensor,
    stride: usize,
    padding: usize,
    (height, width): (usize, usize),
) -> Result<Tensor> {
    let dy_nchw = dy.permute((0, 3, 1, 2))?;
    let w_oihw = w.permute((0, 3, 1, 2))?.contiguous()?;
    let pad_h = output_padding(height, dy.dim(1)?, w.dim(1)?, stride, padding)?;
    let pad_w = output_padding(width, dy.dim(2)?, w.dim(2)?, stride, padding)?;
    dy_nchw
        .conv_transpose2d(&w_oihw, padding, pad_h.max(pad_w), stride, 1)?
        .narrow(2, 0, height)?
        .narrow(3, 0, width)?
        .permute((0, 2, 3, 1))?
        .contiguous()
}

/// Input rows a strided convolution leaves unread at the end, which a transposed
/// convolution must add back: `size + 2·padding − ((out − 1)·stride + k)`.
fn output_padding(
    size: usize,
    out: usize,
    k: usize,
    stride: usize,
    padding: usize,
) -> Result<usize> {
    let reached = (out.max(1) - 1) * stride + k;
    match (size + 2 * padding).checked_sub(reached) {
        Some(extra) => Ok(extra),
        None => candle_core::bail!(
            "conv2d input gradient: {out} outputs cannot come from {size} inputs"
        ),
    }
}

/// The weight gradient of [`conv2d`] as candle's autograd computes it: a convolution of the
/// input, batch and channels swapped, with `dy` as a kernel dilated by the stride.
pub fn conv2d_weight_grad(
    x: &Tensor,
    dy: &Tensor,
    stride: usize,
    padding: usize,
    (kh, kw): (usize, usize),
) -> Result<Tensor> {
    let x_nchw = x.permute((0, 3, 1, 2))?;
    let dy_nchw = dy.permute((0, 3, 1, 2))?;
    x_nchw
        .transpose(0, 1)?
        .conv2d(&dy_nchw.transpose(0, 1)?, padding, 1, stride, 1)?
        .transpose(0, 1)?
        .narrow(2, 0, kh)?
        .narrow(3, 0, kw)?
        .permute((0, 2, 3, 1))?
        .contiguous()
}
