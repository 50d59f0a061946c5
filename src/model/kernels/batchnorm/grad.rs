//! The backward of batch normalisation over `(x, dy)` in two row passes: the per-channel
//! sums `S₁ = Σ g`, `S₂ = Σ g·x̂`, then `dx = a·g + b·x̂ + k` with `a = γs` and, under batch
//! statistics, `b = −a·S₂/N`, `k = −a·S₁/N` (else 0). `g` is `dy` masked where the forward's
//! ReLU cut: the pre-activation `(x − μ)·a + β` is recomputed exactly as the forward did, so
//! the output `y` need not be read. Output: one flat tensor `[dx; dγ = S₂; dβ = S₁]`.

use std::mem::MaybeUninit;

use candle_core::{CpuStorage, CustomOp2, Layout, Result, Shape};

use super::super::cpu::{slice, uninit_vec};
use super::super::rows;
use super::{rows_channels, Normalise};

/// The backward operation of [`Normalise`].
pub(in crate::model::kernels) struct NormaliseGrad {
    norm: Normalise,
    /// `γ·s` per channel.
    scale: Vec<f32>,
    beta: Vec<f32>,
}

impl NormaliseGrad {
    /// The backward of `norm` with the forward's `γ` and `β` values.
    pub(in crate::model::kernels) fn new(norm: Normalise, gamma: &[f32], beta: Vec<f32>) -> Self {
        let scale = norm.scale(gamma);
        Self { norm, scale, beta }
    }

    /// `[dx | dγ | dβ]` of channels-last `x` (`c` channels) and its output gradient `dy`.
    pub(in crate::model::kernels) fn packed(
        &self,
        x: &[f32],
        dy: &[f32],
        c: usize,
    ) -> Result<Vec<f32>> {
        let op = "batch_norm backward";
        let n = x.len() / c.max(1);
        let per_channel = [self.scale.len(), self.beta.len(), self.norm.mean.len()];
        if dy.len() != x.len() || per_channel.iter().any(|&len| len != c) {
            candle_core::bail!("{op}: x, dy and the {c} channels disagree in size");
        }
        let sums = self.sums(n, c, x, dy);
        let (s1, s2) = sums.split_at(c);
        // SAFETY: `input_grad` writes all of `dx`; the loop writes the 2·C sums after it.
        unsafe {
            uninit_vec(x.len() + 2 * c, |out| {
                let (dx, tail) = out.split_at_mut(x.len());
                self.input_grad(n, c, &sums, (x, dy), dx);
                for (t, s) in tail.iter_mut().zip(s2.iter().chain(s1)) {
                    t.write(*s as f32);
                }
                Ok(())
            })
        }
    }
}

impl CustomOp2 for NormaliseGrad {
    fn name(&self) -> &'static str {
        "batch-norm-grad"
    }

    fn cpu_fwd(
        &self,
        xs: &CpuStorage,
        xl: &Layout,
        ds: &CpuStorage,
        dl: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let op = "batch_norm backward";
        let (x, dy) = (slice(xs, xl, op, "x")?, slice(ds, dl, op, "dy")?);
        let (_, c) = rows_channels(xl);
        let out = self.packed(x, dy, c)?;
        Ok((CpuStorage::F32(out), (x.len() + 2 * c).into()))
    }
}

impl NormaliseGrad {
    /// `[S₁; S₂]` per channel.
    fn sums(&self, n: usize, c: usize, x: &[f32], dy: &[f32]) -> Vec<f64> {
        let (mean, inv_std) = (&self.norm.mean[..c], &self.norm.inv_std[..c]);
        let (a, beta, relu) = (&self.scale[..c], &self.beta[..c], self.norm.relu);
        rows::sums(n, c, 2 * c, |rs, acc| {
            let (s1, s2) = acc.split_at_mut(c);
            for r in rs {
                let (x, dy) = (&x[r * c..][..c], &dy[r * c..][..c]);
                for ch in 0..c {
                    let centred = x[ch] - mean[ch];
                    let g = mask(relu, centred * a[ch] + beta[ch], dy[ch]);
                    s1[ch] += g;
                    s2[ch] += g * (centred * inv_std[ch]);
                }
            }
        })
    }

    /// `dx = a·g + b·x̂ + k` per channel, the coefficients from the sums.
    fn input_grad(
        &self,
        n: usize,
        c: usize,
        sums: &[f64],
        (x, dy): (&[f32], &[f32]),
        dx: &mut [MaybeUninit<f32>],
    ) {
        let (mean, inv_std) = (&self.norm.mean[..c], &self.norm.inv_std[..c]);
        let (a, beta, relu) = (&self.scale[..c], &self.beta[..c], self.norm.relu);
        let centred_term = |s: f64, a: f32| match self.norm.batch_stats {
            true => -(f64::from(a) * s / n as f64) as f32,
            false => 0.0,
        };
        let b: Vec<f32> = (0..c).map(|ch| centred_term(sums[c + ch], a[ch])).collect();
        let k: Vec<f32> = (0..c).map(|ch| centred_term(sums[ch], a[ch])).collect();
        let (b, k) = (&b[..c], &k[..c]);
        rows::fill(dx, c, |rs, out| {
            for (out, r) in out.chunks_exact_mut(c).zip(rs) {
                let (x, dy) = (&x[r * c..][..c], &dy[r * c..][..c]);
                for ch in 0..c {
                    let centred = x[ch] - mean[ch];
                    let g = mask(relu, centred * a[ch] + beta[ch], dy[ch]);
                    out[ch].write(a[ch] * g + b[ch] * (centred * inv_std[ch]) + k[ch]);
                }
            }
        });
    }
}

/// The gradient reaching the normalised value: `dy`, or 0 where ReLU cut the
/// pre-activation `pre` to 0.
fn mask(relu: bool, pre: f32, dy: f32) -> f32 {
    if relu && pre <= 0.0 {
        0.0
    } else {
        dy
    }
}
