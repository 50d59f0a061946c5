//! The packed image store: a [`Dataset`] decoded once, at one size, into one memory-mapped
//! file, then reopened in milliseconds (independent of the number of images) with free random
//! access to every image.
//!
//! # Layout (format version 1)
//!
//! ```text
//! offset  size  field (little-endian)
//!      0     8  magic  b"SCANPAK\0"
//!      8     4  format version (u32) = 1
//!     12     4  channels C (u32) = 3 (RGB)
//!     16     8  image count N (u64)
//!     24     4  width W (u32)
//!     28     4  height H (u32)
//!     32     8  metadata length M (u64)
//!     40     8  pixel offset P = align64(64 + M) (u64)
//!     48     8  label offset L = align64(P + N·H·W·C) (u64)
//!     56     8  zero
//!     64     M  metadata, JSON: {"source": <first image's name>, "fingerprint": <source
//!               fingerprint>, "classes": [<class names>]}
//!      P  N·H·W·C  pixels: image i at P + i·H·W·C, row-major H×W×C uint8
//!      L   4·N  labels (u32); u32::MAX = unknown
//! file length = L + 4·N exactly
//! ```
//!
//! [`PackedStore::open_or_build`] reuses a file only when all of that checks out (magic,
//! version, offsets recomputed from the sizes, exact length, parsable metadata, labels in
//! range) and it holds the same source fingerprint and size; a store of an older format
//! version, of another source or size, or one that is truncated or corrupt is rebuilt, never
//! trusted. A build writes a temporary file in the same folder and renames it into place after
//! an fsync, so a reader never sees a half-written store and a mapped old store stays valid.

use std::fs::File;
use std::path::{Path, PathBuf};

use memmap2::Mmap;

use crate::data::dataset::Dataset;
use crate::data::error::{DataError, Result};
use crate::data::resize::resize_rgb8;
use layout::{Layout, Meta, CHANNELS, HEADER_LEN};

/// Held while a store is being built in this process.
static BUILDING: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A read-only, memory-mapped store of N RGB8 images of one size, with labels and class names.
#[derive(Debug)]
pub struct PackedStore {
    map: Mmap,
    path: PathBuf,
    layout: Layout,
    meta: Meta,
    labels: Vec<Option<u32>>,
}

impl PackedStore {
    /// Opens the store at `path` when it is valid and was packed from `dataset` (same
    /// fingerprint) at `width`×`height`; otherwise decodes `dataset` into a new one on `pool`
    /// (the bytes do not depend on the pool size), calling `progress` with the number of
    /// images packed so far from time to time; when it returns `false` packing stops with
    /// [`DataError::PackingStopped`] and the partial file is removed. Decode errors name the image; the first
    /// failing index wins.
    pub fn open_or_build(
        dataset: &dyn Dataset,
        width: u32,
        height: u32,
        path: &Path,
        pool: &rayon::ThreadPool,
        progress: &dyn Fn(usize) -> bool,
    ) -> Result<PackedStore> {
        let reuse = || {
            let store = PackedStore::open(path).ok()?;
            let current =
                store.fingerprint() == dataset.fingerprint() && store.size() == (width, height);
            current.then_some(store)
        };
        if let Some(store) = reuse() {
            return Ok(store);
        }
        // Two nodes of one process may want the same store at once: the first builds it,
        // the second waits, then finds it current.
        let _building = BUILDING
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(store) = reuse() {
            return Ok(store);
        }
        build::build(dataset, (width, height), path, pool, progress)?;
        PackedStore::open(path)
    }

    /// Opens and checks the store at `path` ([`DataError::Store`] when it is not valid).
    pub fn open(path: &Path) -> Result<PackedStore> {
        let io = |source| DataError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(io)?;
        if file.metadata().map_err(io)?.len() < HEADER_LEN as u64 {
            return Err(store_error(path, "shorter than the header"));
        }
        // SAFETY: stores are never modified in place: builds write a new file and rename it
        // over the old one, so this mapping keeps seeing the file it opened.
        let map = unsafe { Mmap::map(&file) }.map_err(io)?;
        let layout = Layout::parse(&map).map_err(|m| store_error(path, m))?;
        let meta_bytes = &map[HEADER_LEN..HEADER_LEN + layout.meta_len];
        let meta: Meta = serde_json::from_slice(meta_bytes)
            .map_err(|e| store_error(path, format!("bad metadata: {e}")))?;
        let labels = read_labels(&map[layout.labels_offset..], &layout, &meta)
            .map_err(|m| store_error(path, m))?;
        Ok(PackedStore {
            map,
            path: path.to_path_buf(),
            layout,
            meta,
            labels,
        })
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.layout.count
    }

    /// True when the store holds no image.
    pub fn is_empty(&self) -> bool {
        self.layout.count == 0
    }

    /// Width of every image.
    pub fn width(&self) -> u32 {
        self.layout.width
    }

    /// Height of every image.
    pub fn height(&self) -> u32 {
        self.layout.height
    }

    /// Channels per pixel (3: RGB).
    pub fn channels(&self) -> u32 {
        CHANNELS
    }

    /// Class names; a label indexes this list.
    pub fn classes(&self) -> &[String] {
        &self.meta.classes
    }

    /// The class of image `i`, when known (`None` past the end too).
    pub fn label(&self, i: usize) -> Option<u32> {
        self.labels.get(i).copied().flatten()
    }

    /// Every image's label, in order.
    pub fn labels(&self) -> &[Option<u32>] {
        &self.labels
    }

    /// Image `i` as H×W×3 RGB8, a slice of the map. Panics if `i >= len()`.
    pub fn image(&self, i: usize) -> &[u8] {
        assert!(i < self.len(), "image {i} of a {}-image store", self.len());
        let start = self.layout.pixel_offset + i * self.layout.image_len();
        &self.map[start..start + self.layout.image_len()]
    }

    /// The fingerprint of the source dataset the store was packed from.
    pub fn fingerprint(&self) -> &str {
        &self.meta.fingerprint
    }

    /// The store file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Copies the images at `indices`, in order, into `out` (`indices.len()·H·W·3` bytes).
    pub fn gather(&self, indices: &[usize], out: &mut [u8]) -> Result<()> {
        let image_len = self.layout.image_len();
        if out.len() != indices.len() * image_len {
            let message = format!(
                "gather buffer of {} bytes for {} images",
                out.len(),
                indices.len()
            );
            return Err(store_error(&self.path, message));
        }
        if let Some(&bad) = indices.iter().find(|&&i| i >= self.len()) {
            let message = format!("image index {bad} past the {} images", self.len());
            return Err(store_error(&self.path, message));
        }
        for (slot, &i) in out.chunks_exact_mut(image_len.max(1)).zip(indices) {
            slot.copy_from_slice(self.image(i));
        }
        Ok(())
    }

    /// (width, height).
    fn size(&self) -> (u32, u32) {
        (self.layout.width, self.layout.height)
    }
}

impl Dataset for PackedStore {
    fn len(&self) -> usize {
        self.layout.count
    }

    fn native_size(&self) -> Option<(u32, u32)> {
        Some(self.size())
    }

    fn image_size(&self, _i: usize) -> Result<(u32, u32)> {
        Ok(self.size())
    }

    fn classes(&self) -> &[String] {
        &self.meta.classes
    }

    fn label(&self, i: usize) -> Option<u32> {
        PackedStore::label(self, i)
    }

    /// `<store path>#<index>`.
    fn name(&self, i: usize) -> String {
        format!("{}#{i}", self.path.display())
    }

    /// Copies (or resizes) image `i`; panics if `i >= len()`.
    fn read_rgb(&self, i: usize, width: u32, height: u32, out: &mut [u8]) -> Result<()> {
        let (w, h) = self.size();
        if resize_rgb8(self.image(i), w, h, width, height, out) {
            return Ok(());
        }
        let message = format!("output buffer of {} bytes for {width}x{height}", out.len());
        Err(store_error(&self.path, message))
    }

    /// The source's fingerprint with the stored size: `packed:<W>x<H>:<source fingerprint>`
    /// (the pixels depend on both).
    fn fingerprint(&self) -> String {
        format!(
            "packed:{}x{}:{}",
            self.layout.width, self.layout.height, self.meta.fingerprint
        )
    }
}

/// Decodes the label region, refusing labels past the class list (other than u32::MAX).
fn read_labels(
    bytes: &[u8],
    layout: &Layout,
    meta: &Meta,
) -> std::result::Result<Vec<Option<u32>>, String> {
    let classes = meta.classes.len();
    bytes
        .chunks_exact(4)
        .take(layout.count)
        .map(
            |word| match u32::from_le_bytes([word[0], word[1], word[2], word[3]]) {
                u32::MAX => Ok(None),
                label if (label as usize) < classes => Ok(Some(label)),
                label => Err(format!("label {label} past the {classes} classes")),
            },
        )
        .collect()
}

/// A [`DataError::Store`] for `path`.
fn store_error(path: &Path, message: impl Into<String>) -> DataError {
    DataError::Store {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

mod build;
mod layout;

#[cfg(test)]
mod tests;
