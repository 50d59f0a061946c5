//! A validated list of augmentation operations, applied in order to one scratch image with one
//! sample's generator — or one list per view, for recipes whose views differ by design.

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

/// Augmentation operations whose parameters have been checked: one list for every view, or
/// one per distinct view (view `v` runs list `v mod lists`).
#[derive(Clone, Debug, PartialEq)]
pub struct Pipeline {
    views: Vec<Vec<AugmentOp>>,
}

impl Pipeline {
    /// Checks every operation; the first invalid one is the error.
    pub fn new(ops: Vec<AugmentOp>) -> Result<Pipeline, AugmentError> {
        Pipeline::per_view(vec![ops])
    }

    /// One list of operations per distinct view (at least one list), every operation
    /// checked.
    pub fn per_view(views: Vec<Vec<AugmentOp>>) -> Result<Pipeline, AugmentError> {
        views.iter().flatten().try_for_each(AugmentOp::validate)?;
        match views.is_empty() {
            true => Pipeline::new(Vec::new()),
            false => Ok(Pipeline { views }),
        }
    }

    /// The operations of view 0 (of every view unless the views differ).
    pub fn ops(&self) -> &[AugmentOp] {
        &self.views[0]
    }

    /// The operations of each distinct view.
    pub fn view_ops(&self) -> &[Vec<AugmentOp>] {
        &self.views
    }

    /// The number of distinct views.
    pub fn distinct_views(&self) -> usize {
        self.views.len()
    }

    /// The output `(width, height)` of view 0 for inputs of `input`.
    pub fn output_size(&self, input: (u32, u32)) -> (u32, u32) {
        view_size(self.ops(), input)
    }

    /// The one output `(width, height)` of every view for inputs of `input`, or the first
    /// view whose size differs from view 0's.
    pub fn shared_output_size(&self, input: (u32, u32)) -> Result<(u32, u32), AugmentError> {
        let expected = self.output_size(input);
        match self
            .views
            .iter()
            .map(|ops| view_size(ops, input))
            .position(|got| got != expected)
        {
            None => Ok(expected),
            Some(view) => Err(AugmentError::ViewSizes {
                view,
                got: view_size(&self.views[view], input),
                expected,
            }),
        }
    }

    /// Runs every operation of view `view` on `s.image`, drawing from `rng`.
    pub fn apply(&self, view: usize, s: &mut Scratch, rng: &mut SplitMix64) {
        let ops = &self.views[view % self.views.len()];
        ops.iter().for_each(|op| apply_op(op, s, rng));
    }
}

/// The output `(width, height)` of `ops` for inputs of `input`.
fn view_size(ops: &[AugmentOp], input: (u32, u32)) -> (u32, u32) {
    ops.iter().fold(input, |size, op| op.output_size(size))
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
