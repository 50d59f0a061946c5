//! Tests of the augmentation module, with expected values worked out by hand.

mod batch;
mod color;
mod geometry;
mod randaug;
mod views;

use crate::augment::image::{Image, Scratch};

/// An image from per-pixel RGB triples.
fn image(width: usize, height: usize, pixels: &[[f32; 3]]) -> Image {
    Image::from_data(width, height, pixels.concat()).unwrap()
}

/// A grey image from one value per pixel (R = G = B).
fn grey_image(width: usize, height: usize, values: &[f32]) -> Image {
    let pixels: Vec<[f32; 3]> = values.iter().map(|&v| [v; 3]).collect();
    image(width, height, &pixels)
}

/// A scratch holding `image`.
fn scratch(image: Image) -> Scratch {
    Scratch {
        image,
        ..Scratch::default()
    }
}

/// The first channel of every pixel.
fn red(image: &Image) -> Vec<f32> {
    image.data.iter().step_by(3).copied().collect()
}

fn assert_close(actual: &[f32], expected: &[f32], tol: f32) {
    assert_eq!(actual.len(), expected.len(), "{actual:?} vs {expected:?}");
    for (a, e) in actual.iter().zip(expected) {
        assert!((a - e).abs() <= tol, "{actual:?} vs {expected:?}");
    }
}
