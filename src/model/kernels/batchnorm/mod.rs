//! Batch normalisation over channels-last data (`rows × C`, any leading shape) as candle
//! custom operations with a hand-written backward.
//!
//! Forward: `y = relu?((x − μ)·s·γ + β)`, `s = 1/√(σ² + ε)`, with the batch's mean and
//! biased variance (training) or given running statistics (evaluation).
//! Backward, with `g = dy·[y > 0]` under ReLU (else `dy`), `x̂ = (x − μ)·s`, and per channel
//! over `N` rows `S₁ = Σ g`, `S₂ = Σ g·x̂`: `dγ = S₂`, `dβ = S₁`, and
//! `dx = γs·(g − S₁/N − x̂·S₂/N)` with batch statistics, `dx = γs·g` with running ones
//! (which are constants, so they receive no gradient).

mod grad;

use std::mem::MaybeUninit;
use std::sync::Arc;

use candle_core::{CpuStorage, CustomOp1, CustomOp3, Layout, Result, Shape, Tensor, D};
pub(super) use grad::NormaliseGrad;

use super::cpu::{slice, uninit_vec};
use super::error::KernelError;
use super::rows;

/// Training mode on the CPU: returns `(y, batch mean, batch biased variance)`.
pub(super) fn batch_norm_train(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    eps: f64,
    relu: bool,
) -> Result<(Tensor, Tensor, Tensor)> {
    let op = "batch_norm_train";
    let x = x.contiguous()?;
    let channels = x.dim(D::Minus1)?;
    per_channel(op, "gamma", gamma, channels)?;
    per_channel(op, "beta", beta, channels)?;
    let stats = x.apply_op1_no_bwd(&BatchStats)?;
    let (mean, var) = (stats.get(0)?, stats.get(1)?);
    let norm = Normalise::new(mean.to_vec1()?, &var.to_vec1()?, eps, true, relu);
    let y = x.apply_op3_arc(
        &gamma.contiguous()?,
        &beta.contiguous()?,
        Arc::new(Box::new(norm)),
    )?;
    Ok((y, mean, var))
}

/// Evaluation mode on the CPU, with running `mean` and `var`.
#[allow(clippy::too_many_arguments)]
pub(super) fn batch_norm_eval(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    mean: &Tensor,
    var: &Tensor,
    eps: f64,
    relu: bool,
) -> Result<Tensor> {
    let op = "batch_norm_eval";
    let x = x.contiguous()?;
    let channels = x.dim(D::Minus1)?;
    for (name, t) in [
        ("gamma", gamma),
        ("beta", beta),
        ("mean", mean),
        ("var", var),
    ] {
        per_channel(op, name, t, channels)?;
    }
    let norm = Normalise::new(mean.to_vec1()?, &var.to_vec1()?, eps, false, relu);
    x.apply_op3_arc(
        &gamma.contiguous()?,
        &beta.contiguous()?,
        Arc::new(Box::new(norm)),
    )
}

/// Checks that `t` holds one value per channel.
pub(super) fn per_channel(
    op: &'static str,
    tensor: &'static str,
    t: &Tensor,
    channels: usize,
) -> Result<()> {
    if t.dims() == [channels] {
        return Ok(());
    }
    let found = t.dims().to_vec();
    Err(KernelError::PerChannel {
        op,
        tensor,
        channels,
        found,
    }
    .into())
}

/// The channel count and row count of a channels-last operand.
fn rows_channels(layout: &Layout) -> (usize, usize) {
    let channels = layout.dims().last().copied().unwrap_or(1);
    (layout.shape().elem_count() / channels.max(1), channels)
}

/// Per-channel batch mean and biased variance: `(2, C)`.
struct BatchStats;

impl CustomOp1 for BatchStats {
    fn name(&self) -> &'static str {
        "batch-norm-stats"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = slice(s, l, "batch_norm_train", "x")?;
        let (_, c) = rows_channels(l);
        let (mean, var) = rows::moments(x, c);
        Ok((CpuStorage::F32([mean, var].concat()), (2, c).into()))
    }
}

/// `y = relu?((x − μ)·s·γ + β)` over `(x, γ, β)`.
#[derive(Clone)]
pub(super) struct Normalise {
    mean: Vec<f32>,
    inv_std: Vec<f32>,
    batch_stats: bool,
    relu: bool,
}

impl Normalise {
    /// The normalisation by `mean` and `var` (the batch's when `batch_stats`).
    pub(super) fn new(
        mean: Vec<f32>,
        var: &[f32],
        eps: f64,
        batch_stats: bool,
        relu: bool,
    ) -> Self {
        let inv_std = var
            .iter()
            .map(|v| (1.0 / (f64::from(*v) + eps).sqrt()) as f32)
            .collect();
        Self {
            mean,
            inv_std,
            batch_stats,
            relu,
        }
    }

    /// `γ·s` per channel.
    fn scale(&self, gamma: &[f32]) -> Vec<f32> {
        gamma
            .iter()
            .zip(&self.inv_std)
            .map(|(g, s)| g * s)
            .collect()
    }

    /// The batch mean, one value per channel.
    pub(super) fn mean(&self) -> &[f32] {
        &self.mean
    }

    /// `relu?((x − μ)·s·γ + β)` for every row of the channels-last `x`.
    pub(super) fn apply(&self, x: &[f32], gamma: &[f32], beta: &[f32]) -> Result<Vec<f32>> {
        let op = "batch_norm";
        let c = self.mean.len();
        if gamma.len() != c || beta.len() != c || !x.len().is_multiple_of(c.max(1)) {
            candle_core::bail!("{op}: x, gamma or beta do not fit {c} channels");
        }
        let scale = self.scale(gamma);
        let (mean, scale, beta, relu) = (&self.mean[..c], &scale[..c], &beta[..c], self.relu);
        let normalise = |rs: std::ops::Range<usize>, out: &mut [MaybeUninit<f32>]| {
            let x = &x[rs.start * c..rs.end * c];
            for (out, x) in out.chunks_exact_mut(c).zip(x.chunks_exact(c)) {
                for ch in 0..c {
                    let y = (x[ch] - mean[ch]) * scale[ch] + beta[ch];
                    out[ch].write(if relu { y.max(0.0) } else { y });
                }
            }
        };
        // SAFETY: `rows::fill` hands every row to `normalise`, which writes all its values.
        unsafe {
            uninit_vec(x.len(), |y| {
                rows::fill(y, c, normalise);
                Ok(())
            })
        }
    }
}

impl CustomOp3 for Normalise {
    fn name(&self) -> &'static str {
        "batch-norm"
    }

    fn cpu_fwd(
        &self,
        xs: &CpuStorage,
        xl: &Layout,
        gs: &CpuStorage,
        gl: &Layout,
        bs: &CpuStorage,
        bl: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let op = "batch_norm";
        let (x, gamma, beta) = (
            slice(xs, xl, op, "x")?,
            slice(gs, gl, op, "gamma")?,
            slice(bs, bl, op, "beta")?,
        );
        let (_, c) = rows_channels(xl);
        if self.mean.len() != c {
            candle_core::bail!("{op}: the statistics do not have {c} values");
        }
        let y = self.apply(x, gamma, beta)?;
        Ok((CpuStorage::F32(y), xl.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        gamma: &Tensor,
        beta: &Tensor,
        _y: &Tensor,
        dy: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let grad = NormaliseGrad::new(self.clone(), &gamma.to_vec1::<f32>()?, beta.to_vec1()?);
        let packed = x.apply_op2_no_bwd(&dy.contiguous()?, &grad)?;
        let (n, c) = (x.elem_count(), x.dim(D::Minus1)?);
        let dx = packed.narrow(0, 0, n)?.reshape(x.shape())?;
        let dgamma = packed.narrow(0, n, c)?;
        let dbeta = packed.narrow(0, n + c, c)?;
        let keep = |t: &Tensor, g: Tensor| t.track_op().then_some(g);
        Ok((keep(x, dx), keep(gamma, dgamma), keep(beta, dbeta)))
    }
}
