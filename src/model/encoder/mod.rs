//! Encoders: images `(B,H,W,3)` f32 → features `(B, D)`. The family is chosen in RON with
//! [`EncoderKind`] (`SmallCnn(widths: [32, 64, 128, 256])`, `ResNet18Cifar`,
//! `ResNet50V2(dense: 256)`); [`Encoder`] is the built network.

mod pool;
mod resnet;
mod resnet_v2;
mod small_cnn;
#[cfg(test)]
mod tests;

use candle_core::{DType, Tensor};
use serde::{Deserialize, Serialize};

pub use resnet::ResNet18Cifar;
pub use resnet_v2::ResNet50V2;
pub use small_cnn::SmallCnn;

use super::error::ModelError;
use super::params::Params;

fn default_widths() -> Vec<usize> {
    vec![32, 64, 128, 256]
}

fn one() -> usize {
    1
}

fn is_one(n: &usize) -> bool {
    *n == 1
}

fn default_dense() -> usize {
    256
}

/// Which encoder to build, as written in a graph file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum EncoderKind {
    /// conv3×3-BN-ReLU (plus residual conv3×3-BN-ReLU layers) and a max-pool per width,
    /// global average pool; features = last width.
    SmallCnn {
        /// Channels of each block.
        #[serde(default = "default_widths")]
        widths: Vec<usize>,
        /// Convolutions per block: the first widens, each further one is a residual layer
        /// at the block's width (1: the reference bench's `SmallCNN`). Left out of the
        /// written architecture when 1, so models and cache keys from before it stay valid.
        #[serde(default = "one", skip_serializing_if = "is_one")]
        convs_per_block: usize,
    },
    /// ResNet-18 with the CIFAR stem (SCAN's backbone), 512-d features.
    ResNet18Cifar,
    /// Keras' ResNet-50 V2 with average pooling and a dense representation layer.
    ResNet50V2 {
        /// Width of the dense representation layer.
        #[serde(default = "default_dense")]
        dense: usize,
    },
}

impl EncoderKind {
    /// A `SmallCnn` of `widths` with one convolution per block.
    pub fn small_cnn(widths: Vec<usize>) -> Self {
        EncoderKind::SmallCnn {
            widths,
            convs_per_block: 1,
        }
    }
}

impl Default for EncoderKind {
    fn default() -> Self {
        EncoderKind::small_cnn(default_widths())
    }
}

/// A built encoder.
#[derive(Clone, Debug)]
pub enum Encoder {
    /// See [`SmallCnn`].
    SmallCnn(SmallCnn),
    /// See [`ResNet18Cifar`].
    ResNet18Cifar(ResNet18Cifar),
    /// See [`ResNet50V2`].
    ResNet50V2(ResNet50V2),
}

impl Encoder {
    /// Builds the encoder `kind`, registering its tensors in `params` under `prefix`
    /// (e.g. `"encoder."`).
    pub fn new(kind: &EncoderKind, params: &mut Params, prefix: &str) -> Result<Self, ModelError> {
        Ok(match kind {
            EncoderKind::SmallCnn {
                widths,
                convs_per_block,
            } => Encoder::SmallCnn(SmallCnn::new(params, prefix, widths, *convs_per_block)?),
            EncoderKind::ResNet18Cifar => {
                Encoder::ResNet18Cifar(ResNet18Cifar::new(params, prefix)?)
            }
            EncoderKind::ResNet50V2 { dense } => {
                Encoder::ResNet50V2(ResNet50V2::new(params, prefix, *dense)?)
            }
        })
    }

    /// `(B,H,W,3)` f32 → `(B, out_dim)`; batch norms use batch statistics (and update
    /// their running ones) when `train`, the running ones otherwise.
    pub fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor, ModelError> {
        self.check_input(x)?;
        match self {
            Encoder::SmallCnn(net) => net.forward(x, train),
            Encoder::ResNet18Cifar(net) => net.forward(x, train),
            Encoder::ResNet50V2(net) => net.forward(x, train),
        }
    }

    /// The feature dimension `D`.
    pub fn out_dim(&self) -> usize {
        match self {
            Encoder::SmallCnn(net) => net.out_dim(),
            Encoder::ResNet18Cifar(net) => net.out_dim(),
            Encoder::ResNet50V2(net) => net.out_dim(),
        }
    }

    /// The smallest image side the encoder accepts.
    pub fn min_side(&self) -> usize {
        match self {
            Encoder::SmallCnn(net) => net.min_side(),
            Encoder::ResNet18Cifar(_) | Encoder::ResNet50V2(_) => 1,
        }
    }

    fn check_input(&self, x: &Tensor) -> Result<(), ModelError> {
        let side = self.min_side();
        let fits = match x.dims() {
            &[b, h, w, 3] => b > 0 && h >= side && w >= side,
            _ => false,
        };
        if fits && x.dtype() == DType::F32 {
            return Ok(());
        }
        Err(ModelError::Input {
            expected: format!("f32 (B, H, W, 3) with B ≥ 1 and H, W ≥ {side}"),
            found: format!("{:?} {:?}", x.dtype(), x.dims()),
        })
    }
}
