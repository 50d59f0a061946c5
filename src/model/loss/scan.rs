//! SCAN's clustering loss on one head's probabilities `p` `(V·B, C)`, view-major: rows
//! `0..B` are the anchors, rows `v·B..(v+1)·B` (`v ≥ 1`) a neighbour of each anchor. With
//! `s_bv = ⟨p_a(b), p_v(b)⟩` the similarity of anchor `b` and its `v`-th neighbour view and
//! `p̄ = mean_b p_a(b)` the batch-mean anchor prediction, `H(p̄) = −Σ_c p̄_c log p̄_c`:
//!
//! ```text
//! Scan:   consistency = mean_bv −log max(s_bv, ε)        total = consistency − w·H(p̄)
//! Keras:  consistency = mean_bv log(1 + exp(−s_bv))      total = consistency + (log C − H(p̄))
//! ```
//!
//! `Scan` is the paper's loss (SCAN's `SCANLoss`: BCE of the similarity against 1, entropy
//! of the clamped mean with weight `w`). `Keras` is the Keras "Semantic Image Clustering"
//! example's `ClustersConsistencyLoss` + `ClustersEntropyLoss`, reproduced as written with
//! its two defects, each documented at [`keras_consistency`] and [`keras_entropy_term`].

use candle_core::{bail, Result, Tensor};
use serde::{Deserialize, Serialize};

/// Lower clamp of the similarity under `−log` and of `p̄` under `log`: SCAN's `EPS`
/// (1e-8, as its entropy uses). torch's `BCELoss`, which SCAN's consistency uses, clamps
/// the log at −100 instead; both only act when a pair's predictions are disjoint, where
/// they keep the loss finite (and its gradient zero) rather than infinite.
pub const EPS: f64 = 1e-8;

/// Which clustering loss, as written in RON: `Scan` or `Keras`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ScanLossKind {
    /// The paper's loss (default).
    #[default]
    Scan,
    /// The Keras example's loss, as written (weak consistency gradient, unweighted entropy).
    Keras,
}

/// The parts of one head's loss, each a scalar tensor.
#[derive(Clone, Debug)]
pub struct ScanLoss {
    /// The consistency term (mean over anchor–neighbour pairs).
    pub consistency: Tensor,
    /// `H(p̄)`, the entropy of the batch-mean anchor prediction (logged as is; how it
    /// enters the total depends on the variant).
    pub entropy: Tensor,
    /// What is minimised.
    pub total: Tensor,
}

impl ScanLossKind {
    /// The loss of probabilities `p` `(views·B, C)` (view 0 anchors) with entropy weight
    /// `weight` (unused by `Keras`, as in the example).
    pub fn compute(&self, p: &Tensor, views: usize, weight: f64) -> Result<ScanLoss> {
        let s = similarities(p, views)?;
        let anchors = p.narrow(0, 0, p.dim(0)? / views)?;
        let entropy = mean_entropy(&anchors)?;
        let (consistency, total) = match self {
            ScanLossKind::Scan => {
                let consistency = s.maximum(EPS)?.log()?.neg()?.mean_all()?;
                let total = (&consistency - (&entropy * weight)?)?;
                (consistency, total)
            }
            ScanLossKind::Keras => {
                let consistency = keras_consistency(&s)?;
                let total = (&consistency + keras_entropy_term(&entropy, p.dim(1)?)?)?;
                (consistency, total)
            }
        };
        Ok(ScanLoss {
            consistency,
            entropy,
            total,
        })
    }
}

/// `s` `((V−1)·B)`: each neighbour view's dot product with its anchor, view-major.
pub fn similarities(p: &Tensor, views: usize) -> Result<Tensor> {
    let rows = p.dim(0)?;
    if views < 2 || rows == 0 || rows % views != 0 {
        bail!("SCAN loss: {rows} rows are not {views} ≥ 2 views of a non-empty batch");
    }
    let batch = rows / views;
    let anchors = p.narrow(0, 0, batch)?.repeat((views - 1, 1))?;
    let neighbours = p.narrow(0, batch, rows - batch)?;
    (anchors * neighbours)?.sum(1)
}

/// `H(p̄) = −Σ_c q_c log q_c` with `q = max(mean_b p_b, ε)` (SCAN's `entropy` clamps at
/// `EPS`; the Keras example clips to `[1e-8, 1]`, the same here since `p̄ ≤ 1`).
pub fn mean_entropy(anchors: &Tensor) -> Result<Tensor> {
    let q = anchors.mean(0)?.maximum(EPS)?;
    (&q * q.log()?)?.sum_all()?.neg()
}

/// The example's `ClustersConsistencyLoss`: `binary_crossentropy(ones, s, from_logits=True)`
/// = `mean log(1 + exp(−s))`.
///
/// Defect: `s` is a dot product of probabilities, in `[0, 1]`, yet it is fed as a logit, so
/// the loss only moves between `log(1 + e⁻¹)` ≈ 0.313 and `log 2` ≈ 0.693 and its gradient
/// `−1/(1 + eˢ)` stays within `[−0.5, −0.27]`: agreeing with a neighbour is barely
/// rewarded. Fix (one line in the example): `from_logits=False`, i.e. `mean −log s` — the
/// `Scan` consistency.
pub fn keras_consistency(s: &Tensor) -> Result<Tensor> {
    (s.neg()?.exp()? + 1.0)?.log()?.mean_all()
}

/// The example's `ClustersEntropyLoss` term: `log C − H(p̄)`.
///
/// Defect: the example builds it with `entropy_loss_weight=5` but `__call__` never uses
/// the weight, so the term enters with weight 1. Fix (one line): return
/// `self.entropy_loss_weight * (target - entropy)`.
pub fn keras_entropy_term(entropy: &Tensor, clusters: usize) -> Result<Tensor> {
    entropy.neg()? + (clusters as f64).ln()
}

#[cfg(test)]
mod tests;
