//! The compute kernels encoders are built from, on **NHWC** (channels-last) tensors:
//! convolution, batch normalisation (optionally fused with ReLU), 2×2 max-pooling, and the
//! three as one training-mode block ([`conv_bn_relu_train`]).
//!
//! Every kernel takes and returns candle tensors and supports backpropagation. On the CPU
//! with f32 tensors they run as custom operations with hand-written backward passes
//! (im2col + one GEMM per chunk of images for convolutions, fused row loops for batch norm);
//! on any other device or dtype they fall back to the [`portable`] compositions of candle
//! operations. Both give the same values (to float rounding); the CPU operations are
//! bit-identical run to run and for any thread count.

pub mod alloc;
mod batchnorm;
mod conv;
mod cpu;
mod error;
mod fused;
mod im2col;
mod pool;
pub mod portable;
mod rows;
#[cfg(test)]
mod tests;

use candle_core::{DType, Result, Tensor};

pub use error::KernelError;
pub use fused::BlockCfg;

/// Whether every tensor is f32 on the CPU, where the custom operations run.
fn fast(tensors: &[&Tensor]) -> bool {
    tensors
        .iter()
        .all(|t| t.device().is_cpu() && t.dtype() == DType::F32)
}

/// 2-D convolution without bias. `x` is `(B, H, W, Cin)`, `w` is `(Cout, kh, kw, Cin)`;
/// returns `(B, Ho, Wo, Cout)` with `Ho = (H + 2·padding − kh) / stride + 1`.
pub fn conv2d(x: &Tensor, w: &Tensor, stride: usize, padding: usize) -> Result<Tensor> {
    if fast(&[x, w]) {
        conv::conv2d(x, w, stride, padding)
    } else {
        portable::conv2d(x, w, stride, padding)
    }
}

/// The gradient of [`conv2d`] with respect to its input `(B, height, width, Cin)`, given the
/// output gradient `dy (B, Ho, Wo, Cout)` and the weight `w`. Backpropagation through
/// [`conv2d`] calls this; it is public for benchmarks and tests.
pub fn conv2d_input_grad(
    dy: &Tensor,
    w: &Tensor,
    stride: usize,
    padding: usize,
    input_hw: (usize, usize),
) -> Result<Tensor> {
    if fast(&[dy, w]) {
        conv::input_grad(dy, w, stride, padding, input_hw)
    } else {
        portable::conv2d_input_grad(dy, w, stride, padding, input_hw)
    }
}

/// The gradient of [`conv2d`] with respect to its `(Cout, kh, kw, Cin)` weight, given the
/// input `x` and the output gradient `dy`. Backpropagation through [`conv2d`] calls this; it
/// is public for benchmarks and tests.
pub fn conv2d_weight_grad(
    x: &Tensor,
    dy: &Tensor,
    stride: usize,
    padding: usize,
    kernel_hw: (usize, usize),
) -> Result<Tensor> {
    if fast(&[x, dy]) {
        conv::weight_grad(x, dy, stride, padding, kernel_hw)
    } else {
        portable::conv2d_weight_grad(x, dy, stride, padding, kernel_hw)
    }
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
    if fast(&[x, gamma, beta]) {
        batchnorm::batch_norm_train(x, gamma, beta, eps, relu)
    } else {
        portable::batch_norm_train(x, gamma, beta, eps, relu)
    }
}

/// Batch normalisation in evaluation mode: normalises with the given running `mean` and
/// `var`, then scales, shifts and (when `relu`) rectifies, as [`batch_norm_train`] does.
/// On the CPU the running statistics are constants: no gradient flows to them.
pub fn batch_norm_eval(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    mean: &Tensor,
    var: &Tensor,
    eps: f64,
    relu: bool,
) -> Result<Tensor> {
    if fast(&[x, gamma, beta, mean, var]) {
        batchnorm::batch_norm_eval(x, gamma, beta, mean, var, eps, relu)
    } else {
        portable::batch_norm_eval(x, gamma, beta, mean, var, eps, relu)
    }
}

/// Convolution without bias → batch norm in training mode → ReLU → (when `cfg.pool`) 2×2
/// max-pooling: [`conv2d`], [`batch_norm_train`] with `relu` and [`max_pool2`] in one call,
/// with the same values and gradients. Returns the output with the batch mean and biased
/// variance of the convolution's output (detached). On the CPU in f32 it is one operation,
/// so candle's backward never allocates and sums gradients for the full-resolution
/// intermediates.
pub fn conv_bn_relu_train(
    x: &Tensor,
    w: &Tensor,
    (gamma, beta): (&Tensor, &Tensor),
    cfg: BlockCfg,
) -> Result<(Tensor, Tensor, Tensor)> {
    if fast(&[x, w, gamma, beta]) {
        return fused::conv_bn_relu_train(x, w, gamma, beta, cfg);
    }
    let z = portable::conv2d(x, w, cfg.stride, cfg.padding)?;
    let (y, mean, var) = portable::batch_norm_train(&z, gamma, beta, cfg.eps, true)?;
    let y = if cfg.pool {
        portable::max_pool2(&y)?
    } else {
        y
    };
    Ok((y, mean, var))
}

/// 2×2 max-pooling with stride 2 over `(B, H, W, C)`; odd trailing rows and columns are
/// dropped, as PyTorch's `MaxPool2d(2)` does. On the CPU the gradient of a window goes to
/// its first maximum.
pub fn max_pool2(x: &Tensor) -> Result<Tensor> {
    if fast(&[x]) {
        pool::max_pool2(x)
    } else {
        portable::max_pool2(x)
    }
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
