//! Colour operations: greyscale, the ColorJitter adjustments, hue, solarize, normalize.

use super::{assert_close, image};
use crate::augment::color::{
    grayscale, grey, jitter, normalize, sample_jitter, shift_hue, solarize, Adjust,
};
use crate::rng::SplitMix64;

#[test]
fn greyscale_of_one_pixel_uses_torchvision_weights() {
    // 0.2989·0.5 + 0.587·0.25 + 0.114·1.0 = 0.14945 + 0.14675 + 0.114 = 0.4102.
    assert!((grey(&[0.5, 0.25, 1.0]) - 0.4102).abs() < 1e-6);
    let mut img = image(1, 1, &[[0.5, 0.25, 1.0]]);
    grayscale(&mut img);
    assert_close(&img.data, &[0.4102; 3], 1e-6);
}

#[test]
fn brightness_scales_and_clamps() {
    // 1.5·(0.2, 0.4, 0.8) = (0.3, 0.6, 1.2 → 1.0); 1.5·(0.1, 0.5, 0.6) = (0.15, 0.75, 0.9).
    let mut img = image(2, 1, &[[0.2, 0.4, 0.8], [0.1, 0.5, 0.6]]);
    jitter(&mut img, &[Some(Adjust::Brightness(1.5)), None, None, None]);
    assert_close(&img.data, &[0.3, 0.6, 1.0, 0.15, 0.75, 0.9], 1e-6);
}

#[test]
fn contrast_blends_with_the_mean_grey() {
    // White grey = 0.9999, black 0 → mean 0.49995; f = 0.5: 0.5·1 + 0.5·0.49995 = 0.749975
    // and 0.5·0 + 0.5·0.49995 = 0.249975.
    let mut img = image(2, 1, &[[1.0; 3], [0.0; 3]]);
    jitter(&mut img, &[Some(Adjust::Contrast(0.5)), None, None, None]);
    assert_close(
        &img.data,
        &[0.749975, 0.749975, 0.749975, 0.249975, 0.249975, 0.249975],
        1e-6,
    );
}

#[test]
fn contrast_takes_its_mean_after_earlier_adjustments() {
    // Brightness 0.5 first: white → 0.5 (grey 0.49995), black → 0; mean 0.249975. Contrast 0
    // then sets every value to that mean.
    let mut img = image(2, 1, &[[1.0; 3], [0.0; 3]]);
    let adjust = [
        Some(Adjust::Brightness(0.5)),
        Some(Adjust::Contrast(0.0)),
        None,
        None,
    ];
    jitter(&mut img, &adjust);
    assert_close(&img.data, &[0.249975; 6], 1e-6);
}

#[test]
fn saturation_blends_with_the_pixel_grey() {
    // Grey of (0.5, 0.25, 1.0) is 0.4102 (above). f = 0 gives the grey; f = 2 gives
    // 2x − grey = (0.5898, 0.0898, 1.5898 → 1.0). Second pixel (0, 0, 0) stays black.
    let mut img = image(2, 1, &[[0.5, 0.25, 1.0], [0.0; 3]]);
    jitter(&mut img, &[Some(Adjust::Saturation(0.0)), None, None, None]);
    assert_close(&img.data, &[0.4102, 0.4102, 0.4102, 0.0, 0.0, 0.0], 1e-6);
    let mut img = image(2, 1, &[[0.5, 0.25, 1.0], [0.0; 3]]);
    jitter(&mut img, &[None, Some(Adjust::Saturation(2.0)), None, None]);
    assert_close(&img.data, &[0.5898, 0.0898, 1.0, 0.0, 0.0, 0.0], 1e-5);
}

#[test]
fn hue_shift_of_a_third_turns_red_green_and_green_blue() {
    // Red has h = 0, s = v = 1; h + 1/3 is the sextant i = 2: (p, v, t) = (0, 1, 0).
    assert_close(
        &shift_hue([1.0, 0.0, 0.0], 1.0 / 3.0),
        &[0.0, 1.0, 0.0],
        1e-5,
    );
    assert_close(
        &shift_hue([0.0, 1.0, 0.0], 1.0 / 3.0),
        &[0.0, 0.0, 1.0],
        1e-5,
    );
    // A negative shift wraps: red − 1/3 = h 2/3 = blue.
    assert_close(
        &shift_hue([1.0, 0.0, 0.0], -1.0 / 3.0),
        &[0.0, 0.0, 1.0],
        1e-5,
    );
    // Greys have no hue and stay put; a zero shift is the identity on a generic colour.
    assert_close(&shift_hue([0.3; 3], 0.25), &[0.3; 3], 1e-6);
    assert_close(&shift_hue([0.2, 0.7, 0.4], 0.0), &[0.2, 0.7, 0.4], 1e-6);
}

#[test]
fn jitter_factors_stay_in_their_ranges_and_order_is_a_permutation() {
    let mut rng = SplitMix64::new(5);
    for _ in 0..1000 {
        let adjust = sample_jitter(&mut rng, [0.4, 0.4, 0.4], 0.1);
        let mut kinds: Vec<u8> = adjust.iter().flatten().map(|a| kind(*a)).collect();
        kinds.sort_unstable();
        assert_eq!(kinds, [0, 1, 2, 3]);
        for a in adjust.iter().flatten() {
            match *a {
                Adjust::Hue(h) => assert!((-0.1..0.1).contains(&h)),
                Adjust::Brightness(f) | Adjust::Contrast(f) | Adjust::Saturation(f) => {
                    assert!((0.6..1.4).contains(&f))
                }
            }
        }
    }
    // A zero strength is skipped entirely.
    let adjust = sample_jitter(&mut rng, [0.0, 0.5, 0.0], 0.0);
    assert_eq!(adjust.iter().flatten().count(), 1);
}

fn kind(a: Adjust) -> u8 {
    match a {
        Adjust::Brightness(_) => 0,
        Adjust::Contrast(_) => 1,
        Adjust::Saturation(_) => 2,
        Adjust::Hue(_) => 3,
    }
}

#[test]
fn solarize_inverts_at_and_above_the_threshold() {
    let mut img = image(1, 1, &[[0.2, 0.5, 0.9]]);
    solarize(&mut img, 0.5);
    assert_close(&img.data, &[0.2, 0.5, 0.1], 1e-6);
}

#[test]
fn normalize_subtracts_the_mean_and_divides_by_std() {
    // (0.5 − 0.4914)/0.2023 = 0.0425111, (0.5 − 0.4822)/0.1994 = 0.0892678,
    // (0.5 − 0.4465)/0.2010 = 0.2661692.
    let mut img = image(1, 1, &[[0.5; 3]]);
    normalize(&mut img, [0.4914, 0.4822, 0.4465], [0.2023, 0.1994, 0.2010]);
    assert_close(&img.data, &[0.0425111, 0.0892678, 0.2661692], 1e-5);
}
