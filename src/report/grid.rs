//! PNG contact sheets: images laid on a grid with padding.

use std::io;
use std::path::Path;

use image::codecs::png::PngEncoder;
use image::{ExtendedColorType, ImageEncoder};

use crate::fsutil::write_atomic_with;

/// Background colour between and around the images.
pub const BACKGROUND: [u8; 3] = [32, 32, 32];

/// Lays images (each H×W×3 RGB8) on a grid `columns` wide with `pad` pixels of spacing (background dark grey 32,32,32) and returns the RGB8 canvas and its (width, height).
///
/// Padding surrounds every cell, the outer border included; a `columns` of 0 counts as 1, and the canvas
/// is never narrower than one cell nor shorter than one row. Panics if an image is not `width*height*3` bytes.
pub fn compose_grid(
    images: &[&[u8]],
    width: u32,
    height: u32,
    columns: u32,
    pad: u32,
) -> (Vec<u8>, u32, u32) {
    let columns = columns.clamp(1, (images.len() as u32).max(1));
    let rows = (images.len() as u32).div_ceil(columns).max(1);
    let canvas_width = columns * width + (columns + 1) * pad;
    let canvas_height = rows * height + (rows + 1) * pad;
    let mut canvas = BACKGROUND.repeat(canvas_width as usize * canvas_height as usize);
    let row_bytes = width as usize * 3;
    for (k, image) in images.iter().enumerate() {
        assert_eq!(
            image.len(),
            row_bytes * height as usize,
            "image {k} is not {width}x{height} RGB8"
        );
        let left = (k as u32 % columns) * (width + pad) + pad;
        let top = (k as u32 / columns) * (height + pad) + pad;
        for (y, row) in image.chunks_exact(row_bytes.max(1)).enumerate() {
            let start = ((top as usize + y) * canvas_width as usize + left as usize) * 3;
            canvas[start..start + row_bytes].copy_from_slice(row);
        }
    }
    (canvas, canvas_width, canvas_height)
}

/// compose + encode PNG + write_atomic. Optional integer `scale` (nearest-neighbour upscale, e.g. 2 or 3 for 32×32 CIFAR images) applied to each image.
///
/// A `scale` of 0 or 1 keeps the images as they are.
pub fn write_grid_png(
    path: &Path,
    images: &[&[u8]],
    width: u32,
    height: u32,
    columns: u32,
    pad: u32,
    scale: u32,
) -> io::Result<()> {
    let scale = scale.max(1);
    let scaled: Vec<Vec<u8>> = images
        .iter()
        .map(|image| upscale(image, width, height, scale))
        .collect();
    let views: Vec<&[u8]> = scaled.iter().map(Vec::as_slice).collect();
    let (canvas, canvas_width, canvas_height) =
        compose_grid(&views, width * scale, height * scale, columns, pad);
    write_atomic_with(path, |writer| {
        PngEncoder::new(writer)
            .write_image(
                &canvas,
                canvas_width,
                canvas_height,
                ExtendedColorType::Rgb8,
            )
            .map_err(io::Error::other)
    })
}

/// Nearest-neighbour upscale of an RGB8 image by an integer factor.
fn upscale(image: &[u8], width: u32, height: u32, scale: u32) -> Vec<u8> {
    let (width, height, scale) = (width as usize, height as usize, scale as usize);
    let mut out = Vec::with_capacity(image.len() * scale * scale);
    for y in 0..height * scale {
        let row = &image[(y / scale) * width * 3..][..width * 3];
        for pixel in row.chunks_exact(3) {
            for _ in 0..scale {
                out.extend_from_slice(pixel);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A w×h image whose pixel (x, y) is [base + 10x + y, base, 255 - base].
    fn tile(base: u8, w: u32, h: u32) -> Vec<u8> {
        let mut out = Vec::new();
        for y in 0..h as u8 {
            for x in 0..w as u8 {
                out.extend_from_slice(&[base + 10 * x + y, base, 255 - base]);
            }
        }
        out
    }

    fn pixel(canvas: &[u8], canvas_width: u32, x: u32, y: u32) -> [u8; 3] {
        let i = ((y * canvas_width + x) * 3) as usize;
        [canvas[i], canvas[i + 1], canvas[i + 2]]
    }

    #[test]
    fn two_by_two_grid_with_padding() {
        let tiles: Vec<Vec<u8>> = (0..4).map(|k| tile(50 * k, 2, 2)).collect();
        let views: Vec<&[u8]> = tiles.iter().map(Vec::as_slice).collect();
        let (canvas, w, h) = compose_grid(&views, 2, 2, 2, 1);
        assert_eq!((w, h, canvas.len()), (7, 7, 7 * 7 * 3));
        let expected = |base: u8, x: u8, y: u8| [base + 10 * x + y, base, 255 - base];
        for (k, (left, top)) in [(1, 1), (4, 1), (1, 4), (4, 4)].into_iter().enumerate() {
            for (x, y) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                let got = pixel(&canvas, w, left + x, top + y);
                assert_eq!(
                    got,
                    expected(50 * k as u8, x as u8, y as u8),
                    "tile {k} ({x},{y})"
                );
            }
        }
        for (x, y) in [(0, 0), (3, 3), (6, 6), (3, 1), (1, 3), (6, 0), (0, 6)] {
            assert_eq!(pixel(&canvas, w, x, y), BACKGROUND, "({x},{y})");
        }
    }

    #[test]
    fn partial_last_row_stays_background() {
        let tiles: Vec<Vec<u8>> = (0..3).map(|k| tile(50 * k, 2, 2)).collect();
        let views: Vec<&[u8]> = tiles.iter().map(Vec::as_slice).collect();
        let (canvas, w, h) = compose_grid(&views, 2, 2, 2, 1);
        assert_eq!((w, h), (7, 7));
        assert_eq!(pixel(&canvas, w, 4, 4), BACKGROUND);
        assert_eq!(pixel(&canvas, w, 1, 4), [100, 100, 155]);
    }

    #[test]
    fn png_file_has_scaled_size_and_pixels() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sheet/grid.png");
        let tiles: Vec<Vec<u8>> = (0..3).map(|k| tile(50 * k, 2, 2)).collect();
        let views: Vec<&[u8]> = tiles.iter().map(Vec::as_slice).collect();
        write_grid_png(&path, &views, 2, 2, 2, 1, 2).unwrap();
        let image = image::open(&path).unwrap().to_rgb8();
        assert_eq!(image.dimensions(), (11, 11));
        assert_eq!(image.get_pixel(1, 1).0, [0, 0, 255]);
        assert_eq!(image.get_pixel(4, 4).0, [11, 0, 255]);
        assert_eq!(image.get_pixel(6, 1).0, [50, 50, 205]);
        assert_eq!(image.get_pixel(0, 0).0, BACKGROUND);
    }
}
