//! Geometry without interpolation choices: antialiased bilinear resampling of a rectangle
//! (PIL's `BILINEAR`, torchvision's `antialias=True`), zero-padded crops and the mirror.
//!
//! Resampling is separable. For an output index `o` over an input span of `n` pixels resized
//! to `m`, with `s = n/m`, `f = max(s, 1)`: centre `c = (o + ½)·s`; taps `i` from
//! `trunc(c − f + ½)` to `trunc(c + f + ½)` (clamped to the span) weigh `tri((i − c + ½)/f)`,
//! `tri(t) = max(0, 1 − |t|)`, normalised to sum 1. Upsampling (`f = 1`) is plain bilinear with
//! half-pixel centres; shrinking widens the triangle by the shrink factor.

use crate::augment::image::{Image, Scratch};

/// Resampling taps for every output index of one axis, `ksize` slots each.
#[derive(Clone, Debug, Default)]
pub struct Weights {
    /// First input index of each output's taps.
    pub(crate) start: Vec<usize>,
    /// Number of taps used by each output (the rest of its slots are zero).
    pub(crate) len: Vec<usize>,
    /// Slots per output.
    pub(crate) ksize: usize,
    /// `ksize` weights per output.
    pub(crate) w: Vec<f32>,
}

impl Weights {
    /// Fills the taps for resizing the span `offset..offset + in_size` to `out_size` samples.
    pub fn compute(&mut self, offset: usize, in_size: usize, out_size: usize) {
        let scale = in_size as f64 / out_size as f64;
        let filterscale = scale.max(1.0);
        self.ksize = filterscale.ceil() as usize * 2 + 1;
        self.start.clear();
        self.len.clear();
        self.w.clear();
        self.w.resize(self.ksize * out_size, 0.0);
        for o in 0..out_size {
            let centre = (o as f64 + 0.5) * scale;
            let lo = ((centre - filterscale + 0.5) as i64).max(0) as usize;
            let hi = ((centre + filterscale + 0.5) as i64).min(in_size as i64) as usize;
            let n = hi.saturating_sub(lo).min(self.ksize);
            let taps = &mut self.w[o * self.ksize..][..n];
            let mut total = 0.0f64;
            for (k, t) in taps.iter_mut().enumerate() {
                let x = ((lo + k) as f64 - centre + 0.5) / filterscale;
                let w = (1.0 - x.abs()).max(0.0);
                total += w;
                *t = w as f32;
            }
            if total > 0.0 {
                let inv = (1.0 / total) as f32;
                taps.iter_mut().for_each(|t| *t *= inv);
            }
            self.start.push(offset + lo);
            self.len.push(n);
        }
    }
}

/// A rectangle of the current image: left, top, width, height.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rect {
    /// First column.
    pub left: usize,
    /// First row.
    pub top: usize,
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
}

/// Resamples `rect` of the current image to `out_w`×`out_h` (the image becomes the result).
/// A rectangle of the output's size is copied exactly.
pub fn resample(s: &mut Scratch, rect: Rect, out_w: usize, out_h: usize) {
    if (rect.width, rect.height) == (out_w, out_h) {
        return crop_padded(s, rect.left as isize, rect.top as isize, out_w, out_h);
    }
    s.wx.compute(rect.left, rect.width, out_w);
    s.wy.compute(0, rect.height, out_h);
    let row = out_w * 3;
    s.tmp.resize(rect.height * row, 0.0);
    let src = &s.image;
    for (y, tmp_row) in s.tmp.chunks_exact_mut(row).enumerate() {
        let src_row = &src.data[(rect.top + y) * src.width * 3..][..src.width * 3];
        horizontal(&s.wx, src_row, tmp_row);
    }
    s.back.reshape(out_w, out_h);
    for (o, out_row) in s.back.data.chunks_exact_mut(row).enumerate() {
        out_row.fill(0.0);
        let (start, n) = (s.wy.start[o], s.wy.len[o]);
        let taps = &s.wy.w[o * s.wy.ksize..][..n];
        for (k, &w) in taps.iter().enumerate() {
            let tmp_row = &s.tmp[(start + k) * row..][..row];
            for (d, &v) in out_row.iter_mut().zip(tmp_row) {
                *d += w * v;
            }
        }
    }
    s.swap();
}

/// One row through the horizontal taps: `out[o] = Σₖ w[o][k] · src[start[o] + k]` per channel.
fn horizontal(wx: &Weights, src_row: &[f32], out_row: &mut [f32]) {
    for (o, px) in out_row.chunks_exact_mut(3).enumerate() {
        let (start, n) = (wx.start[o], wx.len[o]);
        let taps = &wx.w[o * wx.ksize..][..n];
        let src = &src_row[start * 3..][..n * 3];
        let mut acc = [0.0f32; 3];
        for (&w, s) in taps.iter().zip(src.chunks_exact(3)) {
            acc[0] += w * s[0];
            acc[1] += w * s[1];
            acc[2] += w * s[2];
        }
        px.copy_from_slice(&acc);
    }
}

/// Resamples the whole current image to `out_w`×`out_h`.
pub fn resize(s: &mut Scratch, out_w: usize, out_h: usize) {
    let rect = Rect {
        left: 0,
        top: 0,
        width: s.image.width,
        height: s.image.height,
    };
    resample(s, rect, out_w, out_h);
}

/// Crops `out_w`×`out_h` pixels whose top-left corner is at (`left`, `top`) (may be negative or
/// run past the image); pixels outside the image are 0.
pub fn crop_padded(s: &mut Scratch, left: isize, top: isize, out_w: usize, out_h: usize) {
    let (src_w, src_h) = (s.image.width as isize, s.image.height as isize);
    s.back.reshape(out_w, out_h);
    let x0 = left.clamp(0, src_w);
    let x1 = (left + out_w as isize).clamp(0, src_w);
    let inside = (x0 - left) as usize * 3..(x1 - left).max(x0 - left) as usize * 3;
    for (oy, out_row) in s.back.data.chunks_exact_mut(out_w * 3).enumerate() {
        let y = top + oy as isize;
        out_row.fill(0.0);
        if (0..src_h).contains(&y) && x1 > x0 {
            let src = &s.image.data[(y * src_w + x0) as usize * 3..(y * src_w + x1) as usize * 3];
            out_row[inside.clone()].copy_from_slice(src);
        }
    }
    s.swap();
}

/// Mirrors the image left–right in place.
pub fn flip_horizontal(image: &mut Image) {
    let row = image.width * 3;
    for r in image.data.chunks_exact_mut(row) {
        let (mut a, mut b) = (0, image.width.saturating_sub(1));
        while a < b {
            for c in 0..3 {
                r.swap(a * 3 + c, b * 3 + c);
            }
            a += 1;
            b -= 1;
        }
    }
}
