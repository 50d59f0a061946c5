//! Image decoding: header probing under size limits, RGB8 decoding (JPEG through `zune-jpeg`
//! straight into the caller's buffer, PNG and the rest through `image`), optional resizing,
//! and parallel batch decoding.

use std::fmt::Display;
use std::io::Cursor;

use image::{DynamicImage, ImageReader, Limits};
use rayon::prelude::*;

use crate::data::batch::ImageBatch;
use crate::data::error::{DataError, Result};
use crate::data::folder::ImageFolder;
use crate::data::resize::resize_rgb8;
use jpeg::Jpeg;

/// Largest accepted image width or height, in pixels.
pub const MAX_SIDE: u32 = 16_384;
/// Largest accepted image area, in pixels (64 Mpx).
pub const MAX_PIXELS: u64 = 64 * 1024 * 1024;
/// Largest allocation a decoder may make for one image, in bytes.
const MAX_ALLOC: u64 = 512 * 1024 * 1024;
/// Largest accepted encoded image file, in bytes (256 MiB: more than an uncompressed PNG of
/// [`MAX_PIXELS`] RGB pixels needs); larger files and archive entries are never read.
pub const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// Decodes `bytes` (JPEG or PNG) to RGB8 and writes it into `out` (len must be h*w*3); `name` is used in errors.
///
/// The header is checked first: over the limits is [`DataError::TooLarge`], another size than
/// `width`×`height` is [`DataError::SizeMismatch`]. Greyscale is replicated to R=G=B; alpha is dropped.
pub fn decode_rgb_into(
    bytes: &[u8],
    name: &str,
    width: u32,
    height: u32,
    out: &mut [u8],
) -> Result<()> {
    decode_fit(bytes, name, (width, height), out, false)
}

/// Same as [`decode_rgb_into`], but an image of another size is resized to `width`×`height`
/// (antialiased bilinear, [`resize_rgb8`]) instead of being refused.
pub fn decode_rgb_resized(
    bytes: &[u8],
    name: &str,
    width: u32,
    height: u32,
    out: &mut [u8],
) -> Result<()> {
    decode_fit(bytes, name, (width, height), out, true)
}

/// Reads only the header: (width, height), refusing dimensions over the limits (TooLarge).
pub fn probe_size(bytes: &[u8], name: &str) -> Result<(u32, u32)> {
    open(bytes, name).map(|(_, size)| size)
}

/// An image whose header has been read and checked: JPEGs go to `zune-jpeg`, the rest to `image`.
enum Source<'a> {
    Jpeg(Jpeg<'a>),
    Other(&'a [u8]),
}

/// Reads the header of `bytes` and checks its size against the limits.
fn open<'a>(bytes: &'a [u8], name: &str) -> Result<(Source<'a>, (u32, u32))> {
    if jpeg::is_jpeg(bytes) {
        if !jpeg::is_complete(bytes) {
            return Err(decode_error(
                name,
                "truncated JPEG (no end-of-image marker)",
            ));
        }
        if let Some(jpeg) = Jpeg::open(bytes, name)? {
            let size = jpeg.size;
            return Ok((Source::Jpeg(jpeg), size));
        }
    }
    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_ALLOC);
    let (width, height) = reader(bytes, name, limits)?
        .into_dimensions()
        .map_err(|e| decode_error(name, e))?;
    check_limits(name, width, height)?;
    Ok((Source::Other(bytes), (width, height)))
}

impl Source<'_> {
    /// Decodes the whole image as RGB8 into `out` (exactly its own size).
    fn decode_into(self, name: &str, out: &mut [u8]) -> Result<()> {
        match self {
            Source::Jpeg(jpeg) => jpeg.decode_into(name, out),
            Source::Other(bytes) => {
                let image = reader(bytes, name, decode_limits())?
                    .decode()
                    .map_err(|e| decode_error(name, e))?;
                copy_rgb(image, name, out)
            }
        }
    }
}

/// Decodes into `out` at `target` size; another size is resized when `resize`, else refused.
fn decode_fit(
    bytes: &[u8],
    name: &str,
    target: (u32, u32),
    out: &mut [u8],
    resize: bool,
) -> Result<()> {
    let (source, size) = open(bytes, name)?;
    if size != target && !resize {
        return Err(DataError::SizeMismatch {
            file: name.to_string(),
            width: size.0,
            height: size.1,
            expected_width: target.0,
            expected_height: target.1,
        });
    }
    let expected = rgb_len(target.0, target.1);
    if out.len() != expected {
        let message = format!(
            "output buffer holds {} bytes, {expected} expected",
            out.len()
        );
        return Err(decode_error(name, message));
    }
    if size == target {
        return source.decode_into(name, out);
    }
    let mut native = vec![0u8; rgb_len(size.0, size.1)];
    source.decode_into(name, &mut native)?;
    if resize_rgb8(&native, size.0, size.1, target.0, target.1, out) {
        Ok(())
    } else {
        Err(decode_error(name, "cannot resize the decoded image"))
    }
}

/// Refuses sizes over [`MAX_SIDE`] per side or [`MAX_PIXELS`] in total ([`DataError::TooLarge`]).
fn check_limits(name: &str, width: u32, height: u32) -> Result<()> {
    let too_large =
        width > MAX_SIDE || height > MAX_SIDE || u64::from(width) * u64::from(height) > MAX_PIXELS;
    if too_large {
        return Err(DataError::TooLarge {
            file: name.to_string(),
            width,
            height,
            limit: MAX_SIDE,
        });
    }
    Ok(())
}

/// Decodes the images at `indices` of `folder` (in that order) into one [`ImageBatch`],
/// on the caller's rayon `pool`; every image must be `width`×`height` or
/// [`DataError::SizeMismatch`] names the file.
///
/// The pixel buffer is allocated once and filled in parallel; the result does not depend on the pool
/// size, and when several images fail the error of the first failing position is returned.
/// Panics if an index is past `folder.len()`.
pub fn decode_batch(
    folder: &ImageFolder,
    indices: &[usize],
    width: u32,
    height: u32,
    pool: &rayon::ThreadPool,
) -> Result<ImageBatch> {
    let per_image = rgb_len(width, height);
    if per_image == 0 {
        for &i in indices {
            decode_one(folder, i, width, height, &mut [])?;
        }
    }
    let mut pixels = vec![0u8; indices.len() * per_image];
    let errors: Vec<Option<DataError>> = pool.install(|| {
        pixels
            .par_chunks_mut(per_image.max(1))
            .zip(indices.par_iter())
            .map(|(out, &i)| decode_one(folder, i, width, height, out).err())
            .collect()
    });
    if let Some(err) = errors.into_iter().flatten().next() {
        return Err(err);
    }
    Ok(ImageBatch {
        height,
        width,
        channels: 3,
        pixels,
        indices: indices.iter().map(|&i| i as u64).collect(),
        labels: Some(indices.iter().map(|&i| folder.label(i)).collect()),
        classes: folder.shared_classes(),
        epoch: 0,
        epoch_size: 0,
        store: None,
        names: None,
    })
}

/// Reads and decodes image `i` of `folder` into `out`.
fn decode_one(
    folder: &ImageFolder,
    i: usize,
    width: u32,
    height: u32,
    out: &mut [u8],
) -> Result<()> {
    let bytes = folder.read(i)?;
    decode_rgb_into(&bytes, &folder.name(i), width, height, out)
}

/// An image reader over `bytes` with its format guessed from the content and `limits` applied.
fn reader<'a>(
    bytes: &'a [u8],
    name: &str,
    limits: Limits,
) -> Result<ImageReader<Cursor<&'a [u8]>>> {
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| decode_error(name, e))?;
    if reader.format().is_none() {
        return Err(decode_error(
            name,
            "unknown image format (expected JPEG or PNG)",
        ));
    }
    reader.limits(limits);
    Ok(reader)
}

/// Limits for a full decode: per-side size and allocation caps.
fn decode_limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    limits
}

/// Copies a decoded image into `out` as RGB8.
fn copy_rgb(image: DynamicImage, name: &str, out: &mut [u8]) -> Result<()> {
    let rgb = match image {
        DynamicImage::ImageRgb8(buffer) => buffer.into_raw(),
        other => other.to_rgb8().into_raw(),
    };
    if rgb.len() != out.len() {
        return Err(decode_error(name, "decoded size differs from the header"));
    }
    out.copy_from_slice(&rgb);
    Ok(())
}

/// Bytes of one RGB8 image of the given size.
fn rgb_len(width: u32, height: u32) -> usize {
    width as usize * height as usize * 3
}

/// A [`DataError::Decode`] for `name`.
fn decode_error(name: &str, err: impl Display) -> DataError {
    DataError::Decode {
        file: name.to_string(),
        message: err.to_string(),
    }
}

mod jpeg;

#[cfg(test)]
mod tests;
