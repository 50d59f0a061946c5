//! Affine warps. Each maps an output pixel to an input point, `in = M·(x, y, 1)` with
//! `M = [a, b, c, d, e, f]` (`x_in = a·x + b·y + c`, `y_in = d·x + e·y + f`), in one of two
//! conventions:
//!
//! - Keras / TensorFlow (`ImageProjectiveTransformV3`, `fill_mode="nearest"`): `(x, y)` are
//!   integer pixel indices; the input point is clamped to `[0, W−1] × [0, H−1]` and read
//!   bilinearly.
//! - PIL (`Image.transform(AFFINE)`, `rotate`, default `NEAREST`): `(x, y)` are pixel centres
//!   `(i + ½, j + ½)`; the input pixel is `floor` of the point, and points outside the image
//!   read a constant fill.

use std::f32::consts::PI;

use crate::augment::image::Scratch;
use crate::rng::SplitMix64;

/// Warps with the Keras convention: bilinear, coordinates clamped to the edge.
pub fn warp_bilinear_edge(s: &mut Scratch, m: [f32; 6]) {
    let (w, h) = (s.image.width, s.image.height);
    s.back.reshape(w, h);
    let (max_x, max_y) = ((w - 1) as f32, (h - 1) as f32);
    let src = &s.image.data;
    for (y, row) in s.back.data.chunks_exact_mut(w * 3).enumerate() {
        let (mut xin, mut yin) = (m[1] * y as f32 + m[2], m[4] * y as f32 + m[5]);
        for px in row.chunks_exact_mut(3) {
            let (cx, cy) = (xin.clamp(0.0, max_x), yin.clamp(0.0, max_y));
            // Clamped to ≥ 0, so truncation is the floor.
            let (x0, y0) = (cx as usize, cy as usize);
            let (fx, fy) = (cx - x0 as f32, cy - y0 as f32);
            let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
            let at = |x: usize, y: usize, c: usize| src[(y * w + x) * 3 + c];
            for (c, out) in px.iter_mut().enumerate() {
                let top = (1.0 - fx) * at(x0, y0, c) + fx * at(x1, y0, c);
                let bottom = (1.0 - fx) * at(x0, y1, c) + fx * at(x1, y1, c);
                *out = (1.0 - fy) * top + fy * bottom;
            }
            xin += m[0];
            yin += m[3];
        }
    }
    s.swap();
}

/// Warps with the PIL convention: nearest (floor) at pixel centres, `fill` outside.
pub fn warp_nearest_fill(s: &mut Scratch, m: [f32; 6], fill: f32) {
    let (w, h) = (s.image.width, s.image.height);
    s.back.reshape(w, h);
    let src = &s.image.data;
    for (y, row) in s.back.data.chunks_exact_mut(w * 3).enumerate() {
        let yc = y as f32 + 0.5;
        let (mut xin, mut yin) = (m[0] * 0.5 + m[1] * yc + m[2], m[3] * 0.5 + m[4] * yc + m[5]);
        for px in row.chunks_exact_mut(3) {
            let inside = (0.0..w as f32).contains(&xin) && (0.0..h as f32).contains(&yin);
            if inside {
                let at = (yin as usize * w + xin as usize) * 3;
                px.copy_from_slice(&src[at..at + 3]);
            } else {
                px.fill(fill);
            }
            xin += m[0];
            yin += m[3];
        }
    }
    s.swap();
}

/// Keras' `RandomTranslation`: `dy = U(height)·H` then `dx = U(width)·W`; `in = out − (dx, dy)`.
pub fn random_translation(
    s: &mut Scratch,
    rng: &mut SplitMix64,
    height: (f32, f32),
    width: (f32, f32),
) {
    let dy = rng.uniform_f32(height.0, height.1) * s.image.height as f32;
    let dx = rng.uniform_f32(width.0, width.1) * s.image.width as f32;
    warp_bilinear_edge(s, [1.0, 0.0, -dx, 0.0, 1.0, -dy]);
}

/// Keras' `RandomRotation`: angle `θ = U(factor)·2π`, Keras' `get_rotation_matrix` about the
/// centre: `x_in = cosθ·x − sinθ·y + ox`, `y_in = sinθ·x + cosθ·y + oy`.
pub fn random_rotation(s: &mut Scratch, rng: &mut SplitMix64, factor: (f32, f32)) {
    let angle = rng.uniform_f32(factor.0, factor.1) * 2.0 * PI;
    let (w1, h1) = ((s.image.width - 1) as f32, (s.image.height - 1) as f32);
    let (sin, cos) = angle.sin_cos();
    let ox = (w1 - (cos * w1 - sin * h1)) / 2.0;
    let oy = (h1 - (sin * w1 + cos * h1)) / 2.0;
    warp_bilinear_edge(s, [cos, -sin, ox, sin, cos, oy]);
}

/// Keras' `RandomZoom`: `zy = 1 + U(height)` then `zx = 1 + U(width)`;
/// `x_in = zx·x + (W−1)/2·(1 − zx)`, likewise for `y`.
pub fn random_zoom(s: &mut Scratch, rng: &mut SplitMix64, height: (f32, f32), width: (f32, f32)) {
    let zy = 1.0 + rng.uniform_f32(height.0, height.1);
    let zx = 1.0 + rng.uniform_f32(width.0, width.1);
    let (w1, h1) = ((s.image.width - 1) as f32, (s.image.height - 1) as f32);
    warp_bilinear_edge(
        s,
        [
            zx,
            0.0,
            w1 / 2.0 * (1.0 - zx),
            0.0,
            zy,
            h1 / 2.0 * (1.0 - zy),
        ],
    );
}

/// PIL's `rotate(degrees)` matrix (counter-clockwise about `(W/2, H/2)`), for
/// [`warp_nearest_fill`].
pub fn pil_rotation(degrees: f32, width: usize, height: usize) -> [f32; 6] {
    let a = -degrees.to_radians();
    let (sin, cos) = a.sin_cos();
    let (cx, cy) = (width as f32 / 2.0, height as f32 / 2.0);
    let c = cos * -cx + sin * -cy + cx;
    let f = -sin * -cx + cos * -cy + cy;
    [cos, sin, c, -sin, cos, f]
}
