//! The layers encoders and heads are built from, each owning its named parameters:
//! [`Conv`] (`(B,H,W,Cin)` → `(B,Ho,Wo,Cout)`, weight `(Cout,kh,kw,Cin)`), [`BatchNorm`]
//! (per-channel over the last dimension, PyTorch's momentum convention), [`Linear`]
//! (`y = x·Wᵀ + b`, weight `(out,in)` as PyTorch stores it) and [`Dropout`].
//!
//! Convolution and normalisation go through `model::kernels`; linear layers are candle
//! matmuls.

#[cfg(test)]
mod tests;

use candle_core::{Tensor, Var};

use super::error::ModelError;
use super::kernels;
use super::params::{Init, Params};
use crate::rng::SplitMix64;

/// The shape of a convolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvCfg {
    /// Input channels.
    pub cin: usize,
    /// Output channels.
    pub cout: usize,
    /// Square kernel side.
    pub kernel: usize,
    /// Stride in both directions.
    pub stride: usize,
    /// Zero padding on every side.
    pub padding: usize,
    /// Whether a per-channel bias is added (Keras' default; torchvision's ResNets have none).
    pub bias: bool,
}

/// A 2-D convolution on channels-last tensors.
#[derive(Clone, Debug)]
pub struct Conv {
    weight: Var,
    bias: Option<Var>,
    stride: usize,
    padding: usize,
}

impl Conv {
    /// Registers `{name}.weight` `(Cout,k,k,Cin)` (Kaiming-normal, fan-out) and, with
    /// `cfg.bias`, `{name}.bias` `(Cout)` (zeros, as Keras initialises it).
    pub fn new(params: &mut Params, name: &str, cfg: ConvCfg) -> Result<Self, ModelError> {
        let ConvCfg {
            cin, cout, kernel, ..
        } = cfg;
        let fan_out = cout * kernel * kernel;
        let shape = [cout, kernel, kernel, cin];
        let weight = params.trainable(
            &format!("{name}.weight"),
            &shape,
            Init::kaiming_normal_fan_out(fan_out),
        )?;
        let bias = if cfg.bias {
            Some(params.trainable(&format!("{name}.bias"), &[cout], Init::Zeros)?)
        } else {
            None
        };
        Ok(Conv {
            weight,
            bias,
            stride: cfg.stride,
            padding: cfg.padding,
        })
    }

    /// `(B,H,W,Cin)` → `(B,Ho,Wo,Cout)`, `Ho = (H + 2·padding − k) / stride + 1`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor, ModelError> {
        let y = kernels::conv2d(x, &self.weight, self.stride, self.padding)?;
        Ok(match &self.bias {
            Some(bias) => y.broadcast_add(bias)?,
            None => y,
        })
    }
}

/// Batch normalisation over the last (channel) dimension with running statistics.
#[derive(Clone, Debug)]
pub struct BatchNorm {
    name: String,
    gamma: Var,
    beta: Var,
    running_mean: Var,
    running_var: Var,
}

impl BatchNorm {
    /// PyTorch's default momentum: `running ← (1 − m)·running + m·batch`.
    pub const MOMENTUM: f64 = 0.1;
    /// PyTorch's default ε added to the variance.
    pub const EPS: f64 = 1e-5;

    /// Registers `{name}.weight` (γ, ones) and `{name}.bias` (β, zeros) as trainables and
    /// `{name}.running_mean` (zeros), `{name}.running_var` (ones) as buffers, all `(C)`.
    pub fn new(params: &mut Params, name: &str, channels: usize) -> Result<Self, ModelError> {
        let mut make = |field: &str, init: Init, trainable: bool| {
            let full = format!("{name}.{field}");
            if trainable {
                params.trainable(&full, &[channels], init)
            } else {
                params.buffer(&full, &[channels], init)
            }
        };
        Ok(BatchNorm {
            gamma: make("weight", Init::Ones, true)?,
            beta: make("bias", Init::Zeros, true)?,
            running_mean: make("running_mean", Init::Zeros, false)?,
            running_var: make("running_var", Init::Ones, false)?,
            name: name.to_string(),
        })
    }

    /// Normalises `x` (`(…, C)`), then ReLU when `relu`. In training mode with the batch's
    /// statistics, updating the running ones (the variance unbiased, `·n/(n−1)`, as
    /// PyTorch does); in evaluation mode with the running ones.
    pub fn forward(&self, x: &Tensor, train: bool, relu: bool) -> Result<Tensor, ModelError> {
        if !train {
            let (mean, var) = (&self.running_mean, &self.running_var);
            let y =
                kernels::batch_norm_eval(x, &self.gamma, &self.beta, mean, var, Self::EPS, relu)?;
            return Ok(y);
        }
        let per_channel = x.elem_count() / x.dims().last().copied().unwrap_or(1).max(1);
        let (y, mean, var) =
            kernels::batch_norm_train(x, &self.gamma, &self.beta, Self::EPS, relu)?;
        self.update_running(&mean, &var, per_channel)?;
        Ok(y)
    }

    /// Folds a batch's mean and biased variance over `rows` values per channel into the
    /// running statistics (the variance unbiased first), or refuses a batch of one value.
    fn update_running(&self, mean: &Tensor, var: &Tensor, rows: usize) -> Result<(), ModelError> {
        if rows < 2 {
            return Err(ModelError::BatchTooSmall {
                layer: self.name.clone(),
            });
        }
        let unbiased = (var * (rows as f64 / (rows - 1) as f64))?;
        update_running(&self.running_mean, mean)?;
        update_running(&self.running_var, &unbiased)
    }
}

/// `ReLU(bn(conv(x)))`, then a 2×2 max-pool when `pool`. In training mode with a convolution
/// without bias this is one fused kernel ([`kernels::conv_bn_relu_train`]: the same values,
/// less gradient bookkeeping); otherwise the layers run one after the other.
pub fn conv_bn_relu(
    (conv, bn): (&Conv, &BatchNorm),
    x: &Tensor,
    train: bool,
    pool: bool,
) -> Result<Tensor, ModelError> {
    if !train || conv.bias.is_some() {
        let y = bn.forward(&conv.forward(x)?, train, true)?;
        return Ok(if pool { kernels::max_pool2(&y)? } else { y });
    }
    let cfg = kernels::BlockCfg {
        stride: conv.stride,
        padding: conv.padding,
        eps: BatchNorm::EPS,
        pool,
    };
    let (y, mean, var) = kernels::conv_bn_relu_train(x, &conv.weight, (&bn.gamma, &bn.beta), cfg)?;
    let (batch, height, width, _) = x.dims4()?;
    let kernel = conv.weight.dim(1)?;
    let side = |s: usize| (s + 2 * conv.padding).saturating_sub(kernel) / conv.stride + 1;
    bn.update_running(&mean, &var, batch * side(height) * side(width))?;
    Ok(y)
}

/// `running ← (1 − m)·running + m·batch`, in place.
fn update_running(running: &Var, batch: &Tensor) -> Result<(), ModelError> {
    let m = BatchNorm::MOMENTUM;
    let next = ((running.as_detached_tensor() * (1.0 - m))? + (batch.detach() * m)?)?;
    Ok(running.set(&next)?)
}

/// A fully connected layer, `(B, in)` → `(B, out)`.
#[derive(Clone, Debug)]
pub struct Linear {
    weight: Var,
    bias: Option<Var>,
}

impl Linear {
    /// Registers `{name}.weight` `(out, in)` and, with `bias`, `{name}.bias` `(out)`, both
    /// uniform `±1/√in` as PyTorch initialises them.
    pub fn new(
        params: &mut Params,
        name: &str,
        dims: (usize, usize),
        bias: bool,
    ) -> Result<Self, ModelError> {
        let (input, output) = dims;
        let init = Init::linear_default(input);
        let weight = params.trainable(&format!("{name}.weight"), &[output, input], init)?;
        let bias = if bias {
            Some(params.trainable(&format!("{name}.bias"), &[output], init)?)
        } else {
            None
        };
        Ok(Linear { weight, bias })
    }

    /// `x·Wᵀ (+ b)`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor, ModelError> {
        let y = x.matmul(&self.weight.t()?)?;
        Ok(match &self.bias {
            Some(bias) => y.broadcast_add(bias)?,
            None => y,
        })
    }
}

/// Inverted dropout: in training, zeroes each value with probability `p` and scales the
/// rest by `1/(1 − p)`; the mask is a function of the step's seed alone.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dropout {
    p: f32,
}

impl Dropout {
    /// Dropout with drop probability `p`, which must lie in `[0, 1)`.
    pub fn new(p: f32) -> Result<Self, ModelError> {
        if (0.0..1.0).contains(&p) {
            Ok(Dropout { p })
        } else {
            Err(ModelError::Config {
                field: "Dropout.p",
                message: format!("must lie in [0, 1), found {p}"),
            })
        }
    }

    /// With `Some(seed)` (training) drops values by the mask drawn from `seed`; with `None`
    /// (evaluation) returns `x` unchanged.
    pub fn forward(&self, x: &Tensor, seed: Option<u64>) -> Result<Tensor, ModelError> {
        let Some(seed) = seed.filter(|_| self.p > 0.0) else {
            return Ok(x.clone());
        };
        let mut rng = SplitMix64::new(seed);
        let keep = 1.0 / (1.0 - self.p);
        let mask: Vec<f32> = (0..x.elem_count())
            .map(|_| if rng.bernoulli(self.p) { 0.0 } else { keep })
            .collect();
        let mask = Tensor::from_vec(mask, x.shape(), x.device())?;
        Ok(x.mul(&mask)?)
    }
}
