//! ResNet-18, CIFAR variant (SCAN's backbone): conv3×3 s1 64 → BN → ReLU (no max-pool),
//! four stages of two BasicBlocks (64, 128, 256, 512; stride 2 opening stages 2–4, with a
//! 1×1 conv + BN shortcut), global average pooling. `(B,H,W,3)` → `(B, 512)`.
//!
//! torchvision's `resnet18` with that stem and `fc` removed: 11,168,832 trainable
//! parameters, the same tensor names (`conv1`, `bn1`, `layer{s}.{b}.conv1`, …,
//! `layer{s}.0.downsample.{0,1}`).

use candle_core::Tensor;

use crate::model::error::ModelError;
use crate::model::kernels;
use crate::model::layers::{conv_bn_relu, BatchNorm, Conv, ConvCfg};
use crate::model::params::Params;

const WIDTHS: [usize; 4] = [64, 128, 256, 512];

/// `conv → BN` with a square kernel, no bias, "same" padding for odd kernels.
fn conv_bn(
    params: &mut Params,
    names: (&str, &str),
    (cin, cout, kernel, stride): (usize, usize, usize, usize),
) -> Result<(Conv, BatchNorm), ModelError> {
    let cfg = ConvCfg {
        cin,
        cout,
        kernel,
        stride,
        padding: kernel / 2,
        bias: false,
    };
    Ok((
        Conv::new(params, names.0, cfg)?,
        BatchNorm::new(params, names.1, cout)?,
    ))
}

/// `relu(bn2(conv2(relu(bn1(conv1 x)))) + shortcut(x))`.
#[derive(Clone, Debug)]
struct BasicBlock {
    first: (Conv, BatchNorm),
    second: (Conv, BatchNorm),
    downsample: Option<(Conv, BatchNorm)>,
}

impl BasicBlock {
    fn new(
        params: &mut Params,
        name: &str,
        cin: usize,
        cout: usize,
        stride: usize,
    ) -> Result<Self, ModelError> {
        let first = conv_bn(
            params,
            (&format!("{name}.conv1"), &format!("{name}.bn1")),
            (cin, cout, 3, stride),
        )?;
        let second = conv_bn(
            params,
            (&format!("{name}.conv2"), &format!("{name}.bn2")),
            (cout, cout, 3, 1),
        )?;
        let downsample = if stride != 1 || cin != cout {
            let names = (
                &format!("{name}.downsample.0")[..],
                &format!("{name}.downsample.1")[..],
            );
            Some(conv_bn(params, names, (cin, cout, 1, stride))?)
        } else {
            None
        };
        Ok(BasicBlock {
            first,
            second,
            downsample,
        })
    }

    fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor, ModelError> {
        let (conv, bn) = &self.first;
        let h = conv_bn_relu((conv, bn), x, train, false)?;
        let h = self
            .second
            .1
            .forward(&self.second.0.forward(&h)?, train, false)?;
        let shortcut = match &self.downsample {
            Some((conv, bn)) => bn.forward(&conv.forward(x)?, train, false)?,
            None => x.clone(),
        };
        Ok((h + shortcut)?.relu()?)
    }
}

/// The ResNet-18 CIFAR encoder.
#[derive(Clone, Debug)]
pub struct ResNet18Cifar {
    stem: (Conv, BatchNorm),
    blocks: Vec<BasicBlock>,
}

impl ResNet18Cifar {
    /// Registers every tensor under `prefix` with torchvision's names.
    pub fn new(params: &mut Params, prefix: &str) -> Result<Self, ModelError> {
        let stem = conv_bn(
            params,
            (&format!("{prefix}conv1"), &format!("{prefix}bn1")),
            (3, 64, 3, 1),
        )?;
        let mut blocks = Vec::with_capacity(8);
        let mut cin = 64;
        for (stage, &width) in WIDTHS.iter().enumerate() {
            for block in 0..2 {
                let stride = if stage > 0 && block == 0 { 2 } else { 1 };
                let name = format!("{prefix}layer{}.{block}", stage + 1);
                blocks.push(BasicBlock::new(params, &name, cin, width, stride)?);
                cin = width;
            }
        }
        Ok(ResNet18Cifar { stem, blocks })
    }

    /// `(B,H,W,3)` → `(B, 512)`.
    pub fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor, ModelError> {
        let (conv, bn) = &self.stem;
        let mut h = conv_bn_relu((conv, bn), x, train, false)?;
        for block in &self.blocks {
            h = block.forward(&h, train)?;
        }
        Ok(kernels::global_avg_pool(&h)?)
    }

    /// Feature dimension: 512.
    pub fn out_dim(&self) -> usize {
        WIDTHS[3]
    }
}
