//! `EvalViews`: four fixed views per image, each the operations it documents, and a
//! multi-view pipeline whose views disagree on their size refused.

use std::sync::Arc;

use crate::augment::{augment_batch, AugmentError, AugmentOp, Pipeline, Recipe};
use crate::data::ImageBatch;
use crate::rng::SplitMix64;

/// Two random 10×10 images.
fn batch() -> ImageBatch {
    let mut rng = SplitMix64::new(7);
    let pixels: Vec<u8> = (0..2 * 10 * 10 * 3).map(|_| rng.below(256) as u8).collect();
    ImageBatch::new(10, 10, 3, pixels, vec![4, 9], None, Arc::from(Vec::new())).unwrap()
}

/// `views` views of every image of `batch()` through `pipeline`.
fn views_of(pipeline: &Pipeline, views: usize) -> Vec<f32> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    let mut out = Vec::new();
    augment_batch(pipeline, &batch(), views, 3, 0, &pool, &mut out).unwrap();
    out
}

/// One view of every image through `ops` alone.
fn custom(ops: Vec<AugmentOp>) -> Vec<f32> {
    views_of(&Recipe::Custom(ops).pipeline().unwrap(), 1)
}

#[test]
fn eval_views_are_the_crop_its_mirror_and_both_cut_from_the_scaled_image() {
    let recipe = Recipe::EvalViews {
        size: (6, 6),
        scaled: (8, 8),
    };
    let out = views_of(&recipe.pipeline().unwrap(), 4);
    let block = 2 * 3 * 6 * 6;
    assert_eq!(out.len(), 4 * block);
    let normalize = recipe.ops()[1].clone();
    let crop = AugmentOp::CenterCrop { size: (6, 6) };
    let flip = AugmentOp::HorizontalFlip { p: 1.0 };
    let resize = AugmentOp::Resize { size: (8, 8) };
    let expected = [
        custom(vec![crop.clone(), normalize.clone()]),
        custom(vec![flip.clone(), crop.clone(), normalize.clone()]),
        custom(vec![resize.clone(), crop.clone(), normalize.clone()]),
        custom(vec![flip, resize, crop, normalize]),
    ];
    for (view, want) in expected.iter().enumerate() {
        assert_eq!(
            &out[view * block..(view + 1) * block],
            &want[..],
            "view {view}"
        );
    }
    assert_ne!(out[..block], out[block..2 * block]);
    assert_eq!(
        Recipe::Eval { size: (6, 6) }.ops(),
        recipe.ops(),
        "view 0 is the Eval recipe"
    );
    let parsed: Recipe = ron::from_str("EvalViews(size: (6, 6), scaled: (8, 8))").unwrap();
    assert_eq!(parsed, recipe);
}

#[test]
fn views_of_different_sizes_are_refused_naming_the_first_that_differs() {
    let pipeline = Pipeline::per_view(vec![
        vec![AugmentOp::CenterCrop { size: (6, 6) }],
        vec![AugmentOp::CenterCrop { size: (6, 6) }],
        vec![AugmentOp::Resize { size: (5, 6) }],
    ])
    .unwrap();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let err = augment_batch(&pipeline, &batch(), 3, 0, 0, &pool, &mut Vec::new()).unwrap_err();
    assert!(
        matches!(
            err,
            AugmentError::ViewSizes {
                view: 2,
                got: (5, 6),
                expected: (6, 6)
            }
        ),
        "{err}"
    );
}
