//! Confusion matrices as PNG heat maps: one square cell per (row, column), shaded by its
//! share of the row's total (row-normalised count) from white (0) to dark blue (1), with
//! 1-px light grey grid lines between and around the cells. No text: the rows and columns
//! are in the order given (e.g. classes × clusters in matched order).

use std::io;
use std::path::Path;

use image::codecs::png::PngEncoder;
use image::{ExtendedColorType, ImageEncoder};

use crate::fsutil::write_atomic_with;

/// Side of a cell in pixels while the matrix has at most 100 rows and columns.
pub const CELL: u32 = 24;
/// The longer side the picture is kept near once cells shrink for large matrices.
const TARGET_SIDE: u32 = 2400;
/// The longest side a heat map may have (about 5,400 rows or columns of 2-px cells).
pub const MAX_SIDE: u32 = 16_384;
/// The smallest cell side.
const MIN_CELL: u32 = 2;
/// Grid-line colour.
const GRID: [u8; 3] = [200, 200, 200];
/// Colour of a cell holding its whole row (matplotlib's darkest "Blues").
const DARK: [u8; 3] = [8, 48, 107];

/// The cell side for a `rows × cols` matrix: [`CELL`], or smaller (down to 2 px) so the longer
/// side stays near 2400 px.
pub fn cell_size(rows: usize, cols: usize) -> u32 {
    let longest = rows.max(cols).max(1) as u64;
    let fit = u64::from(TARGET_SIDE) / longest;
    fit.clamp(u64::from(MIN_CELL), u64::from(CELL)) as u32
}

/// Renders `matrix` (rows of equal length) as an RGB8 heat map; returns the pixels and
/// (width, height). Rows of different lengths, or a picture over [`MAX_SIDE`] pixels a side,
/// are an `InvalidInput` error.
pub fn render_heatmap(matrix: &[Vec<u64>]) -> io::Result<(Vec<u8>, u32, u32)> {
    let cols = matrix.first().map_or(0, Vec::len);
    if let Some(r) = matrix.iter().position(|row| row.len() != cols) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "heat map row {r} has {} values, row 0 has {cols}",
                matrix[r].len()
            ),
        ));
    }
    let cell = cell_size(matrix.len(), cols);
    let side = |n: usize| n as u64 * u64::from(cell + 1) + 1;
    let (width, height) = (side(cols), side(matrix.len()));
    if width.max(height) > u64::from(MAX_SIDE) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "a {}x{cols} matrix is too large for a heat map (over {MAX_SIDE} px a side)",
                matrix.len()
            ),
        ));
    }
    let (width, height) = (width as u32, height as u32);
    let mut pixels = GRID.repeat(width as usize * height as usize);
    for (r, row) in matrix.iter().enumerate() {
        let total: u64 = row.iter().sum();
        for (c, &count) in row.iter().enumerate() {
            let share = if total == 0 {
                0.0
            } else {
                count as f64 / total as f64
            };
            let origin = (c as u32 * (cell + 1) + 1, r as u32 * (cell + 1) + 1);
            fill(&mut pixels, width, origin, cell, shade(share));
        }
    }
    Ok((pixels, width, height))
}

/// Renders `matrix` and writes it as a PNG, atomically (temp file then rename).
pub fn write_heatmap_png(path: &Path, matrix: &[Vec<u64>]) -> io::Result<()> {
    let (pixels, width, height) = render_heatmap(matrix)?;
    write_atomic_with(path, |writer| {
        PngEncoder::new(writer)
            .write_image(&pixels, width, height, ExtendedColorType::Rgb8)
            .map_err(io::Error::other)
    })
}

/// White blended towards [`DARK`] by `share` in [0, 1].
fn shade(share: f64) -> [u8; 3] {
    DARK.map(|dark| (255.0 + share * (f64::from(dark) - 255.0)).round() as u8)
}

/// Paints a `cell × cell` square with its top-left corner at `origin` (x, y).
fn fill(pixels: &mut [u8], width: u32, origin: (u32, u32), cell: u32, colour: [u8; 3]) {
    let (x0, y0) = (origin.0 as usize, origin.1 as usize);
    for y in y0..y0 + cell as usize {
        let start = (y * width as usize + x0) * 3;
        for pixel in pixels[start..start + cell as usize * 3].chunks_exact_mut(3) {
            pixel.copy_from_slice(&colour);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pixel at (x, y) of an RGB8 image `width` wide.
    fn pixel(pixels: &[u8], width: u32, x: u32, y: u32) -> [u8; 3] {
        let i = ((y * width + x) * 3) as usize;
        [pixels[i], pixels[i + 1], pixels[i + 2]]
    }

    #[test]
    fn cells_grid_and_darkest_cell() {
        // Row 1's 30 of 35 (share 0.857) is the largest count and the largest share.
        let matrix = vec![vec![5, 5, 0, 0], vec![2, 0, 30, 3], vec![0, 0, 0, 0]];
        let (pixels, width, height) = render_heatmap(&matrix).unwrap();
        // 4 cells of 24 px and 5 grid lines across; 3 cells and 4 lines down.
        assert_eq!((width, height), (4 * 24 + 5, 3 * 24 + 4));
        assert_eq!(pixel(&pixels, width, 0, 0), GRID);
        assert_eq!(pixel(&pixels, width, 25, 10), GRID);
        let darkness = |p: [u8; 3]| 765 - p.iter().map(|&v| u32::from(v)).sum::<u32>();
        let darkest = (0..height)
            .flat_map(|y| (0..width).map(move |x| (x, y)))
            .min_by_key(|&(x, y)| std::cmp::Reverse(darkness(pixel(&pixels, width, x, y))))
            .unwrap();
        // Column 2, row 1: x in 51..75, y in 26..50; the first darkest pixel is its corner.
        assert_eq!(darkest, (2 * 25 + 1, 25 + 1));
        // Empty counts and the all-zero row are white; half a row is halfway to DARK.
        assert_eq!(pixel(&pixels, width, 80, 10), [255, 255, 255]);
        assert_eq!(pixel(&pixels, width, 10, 60), [255, 255, 255]);
        assert_eq!(pixel(&pixels, width, 10, 10), [132, 152, 181]);
    }

    #[test]
    fn writes_a_png_and_refuses_ragged_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("confusion.png");
        write_heatmap_png(&path, &[vec![1, 0], vec![0, 1]]).unwrap();
        let decoded = image::open(&path).unwrap();
        // Two 24-px cells and three grid lines each way.
        assert_eq!((decoded.width(), decoded.height()), (51, 51));
        let err = write_heatmap_png(&path, &[vec![1, 0], vec![1]]).unwrap_err();
        assert_eq!(err.to_string(), "heat map row 1 has 1 values, row 0 has 2");
    }

    #[test]
    fn cells_shrink_for_large_matrices() {
        assert_eq!(cell_size(10, 10), 24);
        assert_eq!(cell_size(10, 200), 12);
        assert_eq!(cell_size(5000, 10), 2);
        let err = render_heatmap(&vec![vec![0; 2]; 6000]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "a 6000x2 matrix is too large for a heat map (over 16384 px a side)"
        );
    }
}
