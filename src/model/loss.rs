//! Contrastive losses on a batch of projected features `z` of shape `(V·B, D)`, view-major:
//! rows `[v·B, (v+1)·B)` hold view `v` of the `B` images, so rows `i` and `j` are views of
//! the same image exactly when `i mod B == j mod B`.
//!
//! * [`nt_xent`] — SimCLR's normalised-temperature cross-entropy (the default).
//! * [`keras_contrastive`] — the Keras "Semantic Image Clustering" example's loss, reproduced
//!   as written, quirks included, so that recipe can be compared like for like.
//!
//! SCAN's clustering losses live in [`scan`], its self-labelling loss in [`self_label`].

pub mod scan;
pub mod self_label;

use candle_core::{bail, DType, Result, Tensor, D};
use serde::{Deserialize, Serialize};

/// Replaces a logit to remove it from a softmax (the self-similarity in NT-Xent).
const MASKED_LOGIT: f64 = -1e9;

/// Lower bound on a row's norm when normalising for NT-Xent (as `torch.nn.functional.normalize`).
const TORCH_NORM_EPS: f64 = 1e-12;

/// Lower bound on a row's norm in `keras.utils.normalize` (`keras.ops.normalize`:
/// `x / max(‖x‖, backend.epsilon())`, epsilon 1e-7).
const KERAS_NORM_EPS: f64 = 1e-7;

/// Which contrastive loss a training operator uses, as written in RON: `NtXent` or
/// `Keras(l2_normalize: true)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum LossKind {
    /// [`nt_xent`], the default.
    #[default]
    NtXent,
    /// [`keras_contrastive`].
    Keras {
        /// L2-normalise the features first (the example's `l2_normalize`; default `true`).
        #[serde(default = "default_l2_normalize")]
        l2_normalize: bool,
    },
}

fn default_l2_normalize() -> bool {
    true
}

impl LossKind {
    /// The loss of features `z` (`(V·B, D)`, view-major) at `temperature`: a scalar tensor.
    pub fn compute(&self, z: &Tensor, views: usize, temperature: f64) -> Result<Tensor> {
        match *self {
            LossKind::NtXent => nt_xent(z, views, temperature),
            LossKind::Keras { l2_normalize } => {
                keras_contrastive(z, views, temperature, l2_normalize)
            }
        }
    }
}

/// NT-Xent (SimCLR). With `ẑ` the rows of `z` scaled to unit length and
/// `s_ij = ẑ_i·ẑ_j / T`, row `i` has positives `P(i)` = the other `V−1` views of its image and
///
/// ```text
/// ℓ_i = log Σ_{j≠i} exp(s_ij) − (1/(V−1)) Σ_{p∈P(i)} s_ip,      loss = mean_i ℓ_i
/// ```
///
/// For `V = 2` this is exactly SimCLR's loss (one positive, the other `2B−2` rows as
/// negatives). For `V > 2` it averages the cross-entropies of the `V−1` positives, each
/// against the same denominator (SupCon's "L_out" with the views as the only positives).
/// The self-similarity is masked with a large negative logit; the log-sum-exp subtracts
/// each row's (detached) maximum.
pub fn nt_xent(z: &Tensor, views: usize, temperature: f64) -> Result<Tensor> {
    let (rows, batch) = view_layout(z, views, temperature)?;
    let unit = l2_normalize(z, TORCH_NORM_EPS)?;
    let sim = (unit.matmul(&unit.t()?)? / temperature)?;
    let logits = mask_diagonal(&sim)?;
    let eye = Tensor::eye(rows, z.dtype(), z.device())?;
    let same_image = Tensor::eye(batch, z.dtype(), z.device())?.repeat((views, views))?;
    let positives = ((same_image - eye)? / (views - 1) as f64)?;
    let positive_logit = (sim * positives)?.sum(1)?;
    (log_sum_exp_rows(&logits)? - positive_logit)?.mean_all()
}

/// The Keras example's `compute_contrastive_loss`, as written:
///
/// ```text
/// f = l2_normalize ? f / max(‖f‖, 1e-7) : f          (keras.utils.normalize, per row)
/// L = f fᵀ / T                                         (no self-similarity mask)
/// m_j = max_k L_jk                                     (row maxima)
/// L'_ij = L_ij − m_j                                   (broadcast along the LAST axis)
/// t_ij = [i mod B == j mod B]                          (tile(eye(B), [V, V]), self included)
/// ℓ_i = −Σ_j t_ij · log_softmax(L'_i)_j,    loss = mean_i ℓ_i
/// ```
///
/// Note the quirk kept on purpose: `logits - logits_max` subtracts the maximum of row `j`
/// from column `j`, which is not a per-row constant and so changes the softmax (the
/// intended "log-max trick" would subtract `m_i` from row `i`). The gradient flows through
/// the maximum as TensorFlow's does (shared equally among tied maxima). The targets count
/// each row's own similarity as a positive. Keras averages `ℓ_i` over rows for the reported
/// loss; the example's `GradientTape` differentiates the unreduced vector, i.e. the sum,
/// which is `V·B` times this gradient — immaterial under Adam(W) apart from `eps`.
pub fn keras_contrastive(
    z: &Tensor,
    views: usize,
    temperature: f64,
    l2_normalize: bool,
) -> Result<Tensor> {
    let (_, batch) = view_layout(z, views, temperature)?;
    let features = if l2_normalize {
        self::l2_normalize(z, KERAS_NORM_EPS)?
    } else {
        z.clone()
    };
    let logits = (features.matmul(&features.t()?)? / temperature)?;
    let row_max = max_rows_tf_gradient(&logits)?;
    let shifted = logits.broadcast_sub(&row_max.unsqueeze(0)?)?;
    let targets = Tensor::eye(batch, z.dtype(), z.device())?.repeat((views, views))?;
    let log_probs = candle_nn::ops::log_softmax(&shifted, D::Minus1)?;
    (targets * log_probs)?.sum(1)?.neg()?.mean_all()
}

/// Checks `z` is `(V·B, D)` with `V ≥ 2` views of `B ≥ 1` images and `T > 0`; returns `(V·B, B)`.
fn view_layout(z: &Tensor, views: usize, temperature: f64) -> Result<(usize, usize)> {
    let (rows, _) = z.dims2()?;
    if views < 2 || rows == 0 || rows % views != 0 {
        bail!("contrastive loss: {rows} feature rows cannot be split into {views} views (need 2 or more views of at least one image)");
    }
    if !(temperature.is_finite() && temperature > 0.0) {
        bail!("contrastive loss: temperature must be a positive number, got {temperature}");
    }
    Ok((rows, rows / views))
}

/// `x` with its diagonal replaced by [`MASKED_LOGIT`] (a select, so no `0·∞` in half precision).
fn mask_diagonal(x: &Tensor) -> Result<Tensor> {
    let rows = x.dim(0)?;
    let diagonal = Tensor::eye(rows, DType::U8, x.device())?;
    let masked = Tensor::new(MASKED_LOGIT, x.device())?
        .to_dtype(x.dtype())?
        .broadcast_as((rows, rows))?;
    diagonal.where_cond(&masked, x)
}

/// Each row divided by `max(‖row‖, eps)`.
fn l2_normalize(z: &Tensor, eps: f64) -> Result<Tensor> {
    let norm = z.sqr()?.sum_keepdim(1)?.sqrt()?.maximum(eps)?;
    z.broadcast_div(&norm)
}

/// `log Σ_j exp(x_ij)` per row, computed as `m_i + log Σ_j exp(x_ij − m_i)` with `m_i` the
/// detached row maximum (the maximum's gradient cancels exactly, so it is not traced).
fn log_sum_exp_rows(x: &Tensor) -> Result<Tensor> {
    let max = x.max_keepdim(1)?.detach();
    let sum = x.broadcast_sub(&max)?.exp()?.sum(1)?;
    sum.log()? + max.squeeze(1)?
}

/// Row maxima whose value is exact and whose gradient is TensorFlow's `reduce_max` gradient:
/// split equally among the entries equal to the maximum. Built as
/// `m + Σ_j w_ij (x_ij − detach(x_ij))` with detached weights `w = [x = m] / count`.
fn max_rows_tf_gradient(x: &Tensor) -> Result<Tensor> {
    let max = x.max_keepdim(1)?.detach();
    let is_max = x.detach().broadcast_eq(&max)?.to_dtype(x.dtype())?;
    let weights = is_max.broadcast_div(&is_max.sum_keepdim(1)?)?;
    let zero_with_gradient = ((x - x.detach())? * weights)?.sum(1)?;
    max.squeeze(1)? + zero_with_gradient
}

#[cfg(test)]
mod tests;
