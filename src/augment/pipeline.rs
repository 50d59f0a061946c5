//! A validated list of augmentation operations, applied in order to one scratch image with one
//! sample's generator.

use crate::augment::color::{grayscale, jitter, normalize, sample_jitter, solarize};
use crate::augment::crop::{center_crop, random_crop, random_resized_crop};
use crate::augment::error::AugmentError;
use crate::augment::filter::{cutout, gaussian_blur};
use crate::augment::image::Scratch;
use crate::augment::op::AugmentOp;
use crate::augment::randaugment::rand_augment;
use crate::augment::resample::{flip_horizontal, resize};
use crate::augment::warp::{random_rotation, random_translation, random_zoom};
use crate::rng::SplitMix64;

/// Augmentation operations whose parameters have been checked.
#[derive(Clone, Debug, PartialEq)]
pub struct Pipeline {
    ops: Vec<AugmentOp>,
}

impl Pipeline {
    /// Checks every operation; the first invalid one is the error.
    pub fn new(ops: Vec<AugmentOp>) -> Result<Pipeline, AugmentError> {
        ops.iter().try_for_each(AugmentOp::validate)?;
        Ok(Pipeline { ops })
    }

    /// The operations, in order.
    pub fn ops(&self) -> &[AugmentOp] {
        &self.ops
    }

    /// The output `(width, height)` for inputs of `input`.
    pub fn output_size(&self, input: (u32, u32)) -> (u32, u32) {
        self.ops.iter().fold(input, |size, op| op.output_size(size))
    }

    /// Runs every operation on `s.image`, drawing from `rng`.
    pub fn apply(&self, s: &mut Scratch, rng: &mut SplitMix64) {
        self.ops.iter().for_each(|op| apply_op(op, s, rng));
    }
}

/// Runs one operation (a dispatch: one arm per variant).
fn apply_op(op: &AugmentOp, s: &mut Scratch, rng: &mut SplitMix64) {
    match *op {
        AugmentOp::RandomResizedCrop { size, scale, ratio } => {
            random_resized_crop(s, rng, size, scale, ratio)
        }
        AugmentOp::HorizontalFlip { p } => {
            if rng.bernoulli(p) {
                flip_horizontal(&mut s.image)
            }
        }
        AugmentOp::Resize { size } => resize(s, size.0 as usize, size.1 as usize),
        AugmentOp::CenterCrop { size } => center_crop(s, size),
        AugmentOp::RandomCrop { size, padding } => random_crop(s, rng, size, padding),
        AugmentOp::ColorJitter {
            brightness,
            contrast,
            saturation,
            hue,
            p,
        } => {
            if rng.bernoulli(p) {
                let adjust = sample_jitter(rng, [brightness, contrast, saturation], hue);
                jitter(&mut s.image, &adjust);
            }
        }
        AugmentOp::RandomGrayscale { p } => {
            if rng.bernoulli(p) {
                grayscale(&mut s.image)
            }
        }
        AugmentOp::GaussianBlur { kernel, sigma, p } => {
            if rng.bernoulli(p) {
                let sigma = rng.uniform_f32(sigma.0, sigma.1);
                gaussian_blur(s, kernel as usize, sigma)
            }
        }
        AugmentOp::Solarize { threshold, p } => {
            if rng.bernoulli(p) {
                solarize(&mut s.image, threshold)
            }
        }
        AugmentOp::RandomTranslation { height, width } => random_translation(s, rng, height, width),
        AugmentOp::RandomRotation { factor } => random_rotation(s, rng, factor),
        AugmentOp::RandomZoom { height, width } => random_zoom(s, rng, height, width),
        AugmentOp::Cutout {
            holes,
            length,
            fill,
        } => {
            for _ in 0..holes {
                let cy = rng.below(s.image.height);
                let cx = rng.below(s.image.width);
                cutout(&mut s.image, cx, cy, length as usize, fill);
            }
        }
        AugmentOp::RandAugment { n, m } => rand_augment(s, rng, n, m),
        AugmentOp::Normalize { mean, std } => normalize(
            &mut s.image,
            [mean.0, mean.1, mean.2],
            [std.0, std.1, std.2],
        ),
    }
}
