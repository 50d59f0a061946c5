//! Cluster heads with a hidden layer, forward and backward by hand: head `h` is
//! `Linear(D, K) → ReLU → Linear(K, C)`, SCAN's linear head with room to bend the
//! boundaries of features that a frozen encoder cannot move. All heads' hidden layers are
//! one `(H·K)×D` weight `W₁` (head `h` in rows `h·K..(h+1)·K`) and bias `b₁`, their output
//! layers one `(H·C)×K` weight `W₂` (head `h` in rows `h·C..(h+1)·C`) and bias `b₂`:
//!
//! ```text
//! Z₁ = X·W₁ᵀ + b₁ (one GEMM)    R = max(Z₁, 0)    Z₂[h] = R[h]·W₂[h]ᵀ + b₂[h]
//! ∂L/∂W₂[h] = ∂L/∂Z₂[h]ᵀ·R[h]    ∂L/∂R[h] = ∂L/∂Z₂[h]·W₂[h]    ∂L/∂Z₁ = ∂L/∂R ⊙ [Z₁ > 0]
//! ∂L/∂W₁ = ∂L/∂Z₁ᵀ·X            ∂L/∂b = Σ_rows ∂L/∂Z
//! ```
//!
//! with `∂L/∂Z₂` from the linear heads' loss ([`HeadShape`]'s, on the softmax of each
//! head's `C` columns). The tests check it against candle's autograd.

use super::{softmax, HeadLoss, HeadShape};
use crate::linalg::{matmul, Mat};
use crate::model::loss::scan::ScanLossKind;

/// The sizes of a set of heads with a hidden layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MlpShape {
    /// Heads `H`.
    pub heads: usize,
    /// Clusters per head `C`.
    pub clusters: usize,
    /// Feature length `D`.
    pub dim: usize,
    /// Hidden units per head `K`.
    pub hidden: usize,
}

/// `W₁`, `b₁`, `W₂`, `b₂` (see the module docs), as flat row-major values.
pub type MlpWeights<'a> = [&'a [f32]; 4];

impl MlpShape {
    /// The lengths of `W₁`, `b₁`, `W₂`, `b₂`.
    pub fn sizes(&self) -> [usize; 4] {
        let (hk, hc) = (self.heads * self.hidden, self.heads * self.clusters);
        [hk * self.dim, hk, hc * self.hidden, hc]
    }

    /// The output layers seen as linear heads on `K` features.
    fn outputs(&self) -> HeadShape {
        HeadShape {
            heads: self.heads,
            clusters: self.clusters,
            dim: self.hidden,
        }
    }

    /// Each row's probabilities under every head, `rows × (H·C)`, head-major columns.
    pub fn probabilities(&self, w: MlpWeights, x: &[f32]) -> Vec<f32> {
        let mut z = self.logits(w, x);
        z.chunks_exact_mut(self.clusters).for_each(softmax);
        z
    }

    /// Each row's logits under every head, `rows × (H·C)`, head-major columns.
    pub fn logits(&self, w: MlpWeights, x: &[f32]) -> Vec<f32> {
        let mut hidden = self.hidden_layer(w, x);
        hidden.iter_mut().for_each(|v| *v = v.max(0.0));
        self.outputs_of(w, &hidden)
    }

    /// The loss of the `2B` rows `x` (anchors, then their neighbours) and the gradients of
    /// `W₁`, `b₁`, `W₂`, `b₂`.
    pub fn step(
        &self,
        w: MlpWeights,
        x: &[f32],
        loss: ScanLossKind,
        entropy_weight: f64,
    ) -> ([Vec<f32>; 4], Vec<HeadLoss>) {
        let rows = x.len() / self.dim;
        let pre = self.hidden_layer(w, x);
        let hidden: Vec<f32> = pre.iter().map(|v| v.max(0.0)).collect();
        let mut p = self.outputs_of(w, &hidden);
        p.chunks_exact_mut(self.clusters).for_each(softmax);
        let outputs = self.outputs();
        let mut dz = vec![0f32; p.len()];
        let losses = (0..self.heads)
            .map(|h| outputs.head_backward(&p, &mut dz, h, rows / 2, loss, entropy_weight))
            .collect();
        let (grad_w2, mut dr) = self.output_backward(w, &hidden, &dz);
        dr.iter_mut()
            .zip(&pre)
            .for_each(|(g, &z)| *g = if z > 0.0 { *g } else { 0.0 });
        let hk = self.heads * self.hidden;
        let mut grad_w1 = vec![0f32; hk * self.dim];
        let dst = (&mut grad_w1[..], Mat::rows(hk, self.dim));
        let dr_t = (&dr[..], Mat::rows(rows, hk).t());
        product(dst, dr_t, (x, Mat::rows(rows, self.dim)), all_threads());
        let grads = [
            grad_w1,
            column_sums(&dr, hk),
            grad_w2,
            column_sums(&dz, dz.len() / rows),
        ];
        (grads, losses)
    }

    /// `Z₁ = X·W₁ᵀ + b₁`, `rows × (H·K)`.
    fn hidden_layer(&self, w: MlpWeights, x: &[f32]) -> Vec<f32> {
        let (rows, hk) = (x.len() / self.dim, self.heads * self.hidden);
        let mut z = vec![0f32; rows * hk];
        let dst = (&mut z[..], Mat::rows(rows, hk));
        let lhs = (x, Mat::rows(rows, self.dim));
        product(dst, lhs, (w[0], Mat::rows(hk, self.dim).t()), all_threads());
        add_bias(&mut z, w[1]);
        z
    }

    /// Every head's logits `Z₂[h] = R[h]·W₂[h]ᵀ + b₂[h]`, `rows × (H·C)`.
    fn outputs_of(&self, w: MlpWeights, hidden: &[f32]) -> Vec<f32> {
        let (k, c) = (self.hidden, self.clusters);
        let (hk, hc) = (self.heads * k, self.heads * c);
        let rows = hidden.len() / hk;
        let mut z = vec![0f32; rows * hc];
        for h in 0..self.heads {
            let dst = (&mut z[h * c..], Mat::columns_of(rows, c, hc));
            let lhs = (&hidden[h * k..], Mat::columns_of(rows, k, hk));
            product(dst, lhs, (&w[2][h * c * k..], Mat::rows(c, k).t()), 1);
        }
        add_bias(&mut z, w[3]);
        z
    }

    /// `∂L/∂W₂` and `∂L/∂R` from `∂L/∂Z₂` (`dz`).
    fn output_backward(&self, w: MlpWeights, hidden: &[f32], dz: &[f32]) -> (Vec<f32>, Vec<f32>) {
        let (k, c) = (self.hidden, self.clusters);
        let (hk, hc) = (self.heads * k, self.heads * c);
        let rows = hidden.len() / hk;
        let mut grad_w2 = vec![0f32; hc * k];
        let mut dr = vec![0f32; rows * hk];
        for h in 0..self.heads {
            let dz_h = (&dz[h * c..], Mat::columns_of(rows, c, hc));
            let dst = (&mut grad_w2[h * c * k..(h + 1) * c * k], Mat::rows(c, k));
            let r_h = (&hidden[h * k..], Mat::columns_of(rows, k, hk));
            product(dst, (dz_h.0, dz_h.1.t()), r_h, 1);
            let dst = (&mut dr[h * k..], Mat::columns_of(rows, k, hk));
            product(dst, dz_h, (&w[2][h * c * k..], Mat::rows(c, k)), 1);
        }
        (grad_w2, dr)
    }
}

/// `dst = lhs · rhs` on `threads` threads (the shapes are the module's own, so a mismatch
/// is a bug; the result does not depend on the thread count).
fn product(dst: (&mut [f32], Mat), lhs: (&[f32], Mat), rhs: (&[f32], Mat), threads: usize) {
    if let Err(error) = matmul(dst, lhs, rhs, false, threads) {
        panic!("MLP heads: {error}");
    }
}

/// The current rayon pool's threads: the two layer-wide products are worth splitting,
/// the per-head ones are too small.
fn all_threads() -> usize {
    rayon::current_num_threads()
}

/// Adds `bias` to every row of the row-major `z`.
fn add_bias(z: &mut [f32], bias: &[f32]) {
    for row in z.chunks_exact_mut(bias.len()) {
        row.iter_mut().zip(bias).for_each(|(v, b)| *v += b);
    }
}

/// The sums of the columns of the row-major `m` with `cols` columns.
fn column_sums(m: &[f32], cols: usize) -> Vec<f32> {
    let mut sums = vec![0f32; cols];
    for row in m.chunks_exact(cols) {
        sums.iter_mut().zip(row).for_each(|(s, v)| *s += v);
    }
    sums
}

#[cfg(test)]
mod tests;
