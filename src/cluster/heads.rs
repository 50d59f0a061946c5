//! SCAN's cluster heads on fixed features, forward and backward by hand: `H` linear heads
//! `D → C` stored as one `(H·C)×D` weight `W` and `H·C` bias `b`; for a batch `X` of `2B`
//! rows (rows `0..B` anchors, `B..2B` one neighbour of each) the logits are `Z = X·Wᵀ + b`
//! (one GEMM for every head), `P` the softmax of each head's `C` columns, and each head's
//! loss is [`ScanLossKind`]'s (`Scan`: `mean_b −log max(s_b, ε) − w·H(p̄)`; `Keras`:
//! `mean_b log(1 + e^{−s_b}) + log C − H(p̄)`), `s_b = ⟨p_a(b), p_n(b)⟩`, `p̄ = mean_b p_a(b)`.
//!
//! Backward, per head, with `g_b = ∂consistency/∂s_b` (`Scan`: `−1/(B·s_b)` where
//! `s_b > ε`, else 0; `Keras`: `−1/(B·(1 + e^{s_b}))`) and `e_c = ∂total/∂p̄_c`
//! (`Scan`: `w·(log q_c + 1)`, `Keras`: `log q_c + 1`, `q = max(p̄, ε)`, 0 where `p̄_c < ε`):
//!
//! ```text
//! ∂L/∂p_a(b) = g_b·p_n(b) + e/B      ∂L/∂p_n(b) = g_b·p_a(b)
//! ∂L/∂z = p ⊙ (∂L/∂p − ⟨∂L/∂p, p⟩)    ∂L/∂W = (∂L/∂Z)ᵀ·X    ∂L/∂b = Σ_rows ∂L/∂Z
//! ```
//!
//! The losses of the heads are summed (they share no parameter). The same maths through
//! candle's autograd is the reference of the tests.

mod mlp;

pub use mlp::{MlpShape, MlpWeights};

use crate::knn::tile::inner_products;
use crate::linalg::{flushed, matmul, Mat};
use crate::model::loss::scan::{ScanLossKind, EPS};

/// The sizes of a set of heads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeadShape {
    /// Heads `H`.
    pub heads: usize,
    /// Clusters per head `C`.
    pub clusters: usize,
    /// Feature length `D`.
    pub dim: usize,
}

/// One head's loss over a batch.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct HeadLoss {
    /// The consistency term.
    pub consistency: f64,
    /// `H(p̄)`, the entropy of the mean anchor prediction.
    pub entropy: f64,
    /// What is minimised.
    pub total: f64,
}

/// The gradients of one step and the losses they came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// `∂L/∂W`, `(H·C)×D`.
    pub weight: Vec<f32>,
    /// `∂L/∂b`, `H·C`.
    pub bias: Vec<f32>,
    /// Each head's loss.
    pub losses: Vec<HeadLoss>,
}

impl HeadShape {
    /// Logit columns `H·C`.
    pub fn columns(&self) -> usize {
        self.heads * self.clusters
    }

    /// Each row's probabilities under every head, `rows × (H·C)`, head-major columns.
    pub fn probabilities(&self, weight: &[f32], bias: &[f32], x: &[f32]) -> Vec<f32> {
        let mut z = self.logits(weight, bias, x);
        z.chunks_exact_mut(self.clusters).for_each(softmax);
        z
    }

    /// Each row's logits under every head, `rows × (H·C)`, head-major columns.
    pub fn logits(&self, weight: &[f32], bias: &[f32], x: &[f32]) -> Vec<f32> {
        let columns = self.columns();
        let mut z = vec![0f32; x.len() / self.dim * columns];
        inner_products(x, weight, self.dim, &mut z);
        for row in z.chunks_exact_mut(columns) {
            row.iter_mut().zip(bias).for_each(|(v, b)| *v += b);
        }
        z
    }

    /// The loss of the `2B` rows `x` (anchors, then their neighbours) and its gradients.
    pub fn step(
        &self,
        weight: &[f32],
        bias: &[f32],
        x: &[f32],
        loss: ScanLossKind,
        w: f64,
    ) -> Step {
        let p = self.probabilities(weight, bias, x);
        let (columns, batch) = (self.columns(), x.len() / self.dim / 2);
        let mut dz = vec![0f32; p.len()];
        let losses = (0..self.heads)
            .map(|h| self.head_backward(&p, &mut dz, h, batch, loss, w))
            .collect();
        let mut grad_weight = vec![0f32; weight.len()];
        transposed_product(&dz, x, columns, self.dim, &mut grad_weight);
        let mut grad_bias = vec![0f32; columns];
        for row in dz.chunks_exact(columns) {
            grad_bias.iter_mut().zip(row).for_each(|(g, d)| *g += d);
        }
        Step {
            weight: grad_weight,
            bias: grad_bias,
            losses,
        }
    }

    /// Head `h`'s loss; writes its columns of `∂L/∂Z` into `dz`.
    fn head_backward(
        &self,
        p: &[f32],
        dz: &mut [f32],
        h: usize,
        batch: usize,
        loss: ScanLossKind,
        w: f64,
    ) -> HeadLoss {
        let (c, columns) = (self.clusters, self.columns());
        let at = |row: usize| row * columns + h * c..row * columns + (h + 1) * c;
        let mut mean = vec![0f64; c];
        let mut consistency = 0.0;
        let mut g = vec![0f64; batch];
        for b in 0..batch {
            let (pa, pn) = (&p[at(b)], &p[at(batch + b)]);
            pa.iter()
                .zip(&mut mean)
                .for_each(|(v, m)| *m += f64::from(*v) / batch as f64);
            let s: f64 = pa.iter().zip(pn).map(|(a, n)| f64::from(a * n)).sum();
            let (value, slope) = consistency_term(loss, s);
            consistency += value / batch as f64;
            g[b] = slope / batch as f64;
        }
        let entropy: f64 = -mean
            .iter()
            .map(|&m| m.max(EPS) * m.max(EPS).ln())
            .sum::<f64>();
        let scale = if loss == ScanLossKind::Scan { w } else { 1.0 };
        let e: Vec<f64> = mean
            .iter()
            .map(|&m| {
                if m < EPS {
                    0.0
                } else {
                    scale * (m.ln() + 1.0) / batch as f64
                }
            })
            .collect();
        for b in 0..batch {
            let (pa, pn) = (&p[at(b)], &p[at(batch + b)]);
            let ga: Vec<f64> = (0..c).map(|k| g[b] * f64::from(pn[k]) + e[k]).collect();
            let gn: Vec<f64> = pa.iter().map(|&v| g[b] * f64::from(v)).collect();
            softmax_backward(pa, &ga, &mut dz[at(b)]);
            softmax_backward(pn, &gn, &mut dz[at(batch + b)]);
        }
        let total = match loss {
            ScanLossKind::Scan => consistency - w * entropy,
            ScanLossKind::Keras => consistency + (c as f64).ln() - entropy,
        };
        HeadLoss {
            consistency,
            entropy,
            total,
        }
    }
}

/// One pair's consistency term and its derivative in the similarity `s`.
fn consistency_term(loss: ScanLossKind, s: f64) -> (f64, f64) {
    match loss {
        ScanLossKind::Scan if s > EPS => (-s.ln(), -1.0 / s),
        ScanLossKind::Scan => (-EPS.ln(), 0.0),
        ScanLossKind::Keras => ((-s).exp().ln_1p(), -1.0 / (1.0 + s.exp())),
    }
}

/// In-place softmax of one head's logits.
fn softmax(row: &mut [f32]) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    row.iter_mut().for_each(|v| *v = (*v - max).exp());
    let total: f32 = row.iter().sum();
    row.iter_mut().for_each(|v| *v = flushed(*v / total));
}

/// `out = p ⊙ (g − ⟨g, p⟩)`: the gradient through a softmax.
fn softmax_backward(p: &[f32], g: &[f64], out: &mut [f32]) {
    let dot: f64 = p.iter().zip(g).map(|(&p, &g)| f64::from(p) * g).sum();
    for ((o, &p), &g) in out.iter_mut().zip(p).zip(g) {
        *o = flushed((f64::from(p) * (g - dot)) as f32);
    }
}

/// `out` (m×n) = `a`ᵀ·`b` for row-major `a` (rows×m) and `b` (rows×n).
fn transposed_product(a: &[f32], b: &[f32], m: usize, n: usize, out: &mut [f32]) {
    let rows = a.len() / m;
    let (a, b) = ((a, Mat::rows(rows, m).t()), (b, Mat::rows(rows, n)));
    if let Err(error) = matmul((out, Mat::rows(m, n)), a, b, false, 1) {
        panic!("transposed product: {error}");
    }
}

#[cfg(test)]
mod tests;
