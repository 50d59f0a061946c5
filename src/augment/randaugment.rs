//! SCAN's strong augmentation (its `augment.py`, a RandAugment variant) on `[0, 1]` RGB,
//! following PIL's `ImageOps` / `ImageEnhance` definitions. Per application one of 14
//! operations is drawn uniformly, then its value `v` from SCAN's range for it:
//!
//! | op | range | maths (PIL) |
//! |---|---|---|
//! | Identity | – | unchanged |
//! | AutoContrast | – | per channel `(x − min) / (max − min)` (unchanged if flat) |
//! | Equalize | – | per channel, PIL's 256-bin histogram LUT on `round(255·x)` |
//! | Rotate | ±30° | `rotate(v)`, nearest, black fill |
//! | Solarize | 0–256 | `255·x ≥ v ⇒ 1 − x` |
//! | Color | 0.05–0.95 | blend with `L = 0.299r + 0.587g + 0.114b` |
//! | Contrast | 0.05–0.95 | blend with the mean of `L` rounded to 8 bits |
//! | Brightness | 0.05–0.95 | blend with black |
//! | Sharpness | 0.05–0.95 | blend with PIL's `SMOOTH` (3×3, borders kept) |
//! | ShearX / ShearY | ±0.1 | affine `(1, v, 0, 0, 1, 0)` / `(1, 0, 0, v, 1, 0)`, nearest, black fill |
//! | TranslateX / Y | ±0.1 | shift by `v·W` / `v·H` pixels, black fill |
//! | Posterize | 4–8 | keep the top `trunc(v)` bits of `round(255·x)` |
//!
//! Blends are `d + v·(x − d)` clamped to `[0, 1]`. Signed ops are mirrored (`v ← −v`) with
//! probability ½, as SCAN. Magnitude: without `m`, `v ~ U(lo, hi)` (SCAN); with `m` on the
//! 0–30 scale and `t = m/30`, `v = t·hi` for the signed ops and `v = lo + t·(hi − lo)` for the
//! others.

use crate::augment::filter::smooth_into_back;
use crate::augment::image::{Image, Scratch};
use crate::augment::warp::{pil_rotation, warp_nearest_fill};
use crate::rng::SplitMix64;

/// SCAN's operations in its list order, with their value ranges and whether they mirror.
const OPS: [(Op, f32, f32, bool); 14] = [
    (Op::Identity, 0.0, 1.0, false),
    (Op::AutoContrast, 0.0, 1.0, false),
    (Op::Equalize, 0.0, 1.0, false),
    (Op::Rotate, -30.0, 30.0, true),
    (Op::Solarize, 0.0, 256.0, false),
    (Op::Color, 0.05, 0.95, false),
    (Op::Contrast, 0.05, 0.95, false),
    (Op::Brightness, 0.05, 0.95, false),
    (Op::Sharpness, 0.05, 0.95, false),
    (Op::ShearX, -0.1, 0.1, true),
    (Op::TranslateX, -0.1, 0.1, true),
    (Op::TranslateY, -0.1, 0.1, true),
    (Op::Posterize, 4.0, 8.0, false),
    (Op::ShearY, -0.1, 0.1, true),
];

/// One of SCAN's strong operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Unchanged.
    Identity,
    /// Per-channel stretch to `[0, 1]`.
    AutoContrast,
    /// Per-channel histogram equalisation.
    Equalize,
    /// Rotation by `v` degrees.
    Rotate,
    /// Inversion above `v / 255`.
    Solarize,
    /// Saturation blend.
    Color,
    /// Contrast blend.
    Contrast,
    /// Brightness blend.
    Brightness,
    /// Sharpness blend.
    Sharpness,
    /// Horizontal shear.
    ShearX,
    /// Vertical shear.
    ShearY,
    /// Horizontal shift by a fraction of the width.
    TranslateX,
    /// Vertical shift by a fraction of the height.
    TranslateY,
    /// Bit-depth reduction.
    Posterize,
}

/// Applies `n` drawn operations with magnitude `m` (0–30) or SCAN's random magnitude.
pub fn rand_augment(s: &mut Scratch, rng: &mut SplitMix64, n: u32, m: Option<f32>) {
    for _ in 0..n {
        let (op, lo, hi, signed) = OPS[rng.below(OPS.len())];
        let mut v = match m {
            None => rng.uniform_f32(lo, hi),
            Some(m) if signed => m / 30.0 * hi,
            Some(m) => lo + m / 30.0 * (hi - lo),
        };
        if signed && rng.bernoulli(0.5) {
            v = -v;
        }
        apply(s, op, v);
    }
}

/// Applies one operation with value `v`.
pub fn apply(s: &mut Scratch, op: Op, v: f32) {
    let (w, h) = (s.image.width, s.image.height);
    match op {
        Op::Identity => {}
        Op::AutoContrast => autocontrast(&mut s.image),
        Op::Equalize => equalize(&mut s.image),
        Op::Rotate => warp_nearest_fill(s, pil_rotation(v, w, h), 0.0),
        Op::Solarize => solarize_8bit(&mut s.image, v),
        Op::Color => color(&mut s.image, v),
        Op::Contrast => contrast(&mut s.image, v),
        Op::Brightness => s
            .image
            .data
            .iter_mut()
            .for_each(|x| *x = (v * *x).clamp(0.0, 1.0)),
        Op::Sharpness => sharpness(s, v),
        Op::ShearX => warp_nearest_fill(s, [1.0, v, 0.0, 0.0, 1.0, 0.0], 0.0),
        Op::ShearY => warp_nearest_fill(s, [1.0, 0.0, 0.0, v, 1.0, 0.0], 0.0),
        Op::TranslateX => warp_nearest_fill(s, [1.0, 0.0, v * w as f32, 0.0, 1.0, 0.0], 0.0),
        Op::TranslateY => warp_nearest_fill(s, [1.0, 0.0, 0.0, 0.0, 1.0, v * h as f32], 0.0),
        Op::Posterize => posterize(&mut s.image, v as u32),
    }
}

/// The 8-bit value PIL would hold for `x`.
#[inline(always)]
fn to_u8(x: f32) -> u8 {
    (x * 255.0).round().clamp(0.0, 255.0) as u8
}

/// PIL's `ImageOps.autocontrast` (no cutoff): each channel stretched from `[min, max]` to `[0, 1]`.
pub fn autocontrast(image: &mut Image) {
    for c in 0..3 {
        let channel = image.data.iter().skip(c).step_by(3);
        let (lo, hi) = channel.fold((f32::MAX, f32::MIN), |(lo, hi), &x| (lo.min(x), hi.max(x)));
        if hi > lo {
            let scale = 1.0 / (hi - lo);
            image
                .data
                .iter_mut()
                .skip(c)
                .step_by(3)
                .for_each(|x| *x = (*x - lo) * scale);
        }
    }
}

/// PIL's `ImageOps.equalize`: per channel, `step = (Σ hist − last non-zero bin) // 255`; when
/// non-zero, `lut[i] = (step/2 + Σ_{j<i} hist[j]) // step` (clamped to 255), else unchanged.
pub fn equalize(image: &mut Image) {
    for c in 0..3 {
        let mut hist = [0u32; 256];
        image
            .data
            .iter()
            .skip(c)
            .step_by(3)
            .for_each(|&x| hist[to_u8(x) as usize] += 1);
        let Some(lut) = equalize_lut(&hist) else {
            continue;
        };
        for x in image.data.iter_mut().skip(c).step_by(3) {
            *x = f32::from(lut[to_u8(*x) as usize]) / 255.0;
        }
    }
}

/// PIL's equalisation table for one channel's histogram, `None` when it is the identity.
pub fn equalize_lut(hist: &[u32; 256]) -> Option<[u8; 256]> {
    let last = hist.iter().rev().find(|&&n| n > 0).copied().unwrap_or(0);
    let total: u32 = hist.iter().sum();
    let step = (total - last) / 255;
    if step == 0 {
        return None;
    }
    let mut lut = [0u8; 256];
    let mut n = step / 2;
    for (l, &count) in lut.iter_mut().zip(hist) {
        *l = (n / step).min(255) as u8;
        n += count;
    }
    Some(lut)
}

/// PIL's `ImageOps.solarize(threshold)` on the 8-bit scale.
fn solarize_8bit(image: &mut Image, threshold: f32) {
    image.data.iter_mut().for_each(|x| {
        if *x * 255.0 >= threshold {
            *x = 1.0 - *x;
        }
    });
}

/// PIL's `ImageOps.posterize(bits)`: the 8-bit value masked to its top `bits` bits.
pub fn posterize(image: &mut Image, bits: u32) {
    let mask = !(0xffu32 >> bits.min(8)) as u8;
    image
        .data
        .iter_mut()
        .for_each(|x| *x = f32::from(to_u8(*x) & mask) / 255.0);
}

/// PIL's luminance `L`.
#[inline(always)]
fn luma(px: &[f32]) -> f32 {
    0.299 * px[0] + 0.587 * px[1] + 0.114 * px[2]
}

/// `d + v·(x − d)`, clamped.
#[inline(always)]
fn enhance(x: f32, d: f32, v: f32) -> f32 {
    (d + v * (x - d)).clamp(0.0, 1.0)
}

/// `ImageEnhance.Color`: blend with the pixel's `L`.
fn color(image: &mut Image, v: f32) {
    for px in image.data.chunks_exact_mut(3) {
        let l = luma(px);
        px.iter_mut().for_each(|x| *x = enhance(*x, l, v));
    }
}

/// `ImageEnhance.Contrast`: blend with the image's mean `L`, rounded to 8 bits as PIL does.
fn contrast(image: &mut Image, v: f32) {
    let sum: f64 = image
        .data
        .chunks_exact(3)
        .map(|px| f64::from(luma(px)))
        .sum();
    let mean = sum / (image.width * image.height).max(1) as f64;
    let mean = ((mean * 255.0 + 0.5).floor() / 255.0) as f32;
    image
        .data
        .iter_mut()
        .for_each(|x| *x = enhance(*x, mean, v));
}

/// `ImageEnhance.Sharpness`: blend with the `SMOOTH`-filtered image.
fn sharpness(s: &mut Scratch, v: f32) {
    smooth_into_back(s);
    for (x, &d) in s.image.data.iter_mut().zip(&s.back.data) {
        *x = enhance(*x, d, v);
    }
}
