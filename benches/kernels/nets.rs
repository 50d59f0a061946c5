//! The networks the benchmark times, written against either kernel path: the reference's
//! small CNN (4 × conv3×3–BN–ReLU–maxpool2, 32-64-128-256 channels, global average pool)
//! and ResNet-18 with the CIFAR stem (conv3×3, no max-pool), both NHWC.

use candle_core::{Device, Result, Tensor, Var};
use scanflow::model::kernels::{self, portable};

/// `batch_norm_train`'s signature.
type BnTrain = fn(&Tensor, &Tensor, &Tensor, f64, bool) -> Result<(Tensor, Tensor, Tensor)>;
/// `batch_norm_eval`'s signature.
type BnEval = fn(&Tensor, &Tensor, &Tensor, &Tensor, &Tensor, f64, bool) -> Result<Tensor>;

/// One set of kernel functions: the dispatching (fast on the CPU) or the portable ones.
pub struct Path {
    pub conv2d: fn(&Tensor, &Tensor, usize, usize) -> Result<Tensor>,
    pub bn_train: BnTrain,
    pub bn_eval: BnEval,
    pub max_pool2: fn(&Tensor) -> Result<Tensor>,
}

/// The custom CPU operations.
pub const FAST: Path = Path {
    conv2d: kernels::conv2d,
    bn_train: kernels::batch_norm_train,
    bn_eval: kernels::batch_norm_eval,
    max_pool2: kernels::max_pool2,
};

/// candle's own operations.
pub const PORTABLE: Path = Path {
    conv2d: portable::conv2d,
    bn_train: portable::batch_norm_train,
    bn_eval: portable::batch_norm_eval,
    max_pool2: portable::max_pool2,
};

/// A convolution weight with its batch norm (running statistics at 0 and 1).
pub struct ConvBn {
    pub w: Var,
    gamma: Var,
    beta: Var,
    mean: Tensor,
    var: Tensor,
    stride: usize,
}

impl ConvBn {
    fn new(cin: usize, cout: usize, k: usize, stride: usize) -> Result<Self> {
        let std = (2.0 / (cin * k * k) as f64).sqrt();
        let dev = &Device::Cpu;
        Ok(Self {
            w: Var::randn(0f32, std as f32, (cout, k, k, cin), dev)?,
            gamma: Var::ones(cout, candle_core::DType::F32, dev)?,
            beta: Var::zeros(cout, candle_core::DType::F32, dev)?,
            mean: Tensor::zeros(cout, candle_core::DType::F32, dev)?,
            var: Tensor::ones(cout, candle_core::DType::F32, dev)?,
            stride,
        })
    }

    /// conv → BN (batch statistics when `train`) → optional ReLU.
    fn forward(&self, p: &Path, x: &Tensor, train: bool, relu: bool) -> Result<Tensor> {
        let k = self.w.dim(1)?;
        let y = (p.conv2d)(x, &self.w, self.stride, k / 2)?;
        if train {
            Ok((p.bn_train)(&y, &self.gamma, &self.beta, 1e-5, relu)?.0)
        } else {
            (p.bn_eval)(
                &y,
                &self.gamma,
                &self.beta,
                &self.mean,
                &self.var,
                1e-5,
                relu,
            )
        }
    }
}

/// A network: its layers and how they connect.
pub enum Net {
    SmallCnn(Vec<ConvBn>),
    /// Stem, then basic blocks `(conv a, conv b, optional 1×1 shortcut)`.
    ResNet18(ConvBn, Vec<(ConvBn, ConvBn, Option<ConvBn>)>),
}

impl Net {
    pub fn small_cnn() -> Result<Self> {
        let widths = [3, 32, 64, 128, 256];
        let layers = widths.windows(2).map(|c| ConvBn::new(c[0], c[1], 3, 1));
        Ok(Net::SmallCnn(layers.collect::<Result<_>>()?))
    }

    pub fn resnet18() -> Result<Self> {
        let mut blocks = Vec::new();
        let mut cin = 64;
        for (stage, cout) in [64, 128, 256, 512].into_iter().enumerate() {
            for block in 0..2 {
                let stride = if stage > 0 && block == 0 { 2 } else { 1 };
                let shortcut =
                    (stride != 1 || cin != cout).then(|| ConvBn::new(cin, cout, 1, stride));
                blocks.push((
                    ConvBn::new(cin, cout, 3, stride)?,
                    ConvBn::new(cout, cout, 3, 1)?,
                    shortcut.transpose()?,
                ));
                cin = cout;
            }
        }
        Ok(Net::ResNet18(ConvBn::new(3, 64, 3, 1)?, blocks))
    }

    /// Features `(B, C)` of images `(B, 32, 32, 3)`.
    pub fn forward(&self, p: &Path, x: &Tensor, train: bool) -> Result<Tensor> {
        match self {
            Net::SmallCnn(layers) => {
                let mut x = x.clone();
                for layer in layers {
                    x = (p.max_pool2)(&layer.forward(p, &x, train, true)?)?;
                }
                kernels::global_avg_pool(&x)
            }
            Net::ResNet18(stem, blocks) => {
                let mut x = stem.forward(p, x, train, true)?;
                for (a, b, shortcut) in blocks {
                    let y = b.forward(p, &a.forward(p, &x, train, true)?, train, false)?;
                    let skip = match shortcut {
                        Some(s) => s.forward(p, &x, train, false)?,
                        None => x.clone(),
                    };
                    x = (y + skip)?.relu()?;
                }
                kernels::global_avg_pool(&x)
            }
        }
    }
}
