//! SCAN's strong operations: posterize, equalize, autocontrast, sharpness, the magnitude rule.

use super::{assert_close, grey_image, red, scratch};
use crate::augment::randaugment::{apply, autocontrast, equalize, posterize, rand_augment, Op};
use crate::rng::SplitMix64;

#[test]
fn posterize_keeps_the_top_bits() {
    // 200 = 0b1100_1000: 4 bits → 0b1100_0000 = 192; 1 bit → 128; 8 bits → 200.
    for (bits, expected) in [(4, 192.0), (1, 128.0), (8, 200.0)] {
        let mut img = grey_image(1, 1, &[200.0 / 255.0]);
        posterize(&mut img, bits);
        assert_close(&red(&img), &[expected / 255.0], 1e-6);
    }
}

#[test]
fn equalize_follows_pils_lut() {
    // 32×32 with 256 pixels at each of 0, 64, 128, 192: step = (1024 − 256) // 255 = 3,
    // n starts at 1: lut[0] = 1//3 = 0, lut[64] = 257//3 = 85, lut[128] = 513//3 = 171,
    // lut[192] = 769//3 = 256 → 255.
    let levels = [0.0, 64.0, 128.0, 192.0];
    let values: Vec<f32> = (0..1024).map(|i| levels[i / 256] / 255.0).collect();
    let mut img = grey_image(32, 32, &values);
    equalize(&mut img);
    let out = red(&img);
    let expected = [0.0, 85.0, 171.0, 255.0];
    for (q, e) in expected.iter().enumerate() {
        assert!(
            (out[q * 256] - e / 255.0).abs() < 1e-6,
            "level {q}: {}",
            out[q * 256]
        );
    }
    // A 4-pixel image has step (4 − 1) // 255 = 0: PIL leaves it unchanged.
    let small = [0.0, 64.0 / 255.0, 128.0 / 255.0, 1.0];
    let mut img = grey_image(2, 2, &small);
    equalize(&mut img);
    assert_close(&red(&img), &small, 1e-6);
}

#[test]
fn autocontrast_stretches_each_channel() {
    // [0.2, 0.4, 0.6] → (x − 0.2)/0.4 = [0, 0.5, 1]; a flat channel stays.
    let mut img = grey_image(3, 1, &[0.2, 0.4, 0.6]);
    autocontrast(&mut img);
    assert_close(&red(&img), &[0.0, 0.5, 1.0], 1e-6);
    let mut flat = grey_image(2, 1, &[0.3, 0.3]);
    autocontrast(&mut flat);
    assert_close(&red(&flat), &[0.3, 0.3], 1e-6);
}

#[test]
fn sharpness_zero_is_pils_smooth_with_borders_kept() {
    // 3×3 with 1 at the centre and 0 around: SMOOTH gives the centre 5/13; borders stay 0.
    let mut values = [0.0; 9];
    values[4] = 1.0;
    let mut s = scratch(grey_image(3, 3, &values));
    apply(&mut s, Op::Sharpness, 0.0);
    let mut expected = [0.0; 9];
    expected[4] = 5.0 / 13.0;
    assert_close(&red(&s.image), &expected, 1e-6);
}

#[test]
fn enhance_ops_blend_with_their_degenerate_image() {
    // Brightness 0.5 halves; Contrast 0 is the mean L rounded to 8 bits: L of (0.2, 0.6) is
    // 0.4 → round(102)/255 = 0.4.
    let mut s = scratch(grey_image(2, 1, &[0.2, 0.6]));
    apply(&mut s, Op::Brightness, 0.5);
    assert_close(&red(&s.image), &[0.1, 0.3], 1e-6);
    let mut s = scratch(grey_image(2, 1, &[0.2, 0.6]));
    apply(&mut s, Op::Contrast, 0.0);
    assert_close(&red(&s.image), &[0.4, 0.4], 1e-6);
}

#[test]
fn rand_augment_is_seeded_and_keeps_the_size() {
    let values: Vec<f32> = (0..64).map(|i| i as f32 / 64.0).collect();
    let run = |seed| {
        let mut s = scratch(grey_image(8, 8, &values));
        rand_augment(&mut s, &mut SplitMix64::new(seed), 4, None);
        s.image
    };
    assert_eq!(run(1), run(1));
    assert_eq!((run(2).width, run(2).height), (8, 8));
    let mut s = scratch(grey_image(8, 8, &values));
    rand_augment(&mut s, &mut SplitMix64::new(1), 0, Some(10.0));
    assert_eq!(red(&s.image), values);
}
