//! The per-worker scratch image: `f32` RGB in `[0, 1]`, HWC row-major (`data[(y·W + x)·3 + c]`),
//! and the scratch state one worker reuses for every image so that, once its buffers have grown
//! to the largest size seen, augmenting allocates nothing.

use crate::augment::resample::Weights;

/// An `f32` RGB image, HWC row-major; `data.len() == width * height * 3`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Image {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Pixel values, `(y * width + x) * 3 + channel`.
    pub data: Vec<f32>,
}

impl Image {
    /// An image of the given size and data (`None` when the length does not match).
    pub fn from_data(width: usize, height: usize, data: Vec<f32>) -> Option<Image> {
        (data.len() == width * height * 3).then_some(Image {
            width,
            height,
            data,
        })
    }

    /// Sets the size, growing the buffer when needed (contents unspecified afterwards).
    pub fn reshape(&mut self, width: usize, height: usize) {
        self.width = width;
        self.height = height;
        self.data.resize(width * height * 3, 0.0);
    }

    /// Loads RGB8 pixels (`width`×`height`×3 bytes), scaled by 1/255.
    pub fn load_rgb8(&mut self, pixels: &[u8], width: usize, height: usize) {
        self.reshape(width, height);
        for (d, &s) in self.data.iter_mut().zip(pixels) {
            *d = f32::from(s) * (1.0 / 255.0);
        }
    }

    /// Writes the image planar (CHW: all red, then green, then blue) into `out`
    /// (`3 * width * height` values).
    pub fn write_chw(&self, out: &mut [f32]) {
        let plane = self.width * self.height;
        let (r, rest) = out.split_at_mut(plane);
        let (g, b) = rest.split_at_mut(plane);
        for (((px, r), g), b) in self.data.chunks_exact(3).zip(r).zip(g).zip(b) {
            *r = px[0];
            *g = px[1];
            *b = px[2];
        }
    }
}

/// Everything one worker reuses between images: the current image, a second buffer that
/// operations write into before swapping, a filter row buffer, and resampling and kernel tables.
#[derive(Debug, Default)]
pub struct Scratch {
    /// The image being augmented.
    pub image: Image,
    /// The buffer an operation writes its result into (then swapped with `image`).
    pub(crate) back: Image,
    /// A buffer for separable filters' intermediate rows.
    pub(crate) tmp: Vec<f32>,
    /// Horizontal resampling weights.
    pub(crate) wx: Weights,
    /// Vertical resampling weights.
    pub(crate) wy: Weights,
    /// A 1-D filter kernel (Gaussian blur).
    pub(crate) kernel: Vec<f32>,
}

impl Scratch {
    /// Makes `back` the current image (after an operation has written it).
    pub(crate) fn swap(&mut self) {
        std::mem::swap(&mut self.image, &mut self.back);
    }
}
