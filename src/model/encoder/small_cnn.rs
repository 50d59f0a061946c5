//! A small, fast CNN for CPU budgets: per width `w`, conv3×3 (padding 1, no bias) → BN →
//! ReLU, then `convs_per_block − 1` residual layers `h ← h + ReLU(BN(conv3×3(h)))` at width
//! `w`, then a 2×2 max-pool; finally global average pooling. `(B,H,W,3)` → `(B, last
//! width)`. With the default widths 32-64-128-256 and one conv per block it matches the
//! reference bench's `SmallCNN`, and its names mirror that `nn.Sequential` (`features.{4i}`
//! conv, `features.{4i+1}` BN); residual layer `j` of block `i` is `features.{4i}.res{j}`.

use candle_core::Tensor;

use crate::model::error::ModelError;
use crate::model::kernels;
use crate::model::layers::{conv_bn_relu, BatchNorm, Conv, ConvCfg};
use crate::model::params::Params;

/// The small CNN encoder.
#[derive(Clone, Debug)]
pub struct SmallCnn {
    blocks: Vec<Block>,
    out_dim: usize,
}

/// One block: the widening conv and its residual layers, before the pool.
#[derive(Clone, Debug)]
struct Block {
    first: (Conv, BatchNorm),
    residual: Vec<(Conv, BatchNorm)>,
}

impl SmallCnn {
    /// Registers the blocks under `{prefix}features.…`; `widths` must be non-empty and
    /// positive, `convs_per_block` at least 1.
    pub fn new(
        params: &mut Params,
        prefix: &str,
        widths: &[usize],
        convs_per_block: usize,
    ) -> Result<Self, ModelError> {
        if widths.is_empty() || widths.contains(&0) {
            return Err(ModelError::Config {
                field: "SmallCnn.widths",
                message: format!("must be a non-empty list of positive widths, found {widths:?}"),
            });
        }
        if convs_per_block == 0 {
            return Err(ModelError::Config {
                field: "SmallCnn.convs_per_block",
                message: "must be at least 1".into(),
            });
        }
        let mut blocks = Vec::with_capacity(widths.len());
        let mut cin = 3;
        for (i, &cout) in widths.iter().enumerate() {
            let name = format!("{prefix}features.{}", 4 * i);
            let first = conv_bn(
                params,
                &name,
                &format!("{prefix}features.{}", 4 * i + 1),
                cin,
                cout,
            )?;
            let residual = (1..convs_per_block)
                .map(|j| {
                    let layer = format!("{name}.res{j}");
                    conv_bn(
                        params,
                        &format!("{layer}.conv"),
                        &format!("{layer}.bn"),
                        cout,
                        cout,
                    )
                })
                .collect::<Result<_, _>>()?;
            blocks.push(Block { first, residual });
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
        for block in &self.blocks {
            let (conv, bn) = &block.first;
            let pool_now = block.residual.is_empty();
            h = conv_bn_relu((conv, bn), &h, train, pool_now)?;
            for (conv, bn) in &block.residual {
                h = (&h + conv_bn_relu((conv, bn), &h, train, false)?)?;
            }
            if !pool_now {
                h = kernels::max_pool2(&h)?;
            }
        }
        Ok(kernels::global_avg_pool(&h)?)
    }

    /// Feature dimension (the last width).
    pub fn out_dim(&self) -> usize {
        self.out_dim
    }
}

/// A 3×3 conv (padding 1, no bias) from `cin` to `cout` channels and its batch norm.
fn conv_bn(
    params: &mut Params,
    conv_name: &str,
    bn_name: &str,
    cin: usize,
    cout: usize,
) -> Result<(Conv, BatchNorm), ModelError> {
    let cfg = ConvCfg {
        cin,
        cout,
        kernel: 3,
        stride: 1,
        padding: 1,
        bias: false,
    };
    Ok((
        Conv::new(params, conv_name, cfg)?,
        BatchNorm::new(params, bn_name, cout)?,
    ))
}
