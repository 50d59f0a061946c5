//! The packed store's fixed 64-byte header and JSON metadata block: encoding, and parsing
//! that trusts nothing (every offset is recomputed and compared, every length checked).

use serde::{Deserialize, Serialize};

/// Magic bytes opening every store file.
pub(super) const MAGIC: [u8; 8] = *b"SCANPAK\0";
/// Current format version; a store with another one is rebuilt.
pub(super) const VERSION: u32 = 1;
/// Size of the fixed header, which is also where the metadata block starts.
pub(super) const HEADER_LEN: usize = 64;
/// Alignment of the pixel and label regions.
const ALIGN: u64 = 64;
/// Channels per pixel (RGB).
pub(super) const CHANNELS: u32 = 3;

/// The JSON metadata block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Meta {
    /// Name of the source's first image (names the folder or archive it came from).
    pub source: String,
    /// The source dataset's fingerprint.
    pub fingerprint: String,
    /// Class names; a label indexes this list.
    pub classes: Vec<String>,
}

/// Sizes of a store; every offset derives from them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Layout {
    pub count: usize,
    pub width: u32,
    pub height: u32,
    pub meta_len: usize,
    pub pixel_offset: usize,
    pub labels_offset: usize,
    pub file_len: usize,
}

impl Layout {
    /// The layout of `count` RGB images of `width`×`height` with `meta_len` bytes of metadata;
    /// `None` when a size overflows.
    pub(super) fn new(count: usize, width: u32, height: u32, meta_len: usize) -> Option<Layout> {
        let image_len = u64::from(width) * u64::from(height) * u64::from(CHANNELS);
        let pixel_offset = align(HEADER_LEN as u64 + meta_len as u64)?;
        let pixels_end = pixel_offset.checked_add(image_len.checked_mul(count as u64)?)?;
        let labels_offset = align(pixels_end)?;
        let file_len = labels_offset.checked_add(4u64.checked_mul(count as u64)?)?;
        Some(Layout {
            count,
            width,
            height,
            meta_len,
            pixel_offset: usize::try_from(pixel_offset).ok()?,
            labels_offset: usize::try_from(labels_offset).ok()?,
            file_len: usize::try_from(file_len).ok()?,
        })
    }

    /// Bytes of one image.
    pub(super) fn image_len(&self) -> usize {
        self.width as usize * self.height as usize * CHANNELS as usize
    }

    /// The 64-byte header (little-endian fields, zero padding).
    pub(super) fn header(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[..8].copy_from_slice(&MAGIC);
        out[8..12].copy_from_slice(&VERSION.to_le_bytes());
        out[12..16].copy_from_slice(&CHANNELS.to_le_bytes());
        out[16..24].copy_from_slice(&(self.count as u64).to_le_bytes());
        out[24..28].copy_from_slice(&self.width.to_le_bytes());
        out[28..32].copy_from_slice(&self.height.to_le_bytes());
        out[32..40].copy_from_slice(&(self.meta_len as u64).to_le_bytes());
        out[40..48].copy_from_slice(&(self.pixel_offset as u64).to_le_bytes());
        out[48..56].copy_from_slice(&(self.labels_offset as u64).to_le_bytes());
        out
    }

    /// Parses and checks the header of a whole store file `bytes`: magic, version, channels,
    /// offsets equal to the ones recomputed from the sizes, and the exact file length.
    pub(super) fn parse(bytes: &[u8]) -> Result<Layout, String> {
        let header = bytes
            .get(..HEADER_LEN)
            .ok_or_else(|| format!("{} bytes, shorter than the header", bytes.len()))?;
        if header[..8] != MAGIC {
            return Err("not a packed store (bad magic bytes)".into());
        }
        let version = u32_at(header, 8);
        if version != VERSION {
            return Err(format!("format version {version}, expected {VERSION}"));
        }
        if u32_at(header, 12) != CHANNELS {
            return Err(format!(
                "{} channels, expected {CHANNELS}",
                u32_at(header, 12)
            ));
        }
        let sizes = (u64_at(header, 16), u32_at(header, 24), u32_at(header, 28));
        let meta_len = u64_at(header, 32);
        let layout = usize::try_from(sizes.0)
            .ok()
            .zip(usize::try_from(meta_len).ok())
            .and_then(|(count, meta)| Layout::new(count, sizes.1, sizes.2, meta))
            .ok_or("sizes overflow")?;
        let stored = (u64_at(header, 40), u64_at(header, 48), bytes.len());
        let expected = (
            layout.pixel_offset as u64,
            layout.labels_offset as u64,
            layout.file_len,
        );
        if stored != expected {
            return Err(format!(
                "offsets/length {stored:?} disagree with the sizes {expected:?} (truncated?)"
            ));
        }
        Ok(layout)
    }
}

/// Rounds `offset` up to a multiple of [`ALIGN`].
fn align(offset: u64) -> Option<u64> {
    Some(offset.checked_add(ALIGN - 1)? / ALIGN * ALIGN)
}

/// The little-endian u32 at `at` (the caller guarantees the bounds).
fn u32_at(bytes: &[u8], at: usize) -> u32 {
    let mut word = [0u8; 4];
    word.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(word)
}

/// The little-endian u64 at `at` (the caller guarantees the bounds).
fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(word)
}
