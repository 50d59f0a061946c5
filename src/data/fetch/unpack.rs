//! Unpacking a verified `.tar.gz` safely: every entry goes into a temporary folder inside the
//! target folder, entries that could write outside it (absolute paths, `..`, links pointing
//! out) are refused, and only the expected top folder is renamed into place.

use std::fs::{self, File};
use std::io::Read;
use std::path::{Component, Path};

use flate2::read::GzDecoder;

use super::{FetchError, Temp};

/// Unpacks `archive` into `dir`, leaving `dir/<top>` on success and nothing on failure.
pub(super) fn unpack(archive: &Path, dir: &Path, top: &str) -> Result<(), FetchError> {
    let temp = Temp::new(dir.join(format!(".{top}.unpack-{}", std::process::id())));
    fs::create_dir(&temp.path).map_err(FetchError::io(&temp.path))?;
    let file = File::open(archive).map_err(FetchError::io(archive))?;
    unpack_entries(archive, GzDecoder::new(file), &temp.path)?;
    let unpacked = temp.path.join(top);
    if !unpacked.is_dir() {
        return Err(FetchError::Archive {
            archive: archive.to_path_buf(),
            message: format!("it holds no `{top}/` folder"),
        });
    }
    let target = dir.join(top);
    match fs::rename(&unpacked, &target) {
        Ok(()) => Ok(()),
        // Another process unpacked the same archive meanwhile: its copy is as good.
        Err(_) if target.is_dir() => Ok(()),
        Err(source) => Err(FetchError::Io {
            path: target,
            source,
        }),
    }
}

/// Checks and unpacks every entry of the tar stream `reader` into `into`.
fn unpack_entries(archive: &Path, reader: impl Read, into: &Path) -> Result<(), FetchError> {
    let corrupt = |error: std::io::Error| FetchError::Archive {
        archive: archive.to_path_buf(),
        message: error.to_string(),
    };
    let mut tar = tar::Archive::new(reader);
    for entry in tar.entries().map_err(corrupt)? {
        let mut entry = entry.map_err(corrupt)?;
        let kind = entry.header().entry_type();
        if !(kind.is_file() || kind.is_dir() || kind.is_symlink() || kind.is_hard_link()) {
            continue;
        }
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let unsafe_entry = |reason| FetchError::UnsafeEntry {
            archive: archive.to_path_buf(),
            entry: name.clone(),
            reason,
        };
        check_entry(&entry, &name).map_err(unsafe_entry)?;
        if !entry.unpack_in(into).map_err(corrupt)? {
            return Err(unsafe_entry("it would land outside the target folder"));
        }
    }
    Ok(())
}

/// Why an entry is unsafe, if it is: an absolute or climbing path, or a link pointing out.
fn check_entry<R: Read>(entry: &tar::Entry<R>, name: &str) -> Result<(), &'static str> {
    let path = Path::new(name);
    let plain = |c: Component| matches!(c, Component::Normal(_) | Component::CurDir);
    if name.starts_with(['/', '\\']) || !path.components().all(plain) {
        return Err("absolute path or `..`");
    }
    let kind = entry.header().entry_type();
    if !(kind.is_symlink() || kind.is_hard_link()) {
        return Ok(());
    }
    let target = entry
        .link_name_bytes()
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default();
    // A symbolic link resolves from its own folder, a hard link from the archive's root.
    let from = match kind.is_symlink() {
        true => path.parent().unwrap_or(Path::new("")),
        false => Path::new(""),
    };
    let base = climbs(from, 0).unwrap_or(0);
    if target.starts_with(['/', '\\']) || climbs(Path::new(&target), base).is_none() {
        return Err("link pointing outside the archive's folder");
    }
    Ok(())
}

/// The folder depth reached by following `path` from depth `depth`, or `None` when it
/// leaves the root (a `..` too many) or is absolute.
pub(super) fn climbs(path: &Path, mut depth: usize) -> Option<usize> {
    for component in path.components() {
        depth = match component {
            Component::Normal(_) => depth + 1,
            Component::CurDir => depth,
            Component::ParentDir => depth.checked_sub(1)?,
            Component::RootDir | Component::Prefix(_) => return None,
        };
    }
    Some(depth)
}
