//! Geometry: resampling, crops, flip, blur, cutout and the affine warps.

use super::{assert_close, grey_image, red, scratch};
use crate::augment::crop::{center_crop, random_crop, random_resized_crop, resized_crop_rect};
use crate::augment::filter::{cutout, gaussian_blur, gaussian_kernel};
use crate::augment::resample::{flip_horizontal, resample, resize, Rect};
use crate::augment::warp::{pil_rotation, warp_bilinear_edge, warp_nearest_fill};
use crate::rng::SplitMix64;

#[test]
fn bilinear_upsampling_2_to_4_uses_half_pixel_centres() {
    // Output centres 0.25, 0.75, 1.25, 1.75 in input pixels: edges clamp, the middle two sit a
    // quarter of the way between the samples: [a, 0.75a + 0.25b, 0.25a + 0.75b, b].
    let (a, b) = (0.2, 0.6);
    let mut s = scratch(grey_image(2, 1, &[a, b]));
    resize(&mut s, 4, 1);
    assert_eq!((s.image.width, s.image.height), (4, 1));
    assert_close(
        &red(&s.image),
        &[a, 0.75 * a + 0.25 * b, 0.25 * a + 0.75 * b, b],
        1e-6,
    );
}

#[test]
fn shrinking_widens_the_triangle_as_pil() {
    // 4 → 2: scale 2, taps at t = (i − c + ½)/2 for centre c = 1: i = 0, 1, 2 weigh
    // 0.75, 0.75, 0.25 → (3a + 3b + c)/7; for c = 3: i = 1, 2, 3 → (b + 3c + 3d)/7.
    let v = [0.1, 0.3, 0.6, 1.0];
    let mut s = scratch(grey_image(4, 1, &v));
    resize(&mut s, 2, 1);
    let expected = [
        (3.0 * 0.1 + 3.0 * 0.3 + 0.6) / 7.0,
        (0.3 + 3.0 * 0.6 + 3.0 * 1.0) / 7.0,
    ];
    assert_close(&red(&s.image), &expected, 1e-6);
}

#[test]
fn full_image_crop_of_the_same_size_is_the_identity() {
    let values: Vec<f32> = (0..12).map(|i| i as f32 / 12.0).collect();
    let original = grey_image(4, 3, &values);
    let mut s = scratch(original.clone());
    let rect = Rect {
        left: 0,
        top: 0,
        width: 4,
        height: 3,
    };
    resample(&mut s, rect, 4, 3);
    assert_eq!(s.image, original);
    // A resized crop forced to the whole square image (scale 1, ratio 1) is the identity too.
    let square = grey_image(3, 3, &values[..9]);
    let mut s = scratch(square.clone());
    random_resized_crop(
        &mut s,
        &mut SplitMix64::new(1),
        (3, 3),
        (1.0, 1.0),
        (1.0, 1.0),
    );
    assert_eq!(s.image, square);
}

#[test]
fn resized_crop_areas_and_ratios_stay_in_range() {
    // On 1000×1000 rounding moves the area by < 0.2 %, so the sampled ranges show through.
    let mut rng = SplitMix64::new(11);
    for _ in 0..2000 {
        let r = resized_crop_rect(&mut rng, 1000, 1000, (0.2, 1.0), (0.75, 4.0 / 3.0));
        let area = (r.width * r.height) as f64 / 1e6;
        let ratio = r.width as f64 / r.height as f64;
        assert!((0.198..=1.0).contains(&area), "{r:?}");
        assert!((0.748..=1.336).contains(&ratio), "{r:?}");
        assert!(r.left + r.width <= 1000 && r.top + r.height <= 1000);
    }
}

#[test]
fn resized_crop_falls_back_to_the_clamped_centre() {
    // Ratio 2 on a 10×10 image: w = round(√(100·2)) = 14 > 10 every attempt, so the fallback
    // keeps the width and takes h = round(10/2) = 5, centred: top = (10 − 5)/2 = 2.
    let r = resized_crop_rect(&mut SplitMix64::new(3), 10, 10, (1.0, 1.0), (2.0, 2.0));
    assert_eq!(
        r,
        Rect {
            left: 0,
            top: 2,
            width: 10,
            height: 5
        }
    );
}

#[test]
fn center_crop_rounds_half_to_even_and_pads_with_zeros() {
    let values: Vec<f32> = (0..25).map(|i| i as f32).collect();
    // 5 → 2: offset round(1.5) = 2, so rows/columns 2..4: values 12, 13, 17, 18.
    let mut s = scratch(grey_image(5, 5, &values));
    center_crop(&mut s, (2, 2));
    assert_eq!(red(&s.image), [12.0, 13.0, 17.0, 18.0]);
    // 1 → 3: one zero on each side.
    let mut s = scratch(grey_image(1, 1, &[7.0]));
    center_crop(&mut s, (3, 1));
    assert_eq!(red(&s.image), [0.0, 7.0, 0.0]);
}

#[test]
fn random_crop_is_a_shifted_window_with_zero_padding() {
    let values: Vec<f32> = (1..=16).map(|i| i as f32).collect();
    let mut rng = SplitMix64::new(2);
    for _ in 0..50 {
        let mut s = scratch(grey_image(4, 4, &values));
        random_crop(&mut s, &mut rng, (4, 4), 2);
        let out = red(&s.image);
        // The window shows a contiguous part of the 1..=16 ramp: horizontal neighbours differ by
        // 1 and vertical ones by 4 wherever both are inside the image.
        for y in 0..4 {
            for x in 0..3 {
                let (a, b) = (out[y * 4 + x], out[y * 4 + x + 1]);
                assert!(a == 0.0 || b == 0.0 || b - a == 1.0, "{out:?}");
            }
        }
        assert!(out.iter().filter(|&&v| v > 0.0).count() >= 4, "{out:?}");
    }
    let mut s = scratch(grey_image(4, 4, &values));
    random_crop(&mut s, &mut rng, (4, 4), 0);
    assert_eq!(red(&s.image), values);
}

#[test]
fn flip_mirrors_each_row() {
    let mut s = scratch(grey_image(3, 2, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]));
    flip_horizontal(&mut s.image);
    assert_eq!(red(&s.image), [3.0, 2.0, 1.0, 6.0, 5.0, 4.0]);
}

#[test]
fn gaussian_kernel_is_normalised_exp() {
    // σ = 1, k = 5: exp(−x²/2) at x = −2..2 = e⁻², e^−½, 1, e^−½, e⁻², divided by their sum.
    let mut k = Vec::new();
    gaussian_kernel(5, 1.0, &mut k);
    let raw = [
        (-2.0f32).exp(),
        (-0.5f32).exp(),
        1.0,
        (-0.5f32).exp(),
        (-2.0f32).exp(),
    ];
    let total: f32 = raw.iter().sum();
    assert_close(&k, &raw.map(|w| w / total), 1e-6);
    assert!((k.iter().sum::<f32>() - 1.0).abs() < 1e-6);
}

#[test]
fn gaussian_blur_reflects_at_the_border() {
    // [0, 1, 0] with taps [a, b, a]: reflect padding reads index 1 for −1 and 3, so the edges get
    // 2a and the centre b (zero padding would give a; height 1 leaves columns unchanged).
    let mut s = scratch(grey_image(3, 1, &[0.0, 1.0, 0.0]));
    gaussian_blur(&mut s, 3, 1.0);
    let mut k = Vec::new();
    gaussian_kernel(3, 1.0, &mut k);
    assert_close(&red(&s.image), &[2.0 * k[0], k[1], 2.0 * k[0]], 1e-6);
}

#[test]
fn cutout_zeroes_the_clipped_square() {
    // Centre (1, 6), length 4: x in [−1, 3) → [0, 3), y in [4, 8): 3·4 = 12 pixels.
    let mut img = grey_image(8, 8, &[1.0; 64]);
    cutout(&mut img, 1, 6, 4, 0.0);
    for y in 0..8 {
        for x in 0..8 {
            let expected = if x < 3 && y >= 4 { 0.0 } else { 1.0 };
            assert_eq!(img.data[(y * 8 + x) * 3], expected, "({x}, {y})");
        }
    }
}

#[test]
fn keras_warps_read_bilinearly_and_clamp_to_the_edge() {
    // Shift right by 1: x_in = x − 1 → [a (clamped from −1), a, b]; by ½ → [a, (a+b)/2, (b+c)/2].
    let mut s = scratch(grey_image(3, 1, &[0.1, 0.5, 0.9]));
    warp_bilinear_edge(&mut s, [1.0, 0.0, -1.0, 0.0, 1.0, 0.0]);
    assert_close(&red(&s.image), &[0.1, 0.1, 0.5], 1e-6);
    let mut s = scratch(grey_image(3, 1, &[0.1, 0.5, 0.9]));
    warp_bilinear_edge(&mut s, [1.0, 0.0, -0.5, 0.0, 1.0, 0.0]);
    assert_close(&red(&s.image), &[0.1, 0.3, 0.7], 1e-6);
}

#[test]
fn pil_warps_take_the_nearest_pixel_and_fill_outside() {
    // Translate (1, 0, 1, 0, 1, 0): x_in = x + ½ + 1 → pixel x + 1; the last reads the fill.
    let mut s = scratch(grey_image(3, 1, &[0.1, 0.5, 0.9]));
    warp_nearest_fill(&mut s, [1.0, 0.0, 1.0, 0.0, 1.0, 0.0], 0.0);
    assert_eq!(red(&s.image), [0.5, 0.9, 0.0]);
    // Rotating by 180° about (W/2, H/2) maps centre (x + ½) to W − x − ½: both axes reversed.
    let mut s = scratch(grey_image(2, 2, &[1.0, 2.0, 3.0, 4.0]));
    warp_nearest_fill(&mut s, pil_rotation(180.0, 2, 2), 0.0);
    assert_eq!(red(&s.image), [4.0, 3.0, 2.0, 1.0]);
}
