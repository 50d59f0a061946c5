//! Test helpers: encoding small images and laying out datasets in temp folders and archives.

use std::fs;
use std::path::Path;

use flate2::write::GzEncoder;
use flate2::Compression;
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::{ExtendedColorType, ImageEncoder};

/// A w×h RGB8 image whose pixel (x, y) is [seed, 10x + y, 255 - seed].
pub fn rgb_pixels(w: u32, h: u32, seed: u8) -> Vec<u8> {
    let mut out = Vec::new();
    for y in 0..h {
        for x in 0..w {
            out.extend_from_slice(&[seed, (10 * x + y) as u8, 255 - seed]);
        }
    }
    out
}

/// PNG bytes of an image with the given pixels and colour type.
pub fn png(pixels: &[u8], w: u32, h: u32, color: ExtendedColorType) -> Vec<u8> {
    let mut out = Vec::new();
    PngEncoder::new(&mut out)
        .write_image(pixels, w, h, color)
        .unwrap();
    out
}

/// JPEG bytes (quality 90) of an RGB8 image.
pub fn jpeg(pixels: &[u8], w: u32, h: u32) -> Vec<u8> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 90)
        .write_image(pixels, w, h, ExtendedColorType::Rgb8)
        .unwrap();
    out
}

/// Writes `bytes` at `root/rel`, creating folders.
pub fn put(root: &Path, rel: &str, bytes: &[u8]) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, bytes).unwrap();
}

/// A tar.gz (or plain tar) holding `entries` (path, bytes), written with raw header names so that
/// unsafe paths can be stored too.
pub fn tar_bytes(entries: &[(&str, Vec<u8>)], gzip: bool) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, bytes) in entries {
        let mut header = tar::Header::new_gnu();
        header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        builder.append(&header, bytes.as_slice()).unwrap();
    }
    let tar = builder.into_inner().unwrap();
    if !gzip {
        return tar;
    }
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    std::io::Write::write_all(&mut encoder, &tar).unwrap();
    encoder.finish().unwrap()
}
