//! Reading ImageFolder images straight from a tar or tar.gz archive, refusing unsafe entry
//! paths, entries over [`MAX_FILE_BYTES`] and more than [`MAX_ARCHIVE_BYTES`] of images in
//! all (so a decompression bomb is never inflated, not even as many entries under the
//! per-file limit).

use std::io::Read;
use std::path::Path;

use super::{is_image_name, Data, Item};
use crate::data::decode::MAX_FILE_BYTES;
use crate::data::error::{DataError, Result};
use crate::data::tar_reader::{archive_error, entry_name, open_tar};

/// The most image bytes read into memory from one archive (8 GiB); larger data sets belong
/// in a folder, which is read file by file.
pub const MAX_ARCHIVE_BYTES: u64 = 8 * 1024 * 1024 * 1024;

/// Reads a tar archive (gzipped or not, detected by its magic bytes) and keeps the selected images.
pub(super) fn scan_archive(path: &Path, split: Option<&str>) -> Result<Vec<Item>> {
    scan_archive_within(path, split, MAX_ARCHIVE_BYTES)
}

/// [`scan_archive`] holding at most `limit` bytes of images.
pub(super) fn scan_archive_within(
    path: &Path,
    split: Option<&str>,
    limit: u64,
) -> Result<Vec<Item>> {
    let mut archive = open_tar(path)?;
    let mut items = Vec::new();
    let mut held = 0u64;
    for entry in archive.entries().map_err(|e| archive_error(path, e))? {
        let mut entry = entry.map_err(|e| archive_error(path, e))?;
        if let Some(item) = read_entry(path, &mut entry, split)? {
            held += entry.size();
            if held > limit {
                return Err(DataError::ArchiveTooLarge {
                    archive: path.to_path_buf(),
                    limit,
                });
            }
            items.push(item);
        }
    }
    Ok(items)
}

/// Checks one archive entry and returns it as an item when it is a selected image file.
fn read_entry<R: Read>(
    archive: &Path,
    entry: &mut tar::Entry<R>,
    split: Option<&str>,
) -> Result<Option<Item>> {
    let name = entry_name(archive, entry)?;
    if !entry.header().entry_type().is_file() {
        return Ok(None);
    }
    let Some(class) = archive_class(&name, split) else {
        return Ok(None);
    };
    if entry.size() > MAX_FILE_BYTES {
        return Err(DataError::FileTooLarge {
            file: format!("{}:{name}", archive.display()),
            bytes: entry.size(),
            limit: MAX_FILE_BYTES,
        });
    }
    let mut bytes = Vec::with_capacity(entry.size().min(1 << 24) as usize);
    entry
        .read_to_end(&mut bytes)
        .map_err(|e| archive_error(archive, e))?;
    Ok(Some(Item {
        class,
        path: name,
        label: 0,
        data: Data::Bytes(bytes),
    }))
}

/// The class of an archive entry (its parent folder) when it is a visible image in the selected split.
fn archive_class(name: &str, split: Option<&str>) -> Option<String> {
    let parts: Vec<&str> = name
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    let (file, folders) = parts.split_last()?;
    let (class, above) = folders.split_last()?;
    if !is_image_name(file) || class.starts_with('.') {
        return None;
    }
    match split {
        Some(split) if above.last() != Some(&split) => None,
        _ => Some(class.to_string()),
    }
}
