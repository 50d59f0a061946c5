//! Stochastic gradient descent with momentum, Nesterov and L2 weight decay, as
//! `torch.optim.SGD` (dampening 0): with gradient `g`, parameter `p`, buffer `buf`,
//!
//! ```text
//! d = g + wd·p;   buf = μ·buf + d;   d = nesterov ? d + μ·buf : buf;   p = p − lr·d
//! ```
//!
//! torch starts `buf` as `d` on the first step; starting from zeros gives the same
//! `μ·0 + d = d` exactly, so the buffer always exists and always checkpoints.

use candle_core::backprop::GradStore;
use candle_core::{Tensor, Var};

use super::slots::{Slot, Slots};
use super::{check, host, unit_interval, Optimizer};
use crate::model::train_error::TrainError;

/// The settings of [`Sgd`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SgdConfig {
    /// Momentum `μ` in `[0, 1)`.
    pub momentum: f64,
    /// Nesterov momentum (needs `μ > 0`).
    pub nesterov: bool,
    /// L2 weight decay `wd ≥ 0`.
    pub weight_decay: f64,
    /// Decay rank ≤ 1 tensors (biases, batch-norm parameters) too.
    pub decay_bn_and_bias: bool,
}

/// SGD with momentum; state: `<parameter>.momentum_buffer`.
pub struct Sgd {
    slots: Slots,
    config: SgdConfig,
}

impl Sgd {
    /// SGD over `params` with `config`, after checking its ranges.
    pub fn new(params: &[(String, Var)], config: SgdConfig) -> Result<Self, TrainError> {
        check(
            "momentum",
            config.momentum,
            unit_interval(config.momentum),
            "in [0, 1)",
        )?;
        let nesterov_ok = !config.nesterov || config.momentum > 0.0;
        check(
            "momentum",
            config.momentum,
            nesterov_ok,
            "> 0 with nesterov: true",
        )?;
        let wd = config.weight_decay;
        check(
            "weight_decay",
            wd,
            (0.0..f64::INFINITY).contains(&wd),
            "≥ 0",
        )?;
        let slots = Slots::new(params, &["momentum_buffer"], wd, config.decay_bn_and_bias)?;
        Ok(Sgd { slots, config })
    }
}

/// One parameter's update, in place over its `f32` data on the CPU.
fn update_host(config: &SgdConfig, slot: &Slot, grad: &Tensor, lr: f64) -> candle_core::Result<()> {
    let (mu, wd, lr) = (config.momentum as f32, slot.weight_decay as f32, lr as f32);
    let (param, buf) = (slot.var.as_tensor(), &slot.buffers[0]);
    host::update(buf, grad, param, |buf, g, p| {
        for ((b, &g), &p) in buf.iter_mut().zip(g).zip(p) {
            *b = mu * *b + (g + wd * p);
        }
    })?;
    let nesterov = config.nesterov;
    host::update(param, grad, buf, |p, g, buf| {
        for ((p, &g), &b) in p.iter_mut().zip(g).zip(buf) {
            let d = if nesterov { (g + wd * *p) + mu * b } else { b };
            *p -= lr * d;
        }
    })
}

/// One parameter's update with candle operations (other devices and types).
fn update_ops(
    config: &SgdConfig,
    slot: &mut Slot,
    grad: &Tensor,
    lr: f64,
) -> candle_core::Result<()> {
    let param = slot.var.as_tensor();
    let d = (grad + (param * slot.weight_decay)?)?;
    let buf = ((&slot.buffers[0] * config.momentum)? + &d)?;
    let d = if config.nesterov {
        (d + (&buf * config.momentum)?)?
    } else {
        buf.clone()
    };
    slot.var.set(&(param - (d * lr)?)?)?;
    slot.buffers[0] = buf;
    Ok(())
}

impl Optimizer for Sgd {
    fn step(&mut self, grads: &GradStore, lr: f64) -> candle_core::Result<()> {
        let config = self.config;
        self.slots.update_each(grads, |slot, grad| {
            if host::applies(slot.var.as_tensor()) {
                update_host(&config, slot, grad, lr)
            } else {
                update_ops(&config, slot, grad, lr)
            }
        })
    }

    fn state(&self) -> candle_core::Result<Vec<(String, Tensor)>> {
        self.slots.export()
    }

    fn load_state(&mut self, state: &[(String, Tensor)]) -> Result<(), TrainError> {
        self.slots.import(state)
    }

    fn steps_taken(&self) -> u64 {
        self.slots.steps
    }
}
