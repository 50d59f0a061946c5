//! The compute kernels encoders are built from, on **NHWC** (channels-last) tensors:
//! convolution, batch normalisation (optionally fused with ReLU) and 2×2 max-pooling.
//!
//! Every kernel takes and returns candle tensors and supports backpropagation. The
//! implementations here are portable compositions of candle operations that run on any
//! device; the CPU has faster custom operations where they pay.

use candle_core::{DType, Result, Tensor, D};

/// 2-D convolution without bias. `x` is `(B, H, W, Cin)`, `w` is `(Cout, kh, kw, Cin)`;
/// returns `(B, Ho, Wo, Cout)` with `Ho = (H + 2·padding − kh) / stride + 1`.
pub fn conv2d(x: &Tensor, w: &Tensor, stride: usize, padding: usize) -> Result<Tensor> {
    let x_nchw = x.permute((0, 3, 1, 2))?;
    let w_oihw = w.permute((0, 3, 1, 2))?.contiguous()?;
    x_nchw
        .conv2d(&w_oihw, padding, stride, 1, 1)?
        .permute((0, 2, 3, 1))?
        .contiguous()
}

/// Batch normalisation in training mode over `(B, H, W, C)` (or `(B, C)`): normalises with
/// the batch's per-channel mean and biased variance, scales by `gamma`, shifts by `beta`, and
/// applies ReLU when `relu`. Returns the output with the batch mean and biased variance
/// (detached), from which the caller updates its running statistics.
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

/// Batch normalisation in evaluation mode: normalises with the given running `mean` and
/// `var`, then scales, shifts and (when `relu`) rectifies, as [`batch_norm_train`] does.
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

/// 2×2 max-pooling with stride 2 over `(B, H, W, C)`; odd trailing rows and columns are
/// dropped, as PyTorch's `MaxPool2d(2)` does.
pub fn max_pool2(x: &Tensor) -> Result<Tensor> {
    let (b, h, w, c) = x.dims4()?;
    let (ho, wo) = (h / 2, w / 2);
    let x = x.narrow(1, 0, ho * 2)?.narrow(2, 0, wo * 2)?;
    x.reshape((b, ho, 2, wo, 2, c))?.max(4)?.max(2)
}

/// Mean over the spatial dimensions: `(B, H, W, C)` → `(B, C)`.
pub fn global_avg_pool(x: &Tensor) -> Result<Tensor> {
    x.mean(2)?.mean(1)
}

/// Checks a tensor is f32, the only dtype the kernels compute in.
pub fn ensure_f32(x: &Tensor, what: &str) -> Result<()> {
    if x.dtype() == DType::F32 {
        Ok(())
    } else {
        Err(candle_core::Error::Msg(format!(
            "{what} must be f32, found {:?}",
            x.dtype()
        )))
    }
}
