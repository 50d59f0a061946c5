//! The files of a binary dataset release (CIFAR, STL-10): memory-mapped from the extracted
//! folder, or read into memory from the downloaded tar / tar.gz (gzip detected by its magic
//! bytes). [`records`] holds the checks and pixel copies both readers share.

mod records;

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read};
use std::ops::Deref;
use std::path::Path;

use memmap2::Mmap;

use crate::data::error::{DataError, Result};
use crate::data::fingerprint::fingerprint_path;
use crate::data::tar_reader::{archive_error, entry_name, open_tar};

pub(crate) use records::{class_names, count_records, interleave, out_of_range, write_rgb};

/// The bytes of one release file.
pub(crate) enum Blob {
    /// A memory-mapped file (read-only).
    Mapped(Mmap),
    /// An archive member held in memory.
    Owned(Vec<u8>),
}

impl Deref for Blob {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Blob::Mapped(map) => map,
            Blob::Owned(bytes) => bytes,
        }
    }
}

/// One release file: its name for messages (a path, or `archive:entry`) and its bytes.
pub(crate) struct Member {
    /// Display name used in errors.
    pub name: String,
    /// The file's bytes.
    pub bytes: Blob,
}

/// The wanted files found in a release folder or archive, keyed by file name.
pub(crate) struct Release {
    members: HashMap<String, Member>,
    looked_in: String,
    fingerprint: String,
}

impl Release {
    /// Finds the `wanted` files under `path`: a folder holding them, a folder holding
    /// `subfolder` that holds them, or a tar / tar.gz archive (members matched by file name,
    /// anywhere in it; an absolute or `..` entry path is [`DataError::UnsafeEntry`]).
    /// Missing files are reported when taken, not here.
    pub fn open(path: &Path, subfolder: &str, wanted: &[&str]) -> Result<Release> {
        if !path.exists() {
            return Err(DataError::NotFound {
                path: path.to_path_buf(),
            });
        }
        if !path.is_dir() {
            let members = read_archive(path, wanted)?;
            let fingerprint = fingerprint_path(path).map_err(|e| io_error(path, e))?;
            let looked_in = format!("archive `{}`", path.display());
            return Ok(Release {
                members,
                looked_in,
                fingerprint,
            });
        }
        let nested = path.join(subfolder);
        let has_any = |dir: &Path| wanted.iter().any(|file| dir.join(file).is_file());
        let dir = if !has_any(path) && has_any(&nested) {
            nested.clone()
        } else {
            path.to_path_buf()
        };
        let looked_in = format!("`{}` and `{}`", path.display(), nested.display());
        let (members, fingerprint) = map_folder(&dir, wanted)?;
        Ok(Release {
            members,
            looked_in,
            fingerprint,
        })
    }

    /// Removes and returns `file`; [`DataError::MissingFile`] when it was not found.
    pub fn take(&mut self, file: &str) -> Result<Member> {
        self.members
            .remove(file)
            .ok_or_else(|| DataError::MissingFile {
                file: file.to_string(),
                looked_in: self.looked_in.clone(),
            })
    }

    /// Removes and returns `file` when it was found.
    pub fn take_optional(&mut self, file: &str) -> Option<Member> {
        self.members.remove(file)
    }

    /// A fingerprint of the files read: the archive's, or each folder file's size and mtime.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }
}

/// Memory-maps the wanted files present in `dir`; returns them and their fingerprint.
fn map_folder(dir: &Path, wanted: &[&str]) -> Result<(HashMap<String, Member>, String)> {
    let mut members = HashMap::new();
    let mut fingerprint = Vec::new();
    for file in wanted {
        let path = dir.join(file);
        if !path.is_file() {
            continue;
        }
        let opened = File::open(&path).map_err(|e| io_error(&path, e))?;
        // SAFETY: the map is read-only. As with any memory-mapped reader, the release files
        // must not be truncated or rewritten while the dataset is open (documented on the readers).
        let map = unsafe { Mmap::map(&opened) }.map_err(|e| io_error(&path, e))?;
        let print = fingerprint_path(&path).map_err(|e| io_error(&path, e))?;
        fingerprint.push(format!("{file}={print}"));
        let name = path.display().to_string();
        let bytes = Blob::Mapped(map);
        members.insert(file.to_string(), Member { name, bytes });
    }
    Ok((members, fingerprint.join(";")))
}

/// Reads the wanted members of a tar or tar.gz archive into memory, stopping once all are found.
fn read_archive(path: &Path, wanted: &[&str]) -> Result<HashMap<String, Member>> {
    let mut archive = open_tar(path)?;
    let mut members = HashMap::new();
    for entry in archive.entries().map_err(|e| archive_error(path, e))? {
        let mut entry = entry.map_err(|e| archive_error(path, e))?;
        let entry_name = entry_name(path, &entry)?;
        let base = entry_name.rsplit('/').next().unwrap_or_default();
        let Some(file) = wanted.iter().find(|w| **w == base) else {
            continue;
        };
        if !entry.header().entry_type().is_file() || members.contains_key(*file) {
            continue;
        }
        let bytes = Blob::Owned(read_member(path, &entry_name, &mut entry)?);
        let name = format!("{}:{entry_name}", path.display());
        members.insert(file.to_string(), Member { name, bytes });
        if members.len() == wanted.len() {
            break;
        }
    }
    Ok(members)
}

/// Largest archive member held in memory: 4 GiB, above STL-10's 2.76 GB `unlabeled_X.bin`,
/// so that a header declaring more (a decompression bomb) is refused before any reading.
const MAX_MEMBER_BYTES: u64 = 4 << 30;

/// Reads one archive member, reserving its declared size up front (an error when it is over
/// [`MAX_MEMBER_BYTES`] or cannot be reserved).
fn read_member<R: Read>(
    archive: &Path,
    entry_name: &str,
    entry: &mut tar::Entry<R>,
) -> Result<Vec<u8>> {
    let declared = entry.size();
    let too_big = || DataError::Archive {
        path: archive.to_path_buf(),
        message: format!(
            "cannot hold `{entry_name}` ({declared} bytes) in memory; extract the archive instead"
        ),
    };
    if declared > MAX_MEMBER_BYTES {
        return Err(too_big());
    }
    let size = usize::try_from(declared).map_err(|_| too_big())?;
    let mut bytes = Vec::new();
    bytes.try_reserve_exact(size).map_err(|_| too_big())?;
    entry
        .read_to_end(&mut bytes)
        .map_err(|e| archive_error(archive, e))?;
    Ok(bytes)
}

/// Wraps an I/O error on `path`.
fn io_error(path: &Path, source: io::Error) -> DataError {
    DataError::Io {
        path: path.to_path_buf(),
        source,
    }
}
