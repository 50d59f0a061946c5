//! Neighbourhood filters: torchvision's separable Gaussian blur with reflect padding, PIL's
//! `SMOOTH` kernel used by `ImageEnhance.Sharpness`, and SCAN's Cutout.

use crate::augment::image::{Image, Scratch};

/// torchvision's `_get_gaussian_kernel1d`: `exp(−x²/2σ²)` at `x = −(k−1)/2 ..= (k−1)/2`,
/// normalised to sum 1, written into `out` (`k` values).
pub fn gaussian_kernel(k: usize, sigma: f32, out: &mut Vec<f32>) {
    out.clear();
    let half = (k as f32 - 1.0) * 0.5;
    out.extend((0..k).map(|i| {
        let x = (i as f32 - half) / sigma;
        (-0.5 * x * x).exp()
    }));
    let total: f32 = out.iter().sum();
    out.iter_mut().for_each(|w| *w /= total);
}

/// Index `i` reflected into `0..n` without repeating the edge (`−1 → 1`, `n → n−2`), as
/// `torch.nn.functional.pad(mode="reflect")`, folding again for kernels wider than the image.
#[inline]
fn reflect(i: isize, n: usize) -> usize {
    if n == 1 {
        return 0;
    }
    let period = 2 * (n as isize - 1);
    let m = i.rem_euclid(period);
    (if m < n as isize { m } else { period - m }) as usize
}

/// Blurs the image with a `k`-tap Gaussian of `sigma`, rows then columns.
pub fn gaussian_blur(s: &mut Scratch, k: usize, sigma: f32) {
    gaussian_kernel(k, sigma, &mut s.kernel);
    let (w, h) = (s.image.width, s.image.height);
    let half = (k / 2) as isize;
    s.back.reshape(w, h);
    for y in 0..h {
        for x in 0..w {
            let mut acc = [0.0f32; 3];
            for (t, &kw) in s.kernel.iter().enumerate() {
                let sx = reflect(x as isize + t as isize - half, w);
                let px = &s.image.data[(y * w + sx) * 3..][..3];
                (0..3).for_each(|c| acc[c] += kw * px[c]);
            }
            s.back.data[(y * w + x) * 3..][..3].copy_from_slice(&acc);
        }
    }
    for y in 0..h {
        for x in 0..w {
            let mut acc = [0.0f32; 3];
            for (t, &kw) in s.kernel.iter().enumerate() {
                let sy = reflect(y as isize + t as isize - half, h);
                let px = &s.back.data[(sy * w + x) * 3..][..3];
                (0..3).for_each(|c| acc[c] += kw * px[c]);
            }
            s.image.data[(y * w + x) * 3..][..3].copy_from_slice(&acc);
        }
    }
}

/// PIL's `SMOOTH` filter (`[[1,1,1],[1,5,1],[1,1,1]] / 13`) into `s.back`; the one-pixel
/// border is copied unchanged, as PIL's 3×3 filter does.
pub fn smooth_into_back(s: &mut Scratch) {
    let (w, h) = (s.image.width, s.image.height);
    s.back.reshape(w, h);
    s.back.data.copy_from_slice(&s.image.data);
    let src = &s.image.data;
    for y in 1..h.saturating_sub(1) {
        for x in 1..w.saturating_sub(1) {
            for c in 0..3 {
                let at = |dx: usize, dy: usize| src[((y + dy - 1) * w + x + dx - 1) * 3 + c];
                let ring = at(0, 0)
                    + at(1, 0)
                    + at(2, 0)
                    + at(0, 1)
                    + at(2, 1)
                    + at(0, 2)
                    + at(1, 2)
                    + at(2, 2);
                s.back.data[(y * w + x) * 3 + c] = (ring + 5.0 * at(1, 1)) / 13.0;
            }
        }
    }
}

/// Sets the square `[cy − len/2, cy + len/2) × [cx − len/2, cx + len/2)` (integer halves,
/// clipped to the image) to `fill`, as SCAN's Cutout mask.
pub fn cutout(image: &mut Image, cx: usize, cy: usize, len: usize, fill: f32) {
    let half = len / 2;
    let (x0, x1) = (cx.saturating_sub(half), (cx + half).min(image.width));
    let (y0, y1) = (cy.saturating_sub(half), (cy + half).min(image.height));
    for y in y0..y1 {
        image.data[(y * image.width + x0) * 3..(y * image.width + x1) * 3].fill(fill);
    }
}
