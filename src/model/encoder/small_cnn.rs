//! A small, fast CNN for CPU budgets: per width `w`, conv3×3 (padding 1, no bias) → BN →
//! ReLU → 2×2 max-pool; then global average pooling. `(B,H,W,3)` → `(B, last width)`.
//! With the default widths 32-64-128-256 it matches the reference bench's `SmallCNN`, and
//! its names mirror that `nn.Sequential` (`features.{4i}` conv, `features.{4i+1}` BN).

use candle_core::Tensor;

use crate::model::error::ModelError;
use crate::model::kernels;
use crate::model::layers::{BatchNorm, Conv, ConvCfg};
use crate::model::params::Params;

/// The small CNN encoder.
#[derive(Clone, Debug)]
pub struct SmallCnn {
    blocks: Vec<(Conv, BatchNorm)>,
    out_dim: usize,
}

impl SmallCnn {
    /// Registers the blocks under `{prefix}features.…`; `widths` must be non-empty and
    /// positive.
    pub fn new(params: &mut Params, prefix: &str, widths: &[usize]) -> Result<Self, ModelError> {
        if widths.is_empty() || widths.contains(&0) {
            return Err(ModelError::Config {
                field: "SmallCnn.widths",
                message: format!("must be a non-empty list of positive widths, found {widths:?}"),
            });
        }
        let mut blocks = Vec::with_capacity(widths.len());
        let mut cin = 3;
        for (i, &cout) in widths.iter().enumerate() {
            let cfg = ConvCfg {
                cin,
                cout,
                kernel: 3,
                stride: 1,
                padding: 1,
                bias: false,
            };
            let conv = Conv::new(params, &format!("{prefix}features.{}", 4 * i), cfg)?;
            let bn = BatchNorm::new(params, &format!("{prefix}features.{}", 4 * i + 1), cout)?;
            blocks.push((conv, bn));
            cin = cout;
        }
        Ok(SmallCnn {
            blocks,
            out_dim: cin,
        })
    }

    /// The smallest input side: each block halves the image.
    pub fn min_side(&self) -> usize {
        1 << self.blocks.len()
    }

    /// `(B,H,W,3)` → `(B, out_dim)`.
    pub fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor, ModelError> {
        let mut h = x.clone();
        for (conv, bn) in &self.blocks {
            h = kernels::max_pool2(&bn.forward(&conv.forward(&h)?, train, true)?)?;
        }
        Ok(kernels::global_avg_pool(&h)?)
    }

    /// Feature dimension (the last width).
    pub fn out_dim(&self) -> usize {
        self.out_dim
    }
}
