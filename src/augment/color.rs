//! Colour operations on `[0, 1]` RGB (torchvision's tensor maths): greyscale
//! `0.2989·r + 0.587·g + 0.114·b`, the four ColorJitter adjustments fused per pixel, solarize
//! and normalize. HSV follows torchvision's `_rgb2hsv` / `_hsv2rgb` exactly.

use crate::augment::image::Image;
use crate::rng::SplitMix64;

/// torchvision's greyscale of one pixel.
#[inline(always)]
pub fn grey(px: &[f32]) -> f32 {
    0.2989 * px[0] + 0.587 * px[1] + 0.114 * px[2]
}

/// One ColorJitter adjustment with its sampled factor.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Adjust {
    /// `f·x`, clamped.
    Brightness(f32),
    /// `f·x + (1−f)·mean(grey)`, clamped (the mean is taken when the adjustment is reached).
    Contrast(f32),
    /// `f·x + (1−f)·grey(x)`, clamped.
    Saturation(f32),
    /// Hue rotated by the factor (a fraction of a turn).
    Hue(f32),
}

/// Draws a ColorJitter: `randperm(4)`, then each factor whose strength is non-zero
/// (brightness, contrast, saturation, hue, in that order), and returns the adjustments in
/// application order (at most 4, the rest `None`).
pub fn sample_jitter(rng: &mut SplitMix64, strengths: [f32; 3], hue: f32) -> [Option<Adjust>; 4] {
    let mut order = [0usize, 1, 2, 3];
    rng.shuffle(&mut order);
    let mut factors = [None; 4];
    for (k, &s) in strengths.iter().enumerate() {
        factors[k] = (s > 0.0).then(|| rng.uniform_f32((1.0 - s).max(0.0), 1.0 + s));
    }
    factors[3] = (hue > 0.0).then(|| rng.uniform_f32(-hue, hue));
    let make = [
        Adjust::Brightness,
        Adjust::Contrast,
        Adjust::Saturation,
        Adjust::Hue,
    ];
    order.map(|k| factors[k].map(make[k]))
}

/// Applies the adjustments in order. Per-pixel adjustments are fused into one pass; a
/// contrast adjustment splits the work in two passes, the first also summing the greyscale.
pub fn jitter(image: &mut Image, adjust: &[Option<Adjust>; 4]) {
    let split = adjust
        .iter()
        .position(|a| matches!(a, Some(Adjust::Contrast(_))));
    let Some(k) = split else {
        return per_pixel(image, adjust, None);
    };
    let mean = per_pixel_mean(image, &adjust[..k]);
    per_pixel(image, &adjust[k + 1..], adjust[k].map(|a| (a, mean)));
}

/// Applies per-pixel adjustments and returns the mean greyscale of the result.
fn per_pixel_mean(image: &mut Image, adjust: &[Option<Adjust>]) -> f32 {
    let mut sum = 0.0f64;
    for px in image.data.chunks_exact_mut(3) {
        let mut p = [px[0], px[1], px[2]];
        adjust.iter().flatten().for_each(|a| p = pixel(p, *a, 0.0));
        sum += f64::from(grey(&p));
        px.copy_from_slice(&p);
    }
    (sum / (image.width * image.height).max(1) as f64) as f32
}

/// Applies `first` (a contrast with its mean) then the per-pixel adjustments to every pixel.
fn per_pixel(image: &mut Image, adjust: &[Option<Adjust>], first: Option<(Adjust, f32)>) {
    for px in image.data.chunks_exact_mut(3) {
        let mut p = [px[0], px[1], px[2]];
        if let Some((a, mean)) = first {
            p = pixel(p, a, mean);
        }
        adjust.iter().flatten().for_each(|a| p = pixel(p, *a, 0.0));
        px.copy_from_slice(&p);
    }
}

/// One adjustment of one pixel; `mean` is the contrast mean (unused otherwise).
#[inline(always)]
fn pixel(p: [f32; 3], adjust: Adjust, mean: f32) -> [f32; 3] {
    match adjust {
        Adjust::Brightness(f) => p.map(|x| (f * x).clamp(0.0, 1.0)),
        Adjust::Contrast(f) => blend(p, [mean; 3], f),
        Adjust::Saturation(f) => blend(p, [grey(&p); 3], f),
        Adjust::Hue(h) => shift_hue(p, h),
    }
}

/// torchvision's `_blend`: `f·a + (1−f)·b`, clamped to `[0, 1]`.
#[inline(always)]
fn blend(a: [f32; 3], b: [f32; 3], f: f32) -> [f32; 3] {
    [0, 1, 2].map(|c| (f * a[c] + (1.0 - f) * b[c]).clamp(0.0, 1.0))
}

/// torchvision's `adjust_hue` on one pixel: to HSV, `h ← (h + shift) mod 1`, back to RGB.
#[inline(always)]
pub fn shift_hue(p: [f32; 3], shift: f32) -> [f32; 3] {
    let [r, g, b] = p;
    let maxc = r.max(g).max(b);
    let minc = r.min(g).min(b);
    let cr = maxc - minc;
    let eq = maxc == minc;
    let s = cr / if eq { 1.0 } else { maxc };
    let div = if eq { 1.0 } else { cr };
    let (rc, gc, bc) = ((maxc - r) / div, (maxc - g) / div, (maxc - b) / div);
    let h = if maxc == r {
        bc - gc
    } else if maxc == g {
        2.0 + rc - bc
    } else {
        4.0 + gc - rc
    };
    let h = (h / 6.0 + 1.0) % 1.0;
    hsv_to_rgb((h + shift).rem_euclid(1.0), s, maxc)
}

/// torchvision's `_hsv2rgb` for one pixel.
#[inline(always)]
fn hsv_to_rgb(h: f32, s: f32, v: f32) -> [f32; 3] {
    let i = (h * 6.0).floor();
    let f = h * 6.0 - i;
    let p = (v * (1.0 - s)).clamp(0.0, 1.0);
    let q = (v * (1.0 - s * f)).clamp(0.0, 1.0);
    let t = (v * (1.0 - s * (1.0 - f))).clamp(0.0, 1.0);
    match (i as i32).rem_euclid(6) {
        0 => [v, t, p],
        1 => [q, v, p],
        2 => [p, v, t],
        3 => [p, q, v],
        4 => [t, p, v],
        _ => [v, p, q],
    }
}

/// Every channel becomes the pixel's greyscale.
pub fn grayscale(image: &mut Image) {
    for px in image.data.chunks_exact_mut(3) {
        px.fill(grey(px));
    }
}

/// `x ↦ 1 − x` where `x ≥ threshold`.
pub fn solarize(image: &mut Image, threshold: f32) {
    for x in &mut image.data {
        if *x >= threshold {
            *x = 1.0 - *x;
        }
    }
}

/// Per channel `(x − mean) / std`.
pub fn normalize(image: &mut Image, mean: [f32; 3], std: [f32; 3]) {
    let inv = std.map(|s| 1.0 / s);
    for px in image.data.chunks_exact_mut(3) {
        for c in 0..3 {
            px[c] = (px[c] - mean[c]) * inv[c];
        }
    }
}
