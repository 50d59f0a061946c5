//! Adam and AdamW, as `torch.optim.Adam` / `torch.optim.AdamW` (no AMSGrad). With gradient
//! `g`, parameter `p`, the parameter's update number `t` (from 1) and moments `m`, `v`:
//!
//! ```text
//! Adam:  g = g + wd·p                       AdamW:  p = p·(1 − lr·wd)
//! m = m + (1 − β1)·(g − m);   v = β2·v + (1 − β2)·g²
//! p = p − (lr / (1 − β1ᵗ)) · m / (√v / √(1 − β2ᵗ) + eps)
//! ```
//!
//! (Keras's AdamW differs only in where `eps` sits: `√v + eps` before the bias correction.)

use candle_core::backprop::GradStore;
use candle_core::{Tensor, Var};

use super::slots::{Slot, Slots};
use super::{check, host, unit_interval, Optimizer};
use crate::model::train_error::TrainError;

/// The settings of [`Adam`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamConfig {
    /// Moment decay rates `(β1, β2)`, each in `[0, 1)`.
    pub betas: (f64, f64),
    /// Denominator guard `eps > 0`.
    pub eps: f64,
    /// Weight decay `wd ≥ 0`.
    pub weight_decay: f64,
    /// Decay rank ≤ 1 tensors (biases, batch-norm parameters) too.
    pub decay_bn_and_bias: bool,
    /// Decoupled decay (AdamW) rather than L2 added to the gradient (Adam).
    pub decoupled: bool,
}

/// Adam or AdamW; state: `<parameter>.exp_avg`, `<parameter>.exp_avg_sq`.
pub struct Adam {
    slots: Slots,
    config: AdamConfig,
}

impl Adam {
    /// Adam (or AdamW when `config.decoupled`) over `params`, after checking its ranges.
    pub fn new(params: &[(String, Var)], config: AdamConfig) -> Result<Self, TrainError> {
        let (beta1, beta2) = config.betas;
        check("betas.0", beta1, unit_interval(beta1), "in [0, 1)")?;
        check("betas.1", beta2, unit_interval(beta2), "in [0, 1)")?;
        check(
            "eps",
            config.eps,
            config.eps > 0.0 && config.eps.is_finite(),
            "> 0",
        )?;
        let wd = config.weight_decay;
        check(
            "weight_decay",
            wd,
            (0.0..f64::INFINITY).contains(&wd),
            "≥ 0",
        )?;
        let buffers = &["exp_avg", "exp_avg_sq"];
        let slots = Slots::new(params, buffers, wd, config.decay_bn_and_bias)?;
        Ok(Adam { slots, config })
    }
}

/// The scalars of one parameter's update, in `f64` as torch computes them.
struct Coefficients {
    /// Weight decay added to the gradient (Adam).
    l2: f64,
    /// Factor the parameter is first multiplied by (AdamW: `1 − lr·wd`).
    shrink: f64,
    /// `lr / (1 − β1ᵗ)`.
    step_size: f64,
    /// `√(1 − β2ᵗ)`.
    correction2_sqrt: f64,
}

impl Coefficients {
    fn new(config: &AdamConfig, slot: &Slot, lr: f64) -> Self {
        let t = slot.updates as f64;
        let (beta1, beta2) = config.betas;
        let (l2, decoupled) = match config.decoupled {
            true => (0.0, slot.weight_decay),
            false => (slot.weight_decay, 0.0),
        };
        Coefficients {
            l2,
            shrink: 1.0 - lr * decoupled,
            step_size: lr / (1.0 - beta1.powf(t)),
            correction2_sqrt: (1.0 - beta2.powf(t)).sqrt(),
        }
    }
}

/// One parameter's update, in place over its `f32` data on the CPU.
fn update_host(
    config: &AdamConfig,
    slot: &Slot,
    grad: &Tensor,
    k: &Coefficients,
) -> candle_core::Result<()> {
    let (one_minus_b1, b2) = ((1.0 - config.betas.0) as f32, config.betas.1 as f32);
    let (one_minus_b2, l2) = ((1.0 - config.betas.1) as f32, k.l2 as f32);
    let (param, m, v) = (slot.var.as_tensor(), &slot.buffers[0], &slot.buffers[1]);
    host::update(m, grad, param, |m, g, p| {
        for ((m, &g), &p) in m.iter_mut().zip(g).zip(p) {
            *m += one_minus_b1 * ((g + l2 * p) - *m);
        }
    })?;
    host::update(v, grad, param, |v, g, p| {
        for ((v, &g), &p) in v.iter_mut().zip(g).zip(p) {
            let g = g + l2 * p;
            *v = b2 * *v + one_minus_b2 * (g * g);
        }
    })?;
    let (shrink, step, c2, eps) = (
        k.shrink as f32,
        k.step_size as f32,
        k.correction2_sqrt as f32,
        config.eps as f32,
    );
    host::update(param, m, v, |p, m, v| {
        for ((p, &m), &v) in p.iter_mut().zip(m).zip(v) {
            *p = *p * shrink - step * (m / (v.sqrt() / c2 + eps));
        }
    })
}

/// One parameter's update with candle operations (other devices and types).
fn update_ops(
    config: &AdamConfig,
    slot: &mut Slot,
    grad: &Tensor,
    k: &Coefficients,
) -> candle_core::Result<()> {
    let (beta1, beta2) = config.betas;
    let param = slot.var.as_tensor();
    let grad = (grad + (param * k.l2)?)?;
    let m = (&slot.buffers[0] + ((&grad - &slot.buffers[0])? * (1.0 - beta1))?)?;
    let v = ((&slot.buffers[1] * beta2)? + (grad.sqr()? * (1.0 - beta2))?)?;
    let denom = ((v.sqrt()? / k.correction2_sqrt)? + config.eps)?;
    let update = ((&m / denom)? * k.step_size)?;
    slot.var.set(&((param * k.shrink)? - update)?)?;
    slot.buffers = vec![m, v];
    Ok(())
}

impl Optimizer for Adam {
    fn step(&mut self, grads: &GradStore, lr: f64) -> candle_core::Result<()> {
        let config = self.config;
        self.slots.update_each(grads, |slot, grad| {
            let coefficients = Coefficients::new(&config, slot, lr);
            if host::applies(slot.var.as_tensor()) {
                update_host(&config, slot, grad, &coefficients)
            } else {
                update_ops(&config, slot, grad, &coefficients)
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
