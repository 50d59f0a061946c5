//! Convolution geometry on NHWC tensors and the im2col / col2im maps between an image
//! `(H, W, Cin)` and its patch matrix `(Ho·Wo, K)`, `K = kh·kw·Cin`, whose row `oy·Wo + ox`
//! holds the window at output pixel (oy, ox) in `(ky, kx, ci)` order, the order of a weight
//! row `w[co]` of `(Cout, kh, kw, Cin)`. Each (row, ky) is one contiguous run of `kw·Cin`
//! input values, clipped at the borders where padding supplies zeros.

use candle_core::Result;

use super::error::KernelError;

/// The shapes of one convolution `x (B, H, W, Cin)` ⊛ `w (Cout, kh, kw, Cin)`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Geometry {
    pub batch: usize,
    pub h: usize,
    pub w: usize,
    pub cin: usize,
    pub cout: usize,
    pub kh: usize,
    pub kw: usize,
    pub stride: usize,
    pub pad: usize,
    pub ho: usize,
    pub wo: usize,
}

impl Geometry {
    /// Checks that `w` fits `x` and derives the output size.
    pub(super) fn new(
        op: &'static str,
        [batch, h, w, cin]: [usize; 4],
        [cout, kh, kw, w_cin]: [usize; 4],
        stride: usize,
        pad: usize,
    ) -> Result<Self> {
        if cin != w_cin {
            Err(KernelError::Channels {
                op,
                x_channels: cin,
                w_channels: w_cin,
            })?;
        }
        let fits = stride > 0 && kh > 0 && kw > 0 && h + 2 * pad >= kh && w + 2 * pad >= kw;
        if !fits {
            let (height, width, padding) = (h, w, pad);
            Err(KernelError::Window {
                op,
                kh,
                kw,
                stride,
                padding,
                height,
                width,
            })?;
        }
        let (ho, wo) = (
            (h + 2 * pad - kh) / stride + 1,
            (w + 2 * pad - kw) / stride + 1,
        );
        Ok(Self {
            batch,
            h,
            w,
            cin,
            cout,
            kh,
            kw,
            stride,
            pad,
            ho,
            wo,
        })
    }

    /// Columns of the patch matrix, `kh·kw·Cin`.
    pub(super) fn k(&self) -> usize {
        self.kh * self.kw * self.cin
    }

    /// Output pixels of one image, `Ho·Wo`.
    pub(super) fn pixels(&self) -> usize {
        self.ho * self.wo
    }

    /// Values of one input image, `H·W·Cin`.
    pub(super) fn image_len(&self) -> usize {
        self.h * self.w * self.cin
    }

    /// A 1×1 stride-1 unpadded convolution: the input already is its patch matrix.
    pub(super) fn is_pointwise(&self) -> bool {
        self.kh == 1 && self.kw == 1 && self.stride == 1 && self.pad == 0
    }

    /// Kernel offsets `lo..hi` whose input coordinate `o·stride + k − pad` lies in `0..size`.
    fn valid(&self, o: usize, size: usize, ksize: usize) -> (usize, usize) {
        let start = o * self.stride;
        let lo = self.pad.saturating_sub(start).min(ksize);
        let hi = (size + self.pad).saturating_sub(start).min(ksize).max(lo);
        (lo, hi)
    }

    /// Output pixels `(oy, ox)` of one image in row order, the rows of its patch matrix.
    fn output_pixels(&self) -> impl Iterator<Item = (usize, usize)> {
        let wo = self.wo;
        (0..self.ho).flat_map(move |oy| (0..wo).map(move |ox| (oy, ox)))
    }

    /// Fills the patch matrices of consecutive images `x` into `cols` (every value written).
    pub(super) fn im2col(&self, x: &[f32], cols: &mut [f32]) {
        let images = x.chunks_exact(self.image_len());
        for (image, cols) in images.zip(cols.chunks_exact_mut(self.pixels() * self.k())) {
            for (row, (oy, ox)) in cols.chunks_exact_mut(self.k()).zip(self.output_pixels()) {
                self.patch(image, oy, ox, row);
            }
        }
    }

    /// Adds the patch matrices `cols` back onto consecutive images `dx` (the adjoint of
    /// [`Geometry::im2col`]); `dx` must start zeroed.
    pub(super) fn col2im(&self, cols: &[f32], dx: &mut [f32]) {
        let images = dx.chunks_exact_mut(self.image_len());
        for (image, cols) in images.zip(cols.chunks_exact(self.pixels() * self.k())) {
            for (row, (oy, ox)) in cols.chunks_exact(self.k()).zip(self.output_pixels()) {
                self.scatter(image, oy, ox, row);
            }
        }
    }

    /// Copies the window of output pixel (oy, ox) of `image` into `row`, zeros where padded.
    fn patch(&self, image: &[f32], oy: usize, ox: usize, row: &mut [f32]) {
        let (ky_lo, ky_hi) = self.valid(oy, self.h, self.kh);
        let (kx_lo, kx_hi) = self.valid(ox, self.w, self.kw);
        let run = self.kw * self.cin;
        for (ky, dst) in row.chunks_exact_mut(run).enumerate() {
            if ky < ky_lo || ky >= ky_hi || kx_lo == kx_hi {
                dst.fill(0.0);
                continue;
            }
            let (start, end) = self.span(oy, ox, ky, kx_lo, kx_hi);
            let (head, rest) = dst.split_at_mut(kx_lo * self.cin);
            let (body, tail) = rest.split_at_mut(end - start);
            head.fill(0.0);
            copy_run(body, &image[start..end]);
            tail.fill(0.0);
        }
    }

    /// Adds `row`, the window of output pixel (oy, ox), onto `image` where it is not padding.
    fn scatter(&self, image: &mut [f32], oy: usize, ox: usize, row: &[f32]) {
        let (ky_lo, ky_hi) = self.valid(oy, self.h, self.kh);
        let (kx_lo, kx_hi) = self.valid(ox, self.w, self.kw);
        let run = self.kw * self.cin;
        if kx_lo == kx_hi {
            return;
        }
        for ky in ky_lo..ky_hi {
            let (start, end) = self.span(oy, ox, ky, kx_lo, kx_hi);
            let src = &row[ky * run + kx_lo * self.cin..ky * run + kx_hi * self.cin];
            for (d, s) in image[start..end].iter_mut().zip(src) {
                *d += s;
            }
        }
    }

    /// The input range of kernel row `ky`, columns `kx_lo..kx_hi`, at output pixel (oy, ox).
    fn span(&self, oy: usize, ox: usize, ky: usize, kx_lo: usize, kx_hi: usize) -> (usize, usize) {
        let iy = oy * self.stride + ky - self.pad;
        let ix = ox * self.stride + kx_lo - self.pad;
        let start = (iy * self.w + ix) * self.cin;
        (start, start + (kx_hi - kx_lo) * self.cin)
    }
}

/// `dst ← src` for one window run. Runs are short when there are few input channels (9
/// values for a 3×3 kernel on RGB), where a `memcpy` call costs more than the copy: those
/// are copied in fixed blocks of 16, 8, 4, 2 and 1 values (an unrolled loop of constant-size
/// moves) instead.
fn copy_run(dst: &mut [f32], src: &[f32]) {
    let n = dst.len();
    if n >= 32 || n != src.len() {
        dst.copy_from_slice(src);
        return;
    }
    let mut at = 0;
    for block in [16, 8, 4, 2, 1] {
        if n - at >= block {
            dst[at..at + block].copy_from_slice(&src[at..at + block]);
            at += block;
        }
    }
}
