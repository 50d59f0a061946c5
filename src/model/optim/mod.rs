//! Optimisers with checkpointable state, following `torch.optim` exactly: SGD (momentum,
//! Nesterov, L2 weight decay), Adam (L2 weight decay added to the gradient) and AdamW
//! (decoupled weight decay). Parameters are named `candle_core::Var`s; their state tensors
//! are named `<parameter>.<buffer>`.
//!
//! CPU `f32` parameters are updated in place by plain loops over their data; any other
//! device or type goes through candle operations. Both paths are deterministic.

mod adam;
mod host;
mod sgd;
mod slots;

pub use adam::{Adam, AdamConfig};
pub use sgd::{Sgd, SgdConfig};

use candle_core::backprop::GradStore;
use candle_core::{Tensor, Var};
use serde::{Deserialize, Serialize};

use crate::model::train_error::TrainError;

/// An optimiser over a fixed list of named parameters.
pub trait Optimizer: Send {
    /// Applies one update at learning rate `lr` to every parameter that has a gradient in
    /// `grads` (parameters without one are left alone, as torch does for `grad = None`).
    fn step(&mut self, grads: &GradStore, lr: f64) -> candle_core::Result<()>;
    /// A copy of the full state (buffers and step counts) as named tensors, for checkpoints.
    fn state(&self) -> candle_core::Result<Vec<(String, Tensor)>>;
    /// Restores state exported by [`Optimizer::state`] (from any device); every entry must be
    /// present with its parameter's shape and no entry may be left over.
    fn load_state(&mut self, state: &[(String, Tensor)]) -> Result<(), TrainError>;
    /// How many times [`Optimizer::step`] has run, including before a restore.
    fn steps_taken(&self) -> u64;
}

/// The optimiser of a training operator, as written in RON, e.g.
/// `Sgd(lr: 0.4, momentum: 0.9, nesterov: false, weight_decay: 1e-4)` or
/// `AdamW(lr: 1e-3, betas: (0.9, 0.999), eps: 1e-8, weight_decay: 1e-4)`. Every field has
/// that default. `decay_bn_and_bias: false` (the default) exempts rank-0 and rank-1 tensors —
/// biases and batch-norm scales and shifts — from weight decay.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum OptimizerKind {
    /// `torch.optim.SGD`: `d = g + wd·p; buf = μ·buf + d; d = nesterov ? d + μ·buf : buf; p −= lr·d`.
    Sgd {
        /// Base learning rate (default 0.4, SCAN's SimCLR recipe).
        #[serde(default = "sgd_lr")]
        lr: f64,
        /// Momentum `μ` (default 0.9).
        #[serde(default = "momentum")]
        momentum: f64,
        /// Nesterov momentum (default false).
        #[serde(default)]
        nesterov: bool,
        /// L2 weight decay `wd` (default 1e-4).
        #[serde(default = "weight_decay")]
        weight_decay: f64,
        /// Decay biases and batch-norm parameters too (default false).
        #[serde(default)]
        decay_bn_and_bias: bool,
    },
    /// `torch.optim.AdamW`: decoupled decay `p ·= 1 − lr·wd`, then Adam's update.
    AdamW {
        /// Base learning rate (default 1e-3, the Keras example's).
        #[serde(default = "adamw_lr")]
        lr: f64,
        /// Moment decay rates `(β1, β2)` (default `(0.9, 0.999)`).
        #[serde(default = "betas")]
        betas: (f64, f64),
        /// Denominator guard (default 1e-8).
        #[serde(default = "eps")]
        eps: f64,
        /// Decoupled weight decay (default 1e-4).
        #[serde(default = "weight_decay")]
        weight_decay: f64,
        /// Decay biases and batch-norm parameters too (default false).
        #[serde(default)]
        decay_bn_and_bias: bool,
    },
    /// `torch.optim.Adam`: `g += wd·p` before the moments (SCAN's clustering step).
    Adam {
        /// Base learning rate (default 1e-4, SCAN's clustering step).
        #[serde(default = "adam_lr")]
        lr: f64,
        /// Moment decay rates `(β1, β2)` (default `(0.9, 0.999)`).
        #[serde(default = "betas")]
        betas: (f64, f64),
        /// Denominator guard (default 1e-8).
        #[serde(default = "eps")]
        eps: f64,
        /// L2 weight decay added to the gradient (default 1e-4).
        #[serde(default = "weight_decay")]
        weight_decay: f64,
        /// Decay biases and batch-norm parameters too (default false).
        #[serde(default)]
        decay_bn_and_bias: bool,
    },
}

fn sgd_lr() -> f64 {
    0.4
}
fn adamw_lr() -> f64 {
    1e-3
}
fn adam_lr() -> f64 {
    1e-4
}
fn momentum() -> f64 {
    0.9
}
fn weight_decay() -> f64 {
    1e-4
}
fn betas() -> (f64, f64) {
    (0.9, 0.999)
}
fn eps() -> f64 {
    1e-8
}

impl OptimizerKind {
    /// The base learning rate a schedule starts from.
    pub fn base_lr(&self) -> f64 {
        match *self {
            OptimizerKind::Sgd { lr, .. }
            | OptimizerKind::AdamW { lr, .. }
            | OptimizerKind::Adam { lr, .. } => lr,
        }
    }

    /// Builds the optimiser over `params`, after checking every setting's range.
    pub fn build(&self, params: &[(String, Var)]) -> Result<Box<dyn Optimizer>, TrainError> {
        let lr = self.base_lr();
        check("lr", lr, (0.0..f64::INFINITY).contains(&lr), "≥ 0")?;
        match *self {
            OptimizerKind::Sgd {
                momentum,
                nesterov,
                weight_decay,
                decay_bn_and_bias,
                ..
            } => {
                let config = SgdConfig {
                    momentum,
                    nesterov,
                    weight_decay,
                    decay_bn_and_bias,
                };
                Ok(Box::new(Sgd::new(params, config)?))
            }
            OptimizerKind::AdamW {
                betas,
                eps,
                weight_decay,
                decay_bn_and_bias,
                ..
            }
            | OptimizerKind::Adam {
                betas,
                eps,
                weight_decay,
                decay_bn_and_bias,
                ..
            } => {
                let decoupled = matches!(self, OptimizerKind::AdamW { .. });
                let config = AdamConfig {
                    betas,
                    eps,
                    weight_decay,
                    decay_bn_and_bias,
                    decoupled,
                };
                Ok(Box::new(Adam::new(params, config)?))
            }
        }
    }
}

/// `Ok` when `valid`, else an error naming `field`, its `value` and the `expected` range.
fn check(
    field: &'static str,
    value: f64,
    valid: bool,
    expected: &'static str,
) -> Result<(), TrainError> {
    if valid {
        Ok(())
    } else {
        Err(TrainError::InvalidHyperparameter {
            field,
            value,
            expected,
        })
    }
}

/// Whether `value` lies in `[0, 1)`, the range of momentum and the betas.
fn unit_interval(value: f64) -> bool {
    (0.0..1.0).contains(&value)
}

#[cfg(test)]
mod tests;
