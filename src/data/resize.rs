//! Resizing RGB8 images with antialiased bilinear resampling (a triangle filter whose
//! support widens when shrinking — PIL's `BILINEAR`, which torchvision uses for PIL images).

use image::imageops::{self, FilterType};
use image::RgbImage;

/// Resizes `src` (`src_w`×`src_h` RGB8) into `out` (`dst_w`×`dst_h` RGB8). Copies when the
/// sizes are equal. Returns `false` when a buffer length does not match its size.
pub fn resize_rgb8(
    src: &[u8],
    src_w: u32,
    src_h: u32,
    dst_w: u32,
    dst_h: u32,
    out: &mut [u8],
) -> bool {
    let (src_len, dst_len) = (rgb_len(src_w, src_h), rgb_len(dst_w, dst_h));
    if src.len() != src_len || out.len() != dst_len {
        return false;
    }
    if (src_w, src_h) == (dst_w, dst_h) {
        out.copy_from_slice(src);
        return true;
    }
    let Some(image) = RgbImage::from_raw(src_w, src_h, src.to_vec()) else {
        return false;
    };
    let resized = imageops::resize(&image, dst_w, dst_h, FilterType::Triangle);
    out.copy_from_slice(resized.as_raw());
    true
}

fn rgb_len(width: u32, height: u32) -> usize {
    width as usize * height as usize * 3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_sizes_copy_exactly() {
        let src: Vec<u8> = (0..12).collect();
        let mut out = vec![0; 12];
        assert!(resize_rgb8(&src, 2, 2, 2, 2, &mut out));
        assert_eq!(out, src);
    }

    #[test]
    fn halving_a_checkerboard_averages_it() {
        // 2×2 black/white checkerboard shrunk to 1×1: the triangle filter weighs all four equally.
        let src = [0, 0, 0, 255, 255, 255, 255, 255, 255, 0, 0, 0];
        let mut out = [0u8; 3];
        assert!(resize_rgb8(&src, 2, 2, 1, 1, &mut out));
        assert!(out.iter().all(|&v| (127..=128).contains(&v)), "{out:?}");
    }

    #[test]
    fn wrong_buffer_lengths_are_refused() {
        let mut out = [0u8; 3];
        assert!(!resize_rgb8(&[0; 5], 2, 2, 1, 1, &mut out));
    }
}
