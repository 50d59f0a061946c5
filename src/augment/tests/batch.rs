//! The batch kernel: layout, determinism, pool-size independence, recipes from RON.

use std::sync::Arc;

use crate::augment::{augment_batch, AugmentError, AugmentOp, Pipeline, Recipe};
use crate::data::ImageBatch;
use crate::rng::SplitMix64;

/// `n` random 8×6 images with dataset indices 100, 101, ….
fn batch(n: usize) -> ImageBatch {
    let mut rng = SplitMix64::new(42);
    let pixels: Vec<u8> = (0..n * 8 * 6 * 3).map(|_| rng.below(256) as u8).collect();
    let indices = (0..n as u64).map(|i| 100 + i).collect();
    ImageBatch::new(6, 8, 3, pixels, indices, None, Arc::from(Vec::new())).unwrap()
}

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
}

fn run(
    pipeline: &Pipeline,
    batch: &ImageBatch,
    views: usize,
    seed: u64,
    threads: usize,
) -> Vec<f32> {
    let mut out = Vec::new();
    augment_batch(pipeline, batch, views, seed, 0, &pool(threads), &mut out).unwrap();
    out
}

#[test]
fn identity_pipeline_writes_view_major_chw() {
    // No ops: view v of image i at channel c, row y, column x sits at
    // ((v·N + i)·3 + c)·H·W + y·W + x and holds the byte / 255.
    let b = batch(3);
    let out = run(&Pipeline::new(Vec::new()).unwrap(), &b, 2, 0, 2);
    assert_eq!(out.len(), 2 * 3 * 3 * 6 * 8);
    let (i, c, y, x) = (2, 1, 4, 5);
    let byte = b.image(i)[(y * 8 + x) * 3 + c];
    for v in 0..2 {
        let at = ((v * 3 + i) * 3 + c) * 48 + y * 8 + x;
        assert_eq!(out[at], f32::from(byte) / 255.0);
    }
}

#[test]
fn results_do_not_depend_on_the_pool_size() {
    let b = batch(16);
    let recipes = [
        Recipe::SimClr {
            size: (8, 6),
            crop_scale: (0.2, 1.0),
        },
        Recipe::ScanStrong { size: (8, 6) },
        Recipe::Keras { size: (5, 4) },
    ];
    for recipe in recipes {
        let p = recipe.pipeline().unwrap();
        let (one, two) = (run(&p, &b, 2, 9, 1), run(&p, &b, 2, 9, 2));
        assert_eq!(
            one.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            two.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            "{recipe:?}"
        );
    }
}

#[test]
fn samples_are_seeded_by_seed_epoch_index_and_view() {
    let p = Recipe::SimClr {
        size: (8, 6),
        crop_scale: (0.2, 1.0),
    }
    .pipeline()
    .unwrap();
    let b = batch(2);
    let per = 3 * 8 * 6;
    let out = run(&p, &b, 2, 1, 1);
    assert_eq!(out, run(&p, &b, 2, 1, 1));
    assert_ne!(out, run(&p, &b, 2, 2, 1));
    // The same image in another position (same dataset index) gets the same augmentation.
    let mut swapped = b.clone();
    swapped.indices.swap(0, 1);
    let (first, second) = b.pixels.split_at(b.image_bytes());
    swapped.pixels = [second, first].concat();
    let other = run(&p, &swapped, 2, 1, 1);
    assert_eq!(out[..per], other[per..2 * per]);
    // Views and images differ from one another.
    assert_ne!(out[..per], out[2 * per..3 * per]);
    let mut next_epoch = Vec::new();
    augment_batch(&p, &b, 2, 1, 1, &pool(1), &mut next_epoch).unwrap();
    assert_ne!(out, next_epoch);
}

#[test]
fn the_output_allocation_is_reused() {
    let p = Recipe::default().pipeline().unwrap();
    let b = batch(4);
    let mut out = Vec::new();
    let pool = pool(2);
    augment_batch(&p, &b, 2, 0, 0, &pool, &mut out).unwrap();
    let ptr = out.as_ptr();
    assert_eq!(
        augment_batch(&p, &b, 2, 0, 1, &pool, &mut out).unwrap(),
        (32, 32)
    );
    assert_eq!(out.as_ptr(), ptr);
    assert_eq!(out.len(), 2 * 4 * 3 * 32 * 32);
}

#[test]
fn non_rgb_batches_are_refused() {
    let grey = ImageBatch::new(2, 2, 1, vec![0; 4], vec![0], None, Arc::from(Vec::new())).unwrap();
    let p = Recipe::default().pipeline().unwrap();
    let err = augment_batch(&p, &grey, 1, 0, 0, &pool(1), &mut Vec::new()).unwrap_err();
    assert!(matches!(err, AugmentError::Channels { channels: 1 }));
}

#[test]
fn recipes_and_ops_parse_from_ron() {
    let recipe: Recipe = ron::from_str("SimClr(size: (32, 32))").unwrap();
    assert_eq!(recipe, Recipe::default());
    let custom: Recipe = ron::from_str(
        "Custom([HorizontalFlip(p: 1.0), GaussianBlur(kernel: 3, sigma: (0.1, 2.0))])",
    )
    .unwrap();
    assert_eq!(custom.ops()[0], AugmentOp::HorizontalFlip { p: 1.0 });
    assert!(ron::from_str::<AugmentOp>("HorizontalFlip(q: 1.0)").is_err());
    let even: AugmentOp = ron::from_str("GaussianBlur(kernel: 4, sigma: (0.1, 2.0))").unwrap();
    let err = Pipeline::new(vec![even]).unwrap_err();
    assert!(err.to_string().contains("kernel = 4 must be odd"), "{err}");
    let simclr = Recipe::default().ops();
    assert_eq!(simclr.len(), 5);
    assert_eq!(
        Recipe::ScanStrong { size: (32, 32) }
            .pipeline()
            .unwrap()
            .output_size((40, 40)),
        (32, 32)
    );
}
