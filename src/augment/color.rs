//! Colour operations on `[0, 1]` RGB (torchvision's tensor maths): greyscale
//! `0.2989·r + 0.587·g + 0.114·b`, the four ColorJitter adjustments (one tight pass each), solarize
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

/// Applies the adjustments in order, each as one tight pass over the image (the image sits in
/// L1 cache, so a dedicated, vectorisable loop per adjustment beats a per-pixel dispatch).
pub fn jitter(image: &mut Image, adjust: &[Option<Adjust>; 4]) {
    for a in adjust.iter().flatten() {
        match *a {
            Adjust::Brightness(f) => brightness(&mut image.data, f),
            Adjust::Contrast(f) => contrast(image, f),
            Adjust::Saturation(f) => saturation(&mut image.data, f),
            Adjust::Hue(h) => hue(&mut image.data, h),
        }
    }
}

/// `f·x`, clamped.
fn brightness(data: &mut [f32], f: f32) {
    data.iter_mut().for_each(|x| *x = (f * *x).clamp(0.0, 1.0));
}

/// `f·x + (1−f)·mean(grey)`, clamped (torchvision's `_blend` with the mean image).
fn contrast(image: &mut Image, f: f32) {
    let sum: f32 = image.data.chunks_exact(3).map(grey).sum();
    let mean = sum / (image.width * image.height).max(1) as f32;
    let offset = (1.0 - f) * mean;
    image
        .data
        .iter_mut()
        .for_each(|x| *x = (f * *x + offset).clamp(0.0, 1.0));
}

/// `f·x + (1−f)·grey(x)`, clamped.
fn saturation(data: &mut [f32], f: f32) {
    for px in data.chunks_exact_mut(3) {
        let g = (1.0 - f) * grey(px);
        px.iter_mut()
            .for_each(|x| *x = (f * *x + g).clamp(0.0, 1.0));
    }
}

/// Hue rotation of every pixel.
fn hue(data: &mut [f32], shift: f32) {
    for px in data.chunks_exact_mut(3) {
        let out = shift_hue([px[0], px[1], px[2]], shift);
        px.copy_from_slice(&out);
    }
}

/// `x − floor(x)`, exact, without a libm call (`x` well inside the `i32` range).
#[inline(always)]
fn fract_floor(x: f32) -> f32 {
    let t = x as i32 as f32;
    x - if t > x { t - 1.0 } else { t }
}

/// torchvision's `adjust_hue` on one pixel: to HSV, `h ← (h + shift) mod 1`, back to RGB.
/// Branch-free: every candidate is computed and the right one selected, since the branches
/// would follow the (random) hue of each pixel. `(maxc − c) / div` is computed as
/// `(maxc − c) · (1 / div)`, within an ulp of torchvision's quotient.
#[inline(always)]
pub fn shift_hue(p: [f32; 3], shift: f32) -> [f32; 3] {
    let [r, g, b] = p;
    let maxc = r.max(g).max(b);
    let minc = r.min(g).min(b);
    let cr = maxc - minc;
    let eq = maxc == minc;
    let s = cr / if eq { 1.0 } else { maxc };
    let inv = 1.0 / if eq { 1.0 } else { cr };
    let (rc, gc, bc) = ((maxc - r) * inv, (maxc - g) * inv, (maxc - b) * inv);
    let (hr, hg, hb) = (bc - gc, 2.0 + rc - bc, 4.0 + gc - rc);
    let h = if maxc == r {
        hr
    } else if maxc == g {
        hg
    } else {
        hb
    };
    let h = fract_floor(h / 6.0 + 1.0);
    hsv_to_rgb(fract_floor(h + shift), s, maxc)
}

/// Which of `[v, p, q, t]` each channel takes in sextant `i` (torchvision's `a1`, `a2`, `a3`).
const SEXTANT: [[usize; 3]; 6] = [
    [0, 3, 1],
    [2, 0, 1],
    [1, 0, 3],
    [1, 2, 0],
    [3, 1, 0],
    [0, 1, 2],
];

/// torchvision's `_hsv2rgb` for one pixel (`h` in `[0, 1)`).
#[inline(always)]
fn hsv_to_rgb(h: f32, s: f32, v: f32) -> [f32; 3] {
    let i = (h * 6.0) as i32;
    let f = h * 6.0 - i as f32;
    let p = (v * (1.0 - s)).clamp(0.0, 1.0);
    let q = (v * (1.0 - s * f)).clamp(0.0, 1.0);
    let t = (v * (1.0 - s * (1.0 - f))).clamp(0.0, 1.0);
    let values = [v, p, q, t];
    let pick = SEXTANT[i.rem_euclid(6) as usize];
    [values[pick[0]], values[pick[1]], values[pick[2]]]
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
