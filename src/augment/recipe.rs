//! Named augmentation recipes, each expanding to a list of [`AugmentOp`]s.

use serde::{Deserialize, Serialize};

use crate::augment::error::AugmentError;
use crate::augment::op::AugmentOp;
use crate::augment::pipeline::Pipeline;
use crate::data::EvalViewSet;

/// CIFAR-10 channel means used by SCAN's configs.
pub const CIFAR10_MEAN: (f32, f32, f32) = (0.4914, 0.4822, 0.4465);
/// CIFAR-10 channel standard deviations used by SCAN's configs.
pub const CIFAR10_STD: (f32, f32, f32) = (0.2023, 0.1994, 0.2010);

/// A named augmentation. In RON: `SimClr(size: (32, 32))`, `Custom([HorizontalFlip(p: 0.5)])`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Recipe {
    /// SCAN's CIFAR SimCLR pretext transform: RandomResizedCrop(size, crop_scale),
    /// HorizontalFlip(0.5), ColorJitter(0.4, 0.4, 0.4, 0.1) with p 0.8, RandomGrayscale(0.2),
    /// Normalize(CIFAR-10).
    SimClr {
        /// Output size `(width, height)`.
        size: (u32, u32),
        /// Crop area range.
        #[serde(default = "simclr_scale")]
        crop_scale: (f32, f32),
    },
    /// SCAN's strong transform: RandomCrop(size, padding s/8, zero fill), HorizontalFlip(0.5),
    /// RandAugment(4 ops, SCAN's random magnitude), Normalize(CIFAR-10), Cutout(1, s/2, 0),
    /// with `s` the shorter output side: SCAN's padding 4 and Cutout 16 at 32×32, scaled so
    /// that smaller images keep the same proportions.
    ScanStrong {
        /// Output size `(width, height)`.
        size: (u32, u32),
    },
    /// The Keras semantic-image-clustering example: Resize(size), RandomTranslation(±0.2, ±0.2),
    /// HorizontalFlip(0.5), RandomRotation(±0.15), RandomZoom((−0.3, 0.1), (−0.3, 0.1)); no
    /// normalisation.
    Keras {
        /// Output size `(width, height)`.
        size: (u32, u32),
    },
    /// SCAN's evaluation transform, no randomness: CenterCrop(size) (zero padding when the
    /// image is smaller), Normalize(CIFAR-10). Used to encode images for mining and
    /// evaluation and for the kNN monitor.
    Eval {
        /// Output size `(width, height)`.
        size: (u32, u32),
    },
    /// Four fixed views per image for embedding by their mean (test-time augmentation):
    /// view 0 is `Eval`'s centre crop, view 1 its mirror image, view 2 the centre crop of
    /// the image first scaled to `scaled` (smaller than the image: the crop sees more of
    /// it), view 3 that one mirrored. `Encode` averages the views' embeddings; an `Augment`
    /// with fewer `views` takes the first ones.
    EvalViews {
        /// Output size `(width, height)`.
        size: (u32, u32),
        /// The size `(width, height)` images are scaled to before views 2 and 3 are cut.
        scaled: (u32, u32),
    },
    /// An explicit list of operations.
    Custom(Vec<AugmentOp>),
}

fn simclr_scale() -> (f32, f32) {
    (0.2, 1.0)
}

impl Default for Recipe {
    /// SimCLR at CIFAR's 32×32.
    fn default() -> Self {
        Recipe::SimClr {
            size: (32, 32),
            crop_scale: simclr_scale(),
        }
    }
}

impl Recipe {
    /// The recipe's operations, in order (view 0's for [`Recipe::EvalViews`]).
    pub fn ops(&self) -> Vec<AugmentOp> {
        let normalize = AugmentOp::Normalize {
            mean: CIFAR10_MEAN,
            std: CIFAR10_STD,
        };
        let flip = AugmentOp::HorizontalFlip { p: 0.5 };
        match self {
            Recipe::SimClr { size, crop_scale } => vec![
                AugmentOp::RandomResizedCrop {
                    size: *size,
                    scale: *crop_scale,
                    ratio: (3.0 / 4.0, 4.0 / 3.0),
                },
                flip,
                AugmentOp::ColorJitter {
                    brightness: 0.4,
                    contrast: 0.4,
                    saturation: 0.4,
                    hue: 0.1,
                    p: 0.8,
                },
                AugmentOp::RandomGrayscale { p: 0.2 },
                normalize,
            ],
            Recipe::ScanStrong { size } => {
                let side = size.0.min(size.1);
                vec![
                    AugmentOp::RandomCrop {
                        size: *size,
                        padding: (side / 8).max(1),
                    },
                    flip,
                    AugmentOp::RandAugment { n: 4, m: None },
                    normalize,
                    AugmentOp::Cutout {
                        holes: 1,
                        length: (side / 2).max(1),
                        fill: 0.0,
                    },
                ]
            }
            Recipe::Keras { size } => vec![
                AugmentOp::Resize { size: *size },
                AugmentOp::RandomTranslation {
                    height: (-0.2, 0.2),
                    width: (-0.2, 0.2),
                },
                flip,
                AugmentOp::RandomRotation {
                    factor: (-0.15, 0.15),
                },
                AugmentOp::RandomZoom {
                    height: (-0.3, 0.1),
                    width: (-0.3, 0.1),
                },
            ],
            Recipe::Eval { size } | Recipe::EvalViews { size, .. } => {
                vec![AugmentOp::CenterCrop { size: *size }, normalize]
            }
            Recipe::Custom(ops) => ops.clone(),
        }
    }

    /// The operations of each distinct view, in view order: one list, [`Recipe::ops`], for
    /// every recipe but [`Recipe::EvalViews`], whose views each have their own.
    pub fn view_ops(&self) -> Vec<Vec<AugmentOp>> {
        let Recipe::EvalViews { scaled, .. } = *self else {
            return vec![self.ops()];
        };
        let crop = self.ops();
        let zoomed: Vec<AugmentOp> = std::iter::once(AugmentOp::Resize { size: scaled })
            .chain(crop.iter().cloned())
            .collect();
        let mirrored = |ops: &[AugmentOp]| {
            std::iter::once(AugmentOp::HorizontalFlip { p: 1.0 })
                .chain(ops.iter().cloned())
                .collect::<Vec<_>>()
        };
        vec![
            crop.clone(),
            mirrored(&crop),
            zoomed.clone(),
            mirrored(&zoomed),
        ]
    }

    /// What an [`Recipe::EvalViews`] recipe makes with `views` views per image; `None` for
    /// every other recipe.
    pub fn eval_view_set(&self, views: usize) -> Option<EvalViewSet> {
        match *self {
            Recipe::EvalViews { scaled, .. } => Some(EvalViewSet { views, scaled }),
            _ => None,
        }
    }

    /// The validated pipeline of [`Recipe::view_ops`].
    pub fn pipeline(&self) -> Result<Pipeline, AugmentError> {
        Pipeline::per_view(self.view_ops())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The RandomCrop padding and Cutout length of a `ScanStrong` recipe.
    fn strong_geometry(size: (u32, u32)) -> (u32, u32) {
        let ops = Recipe::ScanStrong { size }.ops();
        let padding = ops.iter().find_map(|op| match op {
            AugmentOp::RandomCrop { padding, .. } => Some(*padding),
            _ => None,
        });
        let length = ops.iter().find_map(|op| match op {
            AugmentOp::Cutout { length, .. } => Some(*length),
            _ => None,
        });
        (padding.unwrap(), length.unwrap())
    }

    #[test]
    fn scan_strong_keeps_scans_proportions_at_every_size() {
        assert_eq!(strong_geometry((32, 32)), (4, 16));
        assert_eq!(strong_geometry((16, 16)), (2, 8));
        assert_eq!(strong_geometry((96, 64)), (8, 32));
        assert_eq!(strong_geometry((6, 6)), (1, 3));
    }
}
