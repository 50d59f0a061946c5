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
