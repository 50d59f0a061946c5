//! Projection heads, features `(B, D)` → projections `(B, out)` (not yet normalised):
//! SCAN's MLP, `Linear(D, h) → BN → ReLU → Linear(h, out)` (`batch_norm: false` gives the
//! SCAN repository's `Linear → ReLU → Linear`), and the Keras SCAN example's
//! `Dropout(0.1) → Linear(D, out, no bias) → BN → ReLU`.
//!
//! Names follow the PyTorch `nn.Sequential` indices: MLP `0` (and `1` for its BN), last
//! linear `3` (or `2` without BN); Keras `1` linear, `2` BN.

use candle_core::Tensor;
use serde::{Deserialize, Serialize};

use super::error::ModelError;
use super::layers::{BatchNorm, Dropout, Linear};
use super::params::Params;

fn default_out() -> usize {
    128
}

fn default_true() -> bool {
    true
}

/// Which head to build, as written in a graph file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum HeadKind {
    /// SCAN's two-layer MLP.
    Mlp {
        /// Hidden width; `None` takes the encoder's feature dimension, as SCAN does.
        #[serde(default)]
        hidden: Option<usize>,
        /// Projection width.
        #[serde(default = "default_out")]
        out: usize,
        /// Batch norm after the first linear layer (whose bias it makes redundant, so the
        /// layer then has none).
        #[serde(default = "default_true")]
        batch_norm: bool,
    },
    /// The Keras SCAN example's projector.
    Keras {
        /// Projection width.
        #[serde(default = "default_out")]
        out: usize,
    },
}

impl Default for HeadKind {
    fn default() -> Self {
        HeadKind::Mlp {
            hidden: None,
            out: default_out(),
            batch_norm: true,
        }
    }
}

/// A built projection head.
#[derive(Clone, Debug)]
pub enum Head {
    /// SCAN's MLP.
    Mlp {
        /// `Linear(D, hidden)`.
        first: Linear,
        /// The optional batch norm (with the ReLU fused in).
        bn: Option<BatchNorm>,
        /// `Linear(hidden, out)`.
        second: Linear,
        /// Projection width.
        out: usize,
    },
    /// The Keras example's projector.
    Keras {
        /// Dropout with p = 0.1.
        dropout: Dropout,
        /// `Linear(D, out)` without bias.
        linear: Linear,
        /// The batch norm (with the ReLU fused in).
        bn: BatchNorm,
        /// Projection width.
        out: usize,
    },
}

impl Head {
    /// The Keras example's dropout rate.
    pub const KERAS_DROPOUT: f32 = 0.1;

    /// Builds head `kind` on `in_dim` features, registering its tensors under `prefix`.
    pub fn new(
        kind: &HeadKind,
        params: &mut Params,
        prefix: &str,
        in_dim: usize,
    ) -> Result<Self, ModelError> {
        match *kind {
            HeadKind::Mlp {
                hidden,
                out,
                batch_norm,
            } => mlp(
                params,
                prefix,
                (in_dim, hidden.unwrap_or(in_dim), out),
                batch_norm,
            ),
            HeadKind::Keras { out } => {
                positive("Keras.out", out)?;
                Ok(Head::Keras {
                    dropout: Dropout::new(Self::KERAS_DROPOUT)?,
                    linear: Linear::new(params, &format!("{prefix}1"), (in_dim, out), false)?,
                    bn: BatchNorm::new(params, &format!("{prefix}2"), out)?,
                    out,
                })
            }
        }
    }

    /// `(B, D)` → `(B, out)`. In training, batch norms use batch statistics and dropout
    /// draws its mask from `dropout_seed`.
    pub fn forward(
        &self,
        x: &Tensor,
        train: bool,
        dropout_seed: u64,
    ) -> Result<Tensor, ModelError> {
        match self {
            Head::Mlp {
                first, bn, second, ..
            } => {
                let h = first.forward(x)?;
                let h = match bn {
                    Some(bn) => bn.forward(&h, train, true)?,
                    None => h.relu()?,
                };
                second.forward(&h)
            }
            Head::Keras {
                dropout,
                linear,
                bn,
                ..
            } => {
                let h = dropout.forward(x, train.then_some(dropout_seed))?;
                bn.forward(&linear.forward(&h)?, train, true)
            }
        }
    }

    /// The projection width.
    pub fn out_dim(&self) -> usize {
        match self {
            Head::Mlp { out, .. } | Head::Keras { out, .. } => *out,
        }
    }
}

/// SCAN's MLP on `(in, hidden, out)` widths, with or without its batch norm.
fn mlp(
    params: &mut Params,
    prefix: &str,
    (input, hidden, out): (usize, usize, usize),
    batch_norm: bool,
) -> Result<Head, ModelError> {
    positive("Mlp.hidden", hidden)?;
    positive("Mlp.out", out)?;
    let first = Linear::new(params, &format!("{prefix}0"), (input, hidden), !batch_norm)?;
    let bn = if batch_norm {
        Some(BatchNorm::new(params, &format!("{prefix}1"), hidden)?)
    } else {
        None
    };
    let last = if batch_norm { 3 } else { 2 };
    let second = Linear::new(params, &format!("{prefix}{last}"), (hidden, out), true)?;
    Ok(Head::Mlp {
        first,
        bn,
        second,
        out,
    })
}

/// Refuses a zero width.
fn positive(field: &'static str, value: usize) -> Result<(), ModelError> {
    if value > 0 {
        Ok(())
    } else {
        Err(ModelError::Config {
            field,
            message: "must be positive".into(),
        })
    }
}
