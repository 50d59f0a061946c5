//! A cluster model's heads: linear, `softmax(f·Wₕᵀ + bₕ)` (SCAN's), or with a hidden layer,
//! `Linear(D, K) → ReLU → Linear(K, C)`, which lets heads trained on a frozen encoder's
//! features draw curved boundaries. Head `h` lives under `cluster_head.{h}.…`: `weight`
//! and `bias` when linear, `0.…` and `2.…` (the PyTorch `nn.Sequential` indices) with a
//! hidden layer.

use candle_core::Tensor;

use super::HEADS_PREFIX;
use crate::model::error::ModelError;
use crate::model::head::{Head, HeadKind};
use crate::model::layers::Linear;
use crate::model::params::Params;

/// The heads a cluster model is built with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeadSpec {
    /// Clusters per head, `C`.
    pub clusters: usize,
    /// Number of heads, `H`.
    pub heads: usize,
    /// Hidden units per head, `K`; `None` for linear heads.
    pub hidden: Option<usize>,
}

impl HeadSpec {
    /// `heads` linear heads of `clusters`.
    pub fn linear(clusters: usize, heads: usize) -> Self {
        HeadSpec {
            clusters,
            heads,
            hidden: None,
        }
    }

    /// Each head's tensors as `(name suffix, rows, columns)`, columns 0 for a bias: the
    /// layout of [`ClusterModel::set_heads`](super::ClusterModel::set_heads)' blocks.
    pub(super) fn tensors(&self, dim: usize) -> Vec<(&'static str, usize, usize)> {
        let c = self.clusters;
        match self.hidden {
            None => vec![("weight", c, dim), ("bias", c, 0)],
            Some(k) => vec![
                ("0.weight", k, dim),
                ("0.bias", k, 0),
                ("2.weight", c, k),
                ("2.bias", c, 0),
            ],
        }
    }
}

/// Sets every head's tensors in `params` from `blocks` laid out as
/// [`ClusterModel::set_heads`](super::ClusterModel::set_heads) says.
pub(super) fn set_blocks(
    params: &Params,
    spec: &HeadSpec,
    dim: usize,
    blocks: &[&[f32]],
) -> Result<(), ModelError> {
    let layout = spec.tensors(dim);
    let heads = spec.heads;
    let per_head = |&(_, rows, cols): &(&str, usize, usize)| rows * cols.max(1);
    let fits = blocks.len() == layout.len()
        && blocks
            .iter()
            .zip(&layout)
            .all(|(b, t)| b.len() == heads * per_head(t));
    if !fits {
        let lengths: Vec<usize> = blocks.iter().map(|b| b.len()).collect();
        let wanted: Vec<usize> = layout.iter().map(|t| heads * per_head(t)).collect();
        let c = spec.clusters;
        let message = format!("blocks of {lengths:?} values do not make {heads} heads of {c} clusters on {dim}-d features (blocks of {wanted:?})");
        return Err(config(message));
    }
    let device = params.device();
    for h in 0..heads {
        for (block, tensor) in blocks.iter().zip(&layout) {
            let (name, rows, cols) = *tensor;
            let n = per_head(tensor);
            let values = &block[h * n..(h + 1) * n];
            let value = match cols {
                0 => Tensor::from_slice(values, rows, device)?,
                _ => Tensor::from_slice(values, (rows, cols), device)?,
            };
            let var = params.get(&format!("{HEADS_PREFIX}{h}.{name}"));
            var.ok_or_else(|| config(format!("head {h} has no {name}")))?
                .set(&value)?;
        }
    }
    Ok(())
}

fn config(message: String) -> ModelError {
    ModelError::Config {
        field: "heads",
        message,
    }
}

/// One built cluster head.
#[derive(Debug)]
pub(super) enum ClusterHead {
    /// `f·Wᵀ + b`.
    Linear(Linear),
    /// `Linear(D, K) → ReLU → Linear(K, C)`.
    Mlp(Head),
}

impl ClusterHead {
    /// Head `index` of `spec` on `dim`-long features, registered in `params`.
    pub(super) fn new(
        params: &mut Params,
        index: usize,
        dim: usize,
        spec: &HeadSpec,
    ) -> Result<Self, ModelError> {
        let prefix = format!("{HEADS_PREFIX}{index}");
        match spec.hidden {
            None => Ok(ClusterHead::Linear(Linear::new(
                params,
                &prefix,
                (dim, spec.clusters),
                true,
            )?)),
            Some(hidden) => {
                let kind = HeadKind::Mlp {
                    hidden: Some(hidden),
                    out: spec.clusters,
                    batch_norm: false,
                };
                Ok(ClusterHead::Mlp(Head::new(
                    &kind,
                    params,
                    &format!("{prefix}."),
                    dim,
                )?))
            }
        }
    }

    /// The logits `(B, C)` of features `(B, D)`.
    pub(super) fn forward(&self, features: &Tensor) -> Result<Tensor, ModelError> {
        match self {
            ClusterHead::Linear(linear) => linear.forward(features),
            ClusterHead::Mlp(mlp) => mlp.forward(features, false, 0),
        }
    }
}
