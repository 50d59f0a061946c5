//! Convolution → batch norm with the batch's statistics → ReLU → optionally 2×2 max-pooling,
//! in training mode, as **one** candle operation.
//!
//! Its values and gradients are those of the separate kernels, bit for bit: it calls the
//! same slice-level code. What it saves is candle's bookkeeping. Backpropagating through
//! separate operations, candle allocates a zeroed gradient for every intermediate tensor
//! and adds the incoming gradient to it; for a small CNN's full-resolution intermediates
//! (the convolution's output `z` and the normalised `y`) those passes over tens of MB made
//! up about a tenth of a training step. Here `z` is kept inside the operation for its
//! backward, `y` is recomputed from it, and neither enters candle's graph.
//!
//! The forward's inputs are `(x, w, [γ | β])`; its backward returns `dx` (when `x` needs
//! one), `dw` and `[dγ | dβ]`.

use std::sync::{Arc, Mutex, PoisonError};

use candle_core::{CpuStorage, CustomOp2, CustomOp3, Device, Layout, Result, Shape, Tensor, D};

use super::batchnorm::{per_channel, Normalise, NormaliseGrad};
use super::cpu::{dims, slice, threads};
use super::im2col::Geometry;
use super::{conv, pool, rows};

/// The convolution's stride and padding, the normalisation's ε, and whether a pool follows.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BlockCfg {
    /// Convolution stride.
    pub stride: usize,
    /// Convolution zero padding.
    pub padding: usize,
    /// Added to the variance.
    pub eps: f64,
    /// Whether a 2×2 max-pool follows the ReLU.
    pub pool: bool,
}

/// `(output, batch mean, batch biased variance)` of the fused block on the CPU.
pub(super) fn conv_bn_relu_train(
    x: &Tensor,
    w: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    cfg: BlockCfg,
) -> Result<(Tensor, Tensor, Tensor)> {
    let channels = w.dim(0)?;
    per_channel("conv_bn_relu", "gamma", gamma, channels)?;
    per_channel("conv_bn_relu", "beta", beta, channels)?;
    let state = Arc::new(Mutex::new(None));
    let op = ConvBnRelu {
        cfg,
        state: Arc::clone(&state),
    };
    let affine = Tensor::cat(&[gamma, beta], 0)?;
    let out = x
        .contiguous()?
        .apply_op3_arc(&w.contiguous()?, &affine, Arc::new(Box::new(op)))?;
    let saved = saved(&state)?;
    let mean = Tensor::from_slice(saved.norm.mean(), channels, &Device::Cpu)?;
    let var = Tensor::from_slice(&saved.var, channels, &Device::Cpu)?;
    Ok((out, mean, var))
}

/// What the forward keeps for the backward (and for the caller's running statistics).
#[derive(Clone)]
struct Saved {
    /// The convolution's output, `(B, Ho, Wo, C)`.
    z: Tensor,
    /// The normalisation by the batch's statistics, with ReLU.
    norm: Normalise,
    /// The batch's biased variance per channel.
    var: Vec<f32>,
}

/// Filled by the forward, read by the backward and by [`conv_bn_relu_train`].
type State = Arc<Mutex<Option<Saved>>>;

/// The saved forward state, or an error when the forward has not run.
fn saved(state: &State) -> Result<Saved> {
    let guard = state.lock().unwrap_or_else(PoisonError::into_inner);
    guard
        .clone()
        .ok_or_else(|| candle_core::Error::Msg("conv_bn_relu: the forward did not run".into()))
}

/// The fused forward over `(x, w, [γ | β])`.
struct ConvBnRelu {
    cfg: BlockCfg,
    state: State,
}

impl CustomOp3 for ConvBnRelu {
    fn name(&self) -> &'static str {
        "conv-bn-relu-nhwc"
    }

    fn cpu_fwd(
        &self,
        xs: &CpuStorage,
        xl: &Layout,
        ws: &CpuStorage,
        wl: &Layout,
        affs: &CpuStorage,
        affl: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let op = "conv_bn_relu";
        let (x_dims, w_dims) = (dims(xl, op, "x")?, dims(wl, op, "w")?);
        let g = Geometry::new(op, x_dims, w_dims, self.cfg.stride, self.cfg.padding)?;
        let (x, w, affine) = (
            slice(xs, xl, op, "x")?,
            slice(ws, wl, op, "w")?,
            slice(affs, affl, op, "gamma and beta")?,
        );
        if affine.len() != 2 * g.cout {
            candle_core::bail!("{op}: gamma and beta must have {} values each", g.cout);
        }
        let z = conv::forward(&g, x, w, threads())?;
        let (mean, var) = rows::moments(&z, g.cout);
        let norm = Normalise::new(mean, &var, self.cfg.eps, true, true);
        let (gamma, beta) = affine.split_at(g.cout);
        let y = norm.apply(&z, gamma, beta)?;
        let z_dims = [g.batch, g.ho, g.wo, g.cout];
        let (out, out_dims) = match self.cfg.pool {
            true => (
                pool::forward(&y, z_dims)?,
                [g.batch, g.ho / 2, g.wo / 2, g.cout],
            ),
            false => (y, z_dims),
        };
        let z = Tensor::from_vec(z, &z_dims[..], &Device::Cpu)?;
        let saved = Saved { z, norm, var };
        *self.state.lock().unwrap_or_else(PoisonError::into_inner) = Some(saved);
        Ok((CpuStorage::F32(out), Shape::from(&out_dims[..])))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        affine: &Tensor,
        _out: &Tensor,
        d_out: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let Saved { z, norm, .. } = saved(&self.state)?;
        let c = z.dim(D::Minus1)?;
        let values = affine.to_vec1::<f32>()?;
        let (gamma, beta) = values.split_at(c);
        let grad = NormReluPoolGrad {
            grad: NormaliseGrad::new(norm.clone(), gamma, beta.to_vec()),
            norm,
            affine: values.clone(),
            pool: self.cfg.pool,
        };
        let packed = z.apply_op2_no_bwd(&d_out.contiguous()?, &grad)?;
        let n = z.elem_count();
        let dz = packed.narrow(0, 0, n)?.reshape(z.shape())?;
        let d_affine = packed.narrow(0, n, 2 * c)?;
        let (_, height, width, _) = x.dims4()?;
        let (_, kh, kw, _) = w.dims4()?;
        let (s, p) = (self.cfg.stride, self.cfg.padding);
        let dx = match x.track_op() {
            true => Some(conv::input_grad(&dz, w, s, p, (height, width))?),
            false => None,
        };
        let dw = match w.track_op() {
            true => Some(conv::weight_grad(x, &dz, s, p, (kh, kw))?),
            false => None,
        };
        Ok((dx, dw, affine.track_op().then_some(d_affine)))
    }
}

/// The backward of pooling (when on), ReLU and normalisation over `(z, d_out)`:
/// `[dz | dγ | dβ]`.
struct NormReluPoolGrad {
    grad: NormaliseGrad,
    norm: Normalise,
    /// `[γ | β]`.
    affine: Vec<f32>,
    pool: bool,
}

impl CustomOp2 for NormReluPoolGrad {
    fn name(&self) -> &'static str {
        "conv-bn-relu-nhwc-grad"
    }

    fn cpu_fwd(
        &self,
        zs: &CpuStorage,
        zl: &Layout,
        ds: &CpuStorage,
        dl: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let op = "conv_bn_relu backward";
        let z_dims: [usize; 4] = dims(zl, op, "z")?;
        let (z, d_out) = (slice(zs, zl, op, "z")?, slice(ds, dl, op, "d_out")?);
        let c = z_dims[3];
        let packed = if self.pool {
            let (gamma, beta) = self.affine.split_at(c);
            let y = self.norm.apply(z, gamma, beta)?;
            let dy = pool::backward(&y, d_out, z_dims)?;
            self.grad.packed(z, &dy, c)?
        } else {
            self.grad.packed(z, d_out, c)?
        };
        let len = packed.len();
        Ok((CpuStorage::F32(packed), len.into()))
    }
}
