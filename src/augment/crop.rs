//! Crop parameter sampling as torchvision's `get_params`: `RandomResizedCrop`, `RandomCrop`
//! (zero padding) and `CenterCrop`.

use crate::augment::image::Scratch;
use crate::augment::resample::{crop_padded, resample, Rect};
use crate::rng::SplitMix64;

/// torchvision's `RandomResizedCrop.get_params` for an image of `width`×`height`: up to 10
/// attempts of area `A·U(scale)` and aspect `exp(U(ln ratio))`, rounded (ties to even, as
/// Python's `round`), kept when `0 < w ≤ W` and `0 < h ≤ H` and placed at a uniform row then
/// column; otherwise the centre crop of the image clamped to the ratio range.
pub fn resized_crop_rect(
    rng: &mut SplitMix64,
    width: usize,
    height: usize,
    scale: (f32, f32),
    ratio: (f32, f32),
) -> Rect {
    let area = (width * height) as f64;
    let log_ratio = (ratio.0.ln(), ratio.1.ln());
    for _ in 0..10 {
        let target = area * f64::from(rng.uniform_f32(scale.0, scale.1));
        let aspect = f64::from(rng.uniform_f32(log_ratio.0, log_ratio.1)).exp();
        let w = (target * aspect).sqrt().round_ties_even() as usize;
        let h = (target / aspect).sqrt().round_ties_even() as usize;
        if 0 < w && w <= width && 0 < h && h <= height {
            let top = rng.below(height - h + 1);
            let left = rng.below(width - w + 1);
            return Rect {
                left,
                top,
                width: w,
                height: h,
            };
        }
    }
    centre_fallback(width, height, ratio)
}

/// The fallback of `get_params`: the whole image, narrowed to the nearest allowed ratio.
fn centre_fallback(width: usize, height: usize, ratio: (f32, f32)) -> Rect {
    let in_ratio = width as f64 / height as f64;
    let (lo, hi) = (f64::from(ratio.0), f64::from(ratio.1));
    let (w, h) = if in_ratio < lo {
        (
            width,
            ((width as f64 / lo).round_ties_even() as usize).clamp(1, height),
        )
    } else if in_ratio > hi {
        (
            ((height as f64 * hi).round_ties_even() as usize).clamp(1, width),
            height,
        )
    } else {
        (width, height)
    };
    Rect {
        left: (width - w) / 2,
        top: (height - h) / 2,
        width: w,
        height: h,
    }
}

/// Samples a resized crop and resamples it to `size`.
pub fn random_resized_crop(
    s: &mut Scratch,
    rng: &mut SplitMix64,
    size: (u32, u32),
    scale: (f32, f32),
    ratio: (f32, f32),
) {
    let rect = resized_crop_rect(rng, s.image.width, s.image.height, scale, ratio);
    resample(s, rect, size.0 as usize, size.1 as usize);
}

/// torchvision's `RandomCrop(size, padding)` with zero fill: offsets uniform over the padded
/// image, row first (the padded image itself when it is smaller than `size`, padded further).
pub fn random_crop(s: &mut Scratch, rng: &mut SplitMix64, size: (u32, u32), padding: u32) {
    let (tw, th) = (size.0 as usize, size.1 as usize);
    let pad = padding as usize;
    let (pw, ph) = (s.image.width + 2 * pad, s.image.height + 2 * pad);
    let top = rng.below(ph.saturating_sub(th) + 1) as isize;
    let left = rng.below(pw.saturating_sub(tw) + 1) as isize;
    let (extra_x, extra_y) = (tw.saturating_sub(pw) / 2, th.saturating_sub(ph) / 2);
    let left = left - pad as isize - extra_x as isize;
    let top = top - pad as isize - extra_y as isize;
    crop_padded(s, left, top, tw, th);
}

/// torchvision's `CenterCrop`: offset `round((W − w)/2)` (ties to even), or, where the crop is
/// larger, zero padding of `(w − W)/2` on the left/top.
pub fn center_crop(s: &mut Scratch, size: (u32, u32)) {
    let (tw, th) = (size.0 as usize, size.1 as usize);
    let offset = |have: usize, want: usize| -> isize {
        if want > have {
            -(((want - have) / 2) as isize)
        } else {
            ((have - want) as f64 / 2.0).round_ties_even() as isize
        }
    };
    let left = offset(s.image.width, tw);
    let top = offset(s.image.height, th);
    crop_padded(s, left, top, tw, th);
}
