//! The augmentation operations as configured in RON: one externally tagged enum, each variant
//! documented with its maths on float RGB images in `[0, 1]` (torchvision's definitions unless
//! said otherwise). Sizes are `(width, height)`; every probability is applied as `u < p` with
//! `u` uniform in `[0, 1)`, drawn even when `p` is 0 or 1 so that the stream never shifts.

use serde::{Deserialize, Serialize};

use crate::augment::error::AugmentError;

/// One augmentation step. In RON: `RandomResizedCrop(size: (32, 32), scale: (0.2, 1.0))`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum AugmentOp {
    /// torchvision's `RandomResizedCrop`: up to 10 attempts of area `A·U(scale)` and aspect
    /// `exp(U(ln ratio))`, `w = round(√(area·aspect))`, `h = round(√(area/aspect))`, kept when it
    /// fits, placed uniformly; otherwise a centre crop clamped to `ratio`. The crop is resampled
    /// to `size` bilinearly with half-pixel centres, antialiased when shrinking (PIL's BILINEAR).
    RandomResizedCrop {
        /// Output size `(width, height)`.
        size: (u32, u32),
        /// Range of the crop's fraction of the image area.
        #[serde(default = "default_scale")]
        scale: (f32, f32),
        /// Range of the crop's aspect ratio `w / h` (sampled log-uniformly).
        #[serde(default = "default_ratio")]
        ratio: (f32, f32),
    },
    /// Mirrors left–right with probability `p`: `out(x, y) = in(W−1−x, y)`.
    HorizontalFlip {
        /// Probability of flipping.
        #[serde(default = "half")]
        p: f32,
    },
    /// Resamples the whole image to exactly `size` (antialiased bilinear, as in the crop).
    Resize {
        /// Output size `(width, height)`.
        size: (u32, u32),
    },
    /// torchvision's `CenterCrop`: offset `round((W − w) / 2)` (ties to even); zero padding
    /// where the crop is larger than the image.
    CenterCrop {
        /// Output size `(width, height)`.
        size: (u32, u32),
    },
    /// torchvision's `RandomCrop(size, padding)`: zero padding on every side, then a crop at
    /// offsets uniform in `0..=(W + 2·padding − w)` (rows first, as `get_params`).
    RandomCrop {
        /// Output size `(width, height)`.
        size: (u32, u32),
        /// Zero padding added on every side before cropping.
        #[serde(default)]
        padding: u32,
    },
    /// torchvision's `ColorJitter` applied with probability `p` (`RandomApply`). Factors are
    /// uniform in `[max(0, 1−b), 1+b]` (same for contrast and saturation), hue in `[−h, h]`, applied
    /// in a random order (`randperm(4)`), each followed by a clamp to `[0, 1]`: brightness
    /// `f·x`; contrast `f·x + (1−f)·mean(grey)`; saturation `f·x + (1−f)·grey`; hue rotates `h`
    /// in HSV by the factor (mod 1). A zero strength skips that adjustment.
    ColorJitter {
        /// Brightness strength `b`.
        #[serde(default)]
        brightness: f32,
        /// Contrast strength.
        #[serde(default)]
        contrast: f32,
        /// Saturation strength.
        #[serde(default)]
        saturation: f32,
        /// Hue strength, at most 0.5.
        #[serde(default)]
        hue: f32,
        /// Probability of jittering at all.
        #[serde(default = "one")]
        p: f32,
    },
    /// With probability `p`, every channel becomes `0.2989·r + 0.587·g + 0.114·b`.
    RandomGrayscale {
        /// Probability of greying.
        #[serde(default = "tenth")]
        p: f32,
    },
    /// With probability `p`, a separable Gaussian blur: `σ ~ U(sigma)`, weights
    /// `exp(−x²/2σ²)` at `x = −(k−1)/2 ..= (k−1)/2`, normalised; reflect padding (no edge repeat).
    GaussianBlur {
        /// Kernel size `k` (odd).
        kernel: u32,
        /// Range of `σ`.
        sigma: (f32, f32),
        /// Probability of blurring.
        #[serde(default = "one")]
        p: f32,
    },
    /// With probability `p`, `x ↦ 1 − x` where `x ≥ threshold`.
    Solarize {
        /// Threshold in `[0, 1]`.
        threshold: f32,
        /// Probability of solarizing.
        #[serde(default = "half")]
        p: f32,
    },
    /// Keras' `RandomTranslation` (`fill_mode="nearest"`): shifts by `U(height)·H` rows and
    /// `U(width)·W` columns, `in = out − shift`, bilinear, coordinates clamped to the edge.
    RandomTranslation {
        /// Range of the vertical shift as a fraction of the height.
        height: (f32, f32),
        /// Range of the horizontal shift as a fraction of the width.
        width: (f32, f32),
    },
    /// Keras' `RandomRotation` (`fill_mode="nearest"`): angle `U(factor)·2π` about the centre
    /// `((W−1)/2, (H−1)/2)`, bilinear, coordinates clamped to the edge.
    RandomRotation {
        /// Range of the angle as a fraction of a full turn.
        factor: (f32, f32),
    },
    /// Keras' `RandomZoom` (`fill_mode="nearest"`): `in = c + z·(out − c)` per axis with
    /// `z = 1 + U(factor)` (negative zooms in), bilinear, coordinates clamped to the edge.
    RandomZoom {
        /// Range of the vertical zoom factor minus one.
        height: (f32, f32),
        /// Range of the horizontal zoom factor minus one.
        width: (f32, f32),
    },
    /// SCAN's `Cutout`: `holes` squares of side `length` centred uniformly on a pixel, spanning
    /// `[c − length/2, c + length/2)` clipped at the borders, set to `fill`.
    Cutout {
        /// Number of squares.
        #[serde(default = "one_u32")]
        holes: u32,
        /// Side of each square, in pixels.
        length: u32,
        /// Value written into the squares (after Normalize, 0 is the dataset mean).
        #[serde(default)]
        fill: f32,
    },
    /// SCAN's strong augmentation: `n` operations drawn with replacement from its 14
    /// (see [`crate::augment::randaugment`]), with magnitude `m` on a 0–30 scale, or, without `m`,
    /// SCAN's own rule: a magnitude uniform over each operation's range at every application.
    RandAugment {
        /// Number of operations applied.
        n: u32,
        /// Magnitude on a 0–30 scale; absent for SCAN's random magnitude.
        #[serde(default)]
        m: Option<f32>,
    },
    /// Per channel `(x − mean) / std`.
    Normalize {
        /// Channel means `(r, g, b)`.
        mean: (f32, f32, f32),
        /// Channel standard deviations `(r, g, b)`.
        std: (f32, f32, f32),
    },
}

fn default_scale() -> (f32, f32) {
    (0.08, 1.0)
}

fn default_ratio() -> (f32, f32) {
    (3.0 / 4.0, 4.0 / 3.0)
}

fn half() -> f32 {
    0.5
}

fn one() -> f32 {
    1.0
}

fn tenth() -> f32 {
    0.1
}

fn one_u32() -> u32 {
    1
}

impl Default for AugmentOp {
    /// A coin-flip horizontal mirror, the most common single augmentation.
    fn default() -> Self {
        AugmentOp::HorizontalFlip { p: 0.5 }
    }
}

impl AugmentOp {
    /// The variant's name, as written in RON.
    pub fn name(&self) -> &'static str {
        match self {
            AugmentOp::RandomResizedCrop { .. } => "RandomResizedCrop",
            AugmentOp::HorizontalFlip { .. } => "HorizontalFlip",
            AugmentOp::Resize { .. } => "Resize",
            AugmentOp::CenterCrop { .. } => "CenterCrop",
            AugmentOp::RandomCrop { .. } => "RandomCrop",
            AugmentOp::ColorJitter { .. } => "ColorJitter",
            AugmentOp::RandomGrayscale { .. } => "RandomGrayscale",
            AugmentOp::GaussianBlur { .. } => "GaussianBlur",
            AugmentOp::Solarize { .. } => "Solarize",
            AugmentOp::RandomTranslation { .. } => "RandomTranslation",
            AugmentOp::RandomRotation { .. } => "RandomRotation",
            AugmentOp::RandomZoom { .. } => "RandomZoom",
            AugmentOp::Cutout { .. } => "Cutout",
            AugmentOp::RandAugment { .. } => "RandAugment",
            AugmentOp::Normalize { .. } => "Normalize",
        }
    }

    /// The output size for an input of `(width, height)`: fixed by the sized operations,
    /// unchanged by the others.
    pub fn output_size(&self, input: (u32, u32)) -> (u32, u32) {
        match self {
            AugmentOp::RandomResizedCrop { size, .. }
            | AugmentOp::Resize { size }
            | AugmentOp::CenterCrop { size }
            | AugmentOp::RandomCrop { size, .. } => *size,
            _ => input,
        }
    }

    /// Checks the parameters; the message says which one is wrong.
    pub fn validate(&self) -> Result<(), AugmentError> {
        let problem = crate::augment::validate::problem(self);
        match problem {
            None => Ok(()),
            Some(message) => Err(AugmentError::InvalidOp {
                op: self.name(),
                message,
            }),
        }
    }
}
