//! ResNet-50 V2 as Keras builds it (`keras.applications.ResNet50V2(include_top=False,
//! weights=None, pooling="avg")`), followed by the Keras SCAN example's `Dense(dense)`
//! representation layer. `(B,H,W,3)` → `(B, dense)`.
//!
//! Stem: conv7×7 s2 (zero padding 3) → 3×3 s2 max-pool over a zero padding of 1. Then
//! pre-activation bottleneck stacks of 3-4-6-3 blocks (64, 128, 256, 512 filters; 4× as
//! many outputs): `preact = relu(bn(x))`; residual `conv1×1 → BN-ReLU → conv3×3 (stride)
//! → BN-ReLU → conv1×1 (bias)`; shortcut a 1×1 conv with bias of `preact` in each stack's
//! first block, else `x`, subsampled by 2 (Keras' `MaxPooling2D(1, strides=2)`) where
//! the block strides. As Keras, the stride sits in the *last* block of stacks 1–3. Then
//! BN-ReLU, global average pooling (2048), and the dense layer with bias.
//!
//! Names are Keras' layer names (`conv1_conv`, `conv2_block1_preact_bn`,
//! `conv2_block1_0_conv`, …, `post_bn`) plus `dense`. Deviations from Keras: the stem
//! conv has no bias (Keras' 64 stem biases are exactly cancelled: every path from the
//! stem passes a max-pool, which commutes with a per-channel shift, then a batch norm);
//! batch norms use PyTorch's ε = 1e-5 (Keras 1.001e-5) and momentum 0.1 (Keras 0.99 in
//! its convention, 0.01 in PyTorch's); weights are initialised as PyTorch does. For 32×32
//! inputs the spatial sizes run 16 → 8 → 4 → 2 → 1 → 1, as in Keras.

use candle_core::Tensor;

use super::pool::{max_pool3_s2, subsample};

use crate::model::error::ModelError;
use crate::model::kernels;
use crate::model::layers::{conv_bn_relu, BatchNorm, Conv, ConvCfg, Linear};
use crate::model::params::Params;

/// (filters, blocks, stride of the last block) of each stack, as `ResNet50V2` stacks them.
const STACKS: [(usize, usize, usize); 4] = [(64, 3, 2), (128, 4, 2), (256, 6, 2), (512, 3, 1)];
/// Width of the features before the dense layer.
const POOLED: usize = 2048;

fn conv(
    params: &mut Params,
    name: &str,
    (cin, cout, kernel, stride): (usize, usize, usize, usize),
    bias: bool,
) -> Result<Conv, ModelError> {
    Conv::new(
        params,
        name,
        ConvCfg {
            cin,
            cout,
            kernel,
            stride,
            padding: kernel / 2,
            bias,
        },
    )
}

/// How a block's input reaches its sum.
#[derive(Clone, Debug)]
enum Shortcut {
    /// 1×1 conv (with bias) of the pre-activation.
    Conv(Conv),
    /// The input, subsampled by this stride.
    Input(usize),
}

/// One pre-activation bottleneck (Keras' `block2`).
#[derive(Clone, Debug)]
struct Bottleneck {
    preact: BatchNorm,
    shortcut: Shortcut,
    reduce: (Conv, BatchNorm),
    spatial: (Conv, BatchNorm),
    expand: Conv,
}

impl Bottleneck {
    fn new(
        params: &mut Params,
        name: &str,
        cin: usize,
        filters: usize,
        stride: usize,
        conv_shortcut: bool,
    ) -> Result<Self, ModelError> {
        let preact = BatchNorm::new(params, &format!("{name}_preact_bn"), cin)?;
        let shortcut = if conv_shortcut {
            Shortcut::Conv(conv(
                params,
                &format!("{name}_0_conv"),
                (cin, 4 * filters, 1, stride),
                true,
            )?)
        } else {
            Shortcut::Input(stride)
        };
        let reduce = (
            conv(
                params,
                &format!("{name}_1_conv"),
                (cin, filters, 1, 1),
                false,
            )?,
            BatchNorm::new(params, &format!("{name}_1_bn"), filters)?,
        );
        let spatial = (
            conv(
                params,
                &format!("{name}_2_conv"),
                (filters, filters, 3, stride),
                false,
            )?,
            BatchNorm::new(params, &format!("{name}_2_bn"), filters)?,
        );
        let expand = conv(
            params,
            &format!("{name}_3_conv"),
            (filters, 4 * filters, 1, 1),
            true,
        )?;
        Ok(Bottleneck {
            preact,
            shortcut,
            reduce,
            spatial,
            expand,
        })
    }

    fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor, ModelError> {
        let preact = self.preact.forward(x, train, true)?;
        let shortcut = match &self.shortcut {
            Shortcut::Conv(conv) => conv.forward(&preact)?,
            Shortcut::Input(1) => x.clone(),
            Shortcut::Input(stride) => subsample(x, *stride)?,
        };
        let (conv, bn) = &self.reduce;
        let h = conv_bn_relu((conv, bn), &preact, train, false)?;
        let (conv, bn) = &self.spatial;
        let h = conv_bn_relu((conv, bn), &h, train, false)?;
        Ok((self.expand.forward(&h)? + shortcut)?)
    }
}

/// The ResNet-50 V2 encoder with its dense representation layer.
#[derive(Clone, Debug)]
pub struct ResNet50V2 {
    stem: Conv,
    blocks: Vec<Bottleneck>,
    post_bn: BatchNorm,
    dense: Linear,
    out_dim: usize,
}

impl ResNet50V2 {
    /// Registers every tensor under `prefix` with Keras' layer names; `dense` must be
    /// positive.
    pub fn new(params: &mut Params, prefix: &str, dense: usize) -> Result<Self, ModelError> {
        if dense == 0 {
            return Err(ModelError::Config {
                field: "ResNet50V2.dense",
                message: "must be positive".into(),
            });
        }
        let stem = conv(params, &format!("{prefix}conv1_conv"), (3, 64, 7, 2), false)?;
        let mut blocks = Vec::new();
        let mut cin = 64;
        for (stack, &(filters, count, last_stride)) in STACKS.iter().enumerate() {
            for block in 1..=count {
                let name = format!("{prefix}conv{}_block{block}", stack + 2);
                let stride = if block == count { last_stride } else { 1 };
                blocks.push(Bottleneck::new(
                    params,
                    &name,
                    cin,
                    filters,
                    stride,
                    block == 1,
                )?);
                cin = 4 * filters;
            }
        }
        let post_bn = BatchNorm::new(params, &format!("{prefix}post_bn"), POOLED)?;
        let dense_layer = Linear::new(params, &format!("{prefix}dense"), (POOLED, dense), true)?;
        Ok(ResNet50V2 {
            stem,
            blocks,
            post_bn,
            dense: dense_layer,
            out_dim: dense,
        })
    }

    /// `(B,H,W,3)` → `(B, dense)`.
    pub fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor, ModelError> {
        let mut h = max_pool3_s2(&self.stem.forward(x)?)?;
        for block in &self.blocks {
            h = block.forward(&h, train)?;
        }
        let pooled = kernels::global_avg_pool(&self.post_bn.forward(&h, train, true)?)?;
        self.dense.forward(&pooled)
    }

    /// Feature dimension: the dense layer's width.
    pub fn out_dim(&self) -> usize {
        self.out_dim
    }
}
