//! Seeded initialisers, as PyTorch's defaults draw them: Kaiming-normal with fan-out for
//! convolutions (`std = √(2 / (Cout·kh·kw))`, as torchvision's ResNet), uniform
//! `±1/√fan_in` for linear weights and biases, constants for batch-norm parameters.
//!
//! Normal draws use Marsaglia's polar method. Every tensor draws from its own SplitMix64 stream, seeded by FNV-1a of the model seed and
//! the tensor's name, so adding a layer never changes the values of the others.

use crate::hash::StableHasher;
use crate::rng::SplitMix64;

/// How a parameter's first values are drawn.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Init {
    /// All zeros (biases, batch-norm shift and running mean).
    Zeros,
    /// All ones (batch-norm scale and running variance).
    Ones,
    /// Normal with mean 0 and this standard deviation.
    Normal {
        /// Standard deviation.
        std: f64,
    },
    /// Uniform on `[-bound, bound)`.
    Uniform {
        /// Half-width.
        bound: f64,
    },
}

impl Init {
    /// Kaiming-normal, fan-out mode, for a ReLU network (`torch.nn.init.kaiming_normal_(w,
    /// mode="fan_out", nonlinearity="relu")`): `std = √(2 / fan_out)`.
    pub fn kaiming_normal_fan_out(fan_out: usize) -> Init {
        Init::Normal {
            std: (2.0 / fan_out.max(1) as f64).sqrt(),
        }
    }

    /// PyTorch's default for `nn.Linear` weight and bias: uniform `±1/√fan_in`
    /// (Kaiming-uniform with `a = √5` reduces to this bound).
    pub fn linear_default(fan_in: usize) -> Init {
        Init::Uniform {
            bound: 1.0 / (fan_in.max(1) as f64).sqrt(),
        }
    }

    /// `count` values for the tensor `name` of a model seeded with `seed`.
    pub fn values(&self, count: usize, seed: u64, name: &str) -> Vec<f32> {
        let mut rng = SplitMix64::new(tensor_seed(seed, name));
        match *self {
            Init::Zeros => vec![0.0; count],
            Init::Ones => vec![1.0; count],
            Init::Normal { std } => normals(&mut rng, count, std),
            Init::Uniform { bound } => (0..count)
                .map(|_| (unit_open(&mut rng) * 2.0 - 1.0) * bound)
                .map(|v| v as f32)
                .collect(),
        }
    }
}

/// The seed of tensor `name` in a model seeded with `seed`.
fn tensor_seed(seed: u64, name: &str) -> u64 {
    StableHasher::default()
        .write(&seed.to_le_bytes())
        .write_str(name)
        .finish()
}

/// A uniform draw in `(0, 1]` with 53 random bits.
fn unit_open(rng: &mut SplitMix64) -> f64 {
    ((rng.next_u64() >> 11) + 1) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// `count` normal draws with mean 0 and deviation `std` by Marsaglia's polar method
/// (Box–Muller without the trigonometry), both outputs of each accepted pair used.
fn normals(rng: &mut SplitMix64, count: usize, std: f64) -> Vec<f32> {
    let mut out = Vec::with_capacity(count + 1);
    while out.len() < count {
        let u = unit_open(rng) * 2.0 - 1.0;
        let v = unit_open(rng) * 2.0 - 1.0;
        let s = u * u + v * v;
        if s < 1.0 && s > 0.0 {
            let factor = std * (-2.0 * s.ln() / s).sqrt();
            out.extend([(u * factor) as f32, (v * factor) as f32]);
        }
    }
    out.truncate(count);
    out
}
