//! Building a packed store: a temporary file sized up front and mapped mutably, images decoded
//! in parallel straight into their slots, then flush, fsync and an atomic rename.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use memmap2::MmapMut;
use rayon::prelude::*;

use super::layout::{Layout, Meta, HEADER_LEN};
use super::store_error;
use crate::data::dataset::Dataset;
use crate::data::decode::MAX_SIDE;
use crate::data::error::{DataError, Result};
use crate::fsutil::{remove_stale_temps, sync_folder, temp_path};

/// Images decoded between two progress reports (and two error checks).
const BLOCK: usize = 1024;

/// Decodes `dataset` at `size` into a new store at `path`, replacing any file there.
pub(super) fn build(
    dataset: &dyn Dataset,
    size: (u32, u32),
    path: &Path,
    pool: &rayon::ThreadPool,
    progress: &dyn Fn(usize) -> bool,
) -> Result<()> {
    let (width, height) = size;
    if width == 0 || height == 0 || width > MAX_SIDE || height > MAX_SIDE {
        return Err(store_error(
            path,
            format!("cannot pack images at {width}x{height}"),
        ));
    }
    let meta = Meta {
        source: if dataset.is_empty() {
            String::new()
        } else {
            dataset.name(0)
        },
        fingerprint: dataset.fingerprint(),
        classes: dataset.classes().to_vec(),
    };
    let meta = serde_json::to_vec(&meta).map_err(|e| store_error(path, e.to_string()))?;
    let layout = Layout::new(dataset.len(), width, height, meta.len())
        .ok_or_else(|| store_error(path, "store size overflows"))?;
    let (folder, temp) = temp_path(path).map_err(|e| io_error(path, e))?;
    fs::create_dir_all(&folder).map_err(|e| io_error(&folder, e))?;
    let mut guard = TempFile {
        path: temp,
        keep: false,
    };
    let file = create_sized(&guard.path, layout.file_len)?;
    fill(&file, &guard.path, dataset, &layout, &meta, pool, progress)?;
    file.sync_all().map_err(|e| io_error(&guard.path, e))?;
    fs::rename(&guard.path, path).map_err(|e| io_error(path, e))?;
    guard.keep = true;
    sync_folder(&folder);
    remove_stale_temps(path);
    Ok(())
}

/// Creates (truncating) `temp` with length `len`.
fn create_sized(temp: &Path, len: usize) -> Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(temp)
        .map_err(|e| io_error(temp, e))?;
    file.set_len(len as u64).map_err(|e| io_error(temp, e))?;
    Ok(file)
}

/// Maps `file` and writes header, metadata, labels and pixels into it, then flushes the map.
fn fill(
    file: &File,
    temp: &Path,
    dataset: &dyn Dataset,
    layout: &Layout,
    meta: &[u8],
    pool: &rayon::ThreadPool,
    progress: &dyn Fn(usize) -> bool,
) -> Result<()> {
    // SAFETY: the temporary file is private to this build (fresh name, not yet renamed into
    // place), so nothing else maps or resizes it while the map lives.
    let mut map = unsafe { MmapMut::map_mut(file) }.map_err(|e| io_error(temp, e))?;
    map[..HEADER_LEN].copy_from_slice(&layout.header());
    map[HEADER_LEN..HEADER_LEN + meta.len()].copy_from_slice(meta);
    write_labels(&mut map[layout.labels_offset..], dataset, temp)?;
    crate::fault::crash_point(crate::fault::STORE_BUILD);
    let pixels =
        &mut map[layout.pixel_offset..layout.pixel_offset + layout.count * layout.image_len()];
    decode_all(pixels, dataset, layout, pool, progress, temp)?;
    map.flush().map_err(|e| io_error(temp, e))
}

/// Writes every label (u32::MAX when unknown), refusing one past the class list.
fn write_labels(out: &mut [u8], dataset: &dyn Dataset, temp: &Path) -> Result<()> {
    let classes = dataset.classes().len();
    for (i, slot) in out.chunks_exact_mut(4).take(dataset.len()).enumerate() {
        let label = dataset.label(i).unwrap_or(u32::MAX);
        if label != u32::MAX && label as usize >= classes {
            let message = format!(
                "label {label} of `{}` past the {classes} classes",
                dataset.name(i)
            );
            return Err(store_error(temp, message));
        }
        slot.copy_from_slice(&label.to_le_bytes());
    }
    Ok(())
}

/// Decodes every image into its slot of `pixels`, [`BLOCK`] images at a time on `pool`;
/// the error of the lowest failing index is returned.
fn decode_all(
    pixels: &mut [u8],
    dataset: &dyn Dataset,
    layout: &Layout,
    pool: &rayon::ThreadPool,
    progress: &dyn Fn(usize) -> bool,
    temp: &Path,
) -> Result<()> {
    let image_len = layout.image_len();
    let (width, height) = (layout.width, layout.height);
    for (b, block) in pixels.chunks_mut(BLOCK * image_len).enumerate() {
        let first = b * BLOCK;
        let failed = pool.install(|| {
            block
                .par_chunks_mut(image_len)
                .enumerate()
                .find_map_first(|(k, out)| dataset.read_rgb(first + k, width, height, out).err())
        });
        if let Some(err) = failed {
            return Err(err);
        }
        if !progress(first + block.len() / image_len) {
            return Err(DataError::PackingStopped {
                path: temp.to_path_buf(),
            });
        }
    }
    Ok(())
}

/// A temporary file removed on drop unless `keep` (set once it is renamed into place).
struct TempFile {
    path: PathBuf,
    keep: bool,
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.keep {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Wraps an I/O error on `path`.
fn io_error(path: &Path, source: io::Error) -> DataError {
    DataError::Io {
        path: path.to_path_buf(),
        source,
    }
}
