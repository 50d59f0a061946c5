//! A cheap fingerprint of a data source taken from file metadata alone (no reading): for a
//! file its size and modification time; for a directory tree the number of files, their
//! total size and the newest modification time. Cache keys include it, so edited data
//! invalidates everything computed from it.

use std::fs;
use std::io;
use std::path::Path;
use std::time::UNIX_EPOCH;

/// Fingerprint of the file or directory tree at `path` (symlinked folders are not followed).
pub fn fingerprint_path(path: &Path) -> io::Result<String> {
    let meta = fs::metadata(path)?;
    if !meta.is_dir() {
        return Ok(format!("file:{}:{}", meta.len(), nanos(&meta)));
    }
    let mut totals = (0u64, 0u64, 0u128);
    walk(path, &mut totals)?;
    Ok(format!("dir:{}:{}:{}", totals.0, totals.1, totals.2))
}

fn walk(dir: &Path, totals: &mut (u64, u64, u128)) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            walk(&entry.path(), totals)?;
        } else if !kind.is_symlink() || entry.path().is_file() {
            let meta = entry.metadata()?;
            totals.0 += 1;
            totals.1 += meta.len();
            totals.2 = totals.2.max(nanos(&meta));
        }
    }
    Ok(())
}

fn nanos(meta: &fs::Metadata) -> u128 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_when_a_nested_file_changes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
        std::fs::write(dir.path().join("a/b/x.png"), b"1234").unwrap();
        let before = fingerprint_path(dir.path()).unwrap();
        assert_eq!(before, fingerprint_path(dir.path()).unwrap());
        std::fs::write(dir.path().join("a/b/x.png"), b"12345").unwrap();
        assert_ne!(before, fingerprint_path(dir.path()).unwrap());
    }

    #[test]
    fn a_file_fingerprint_tracks_its_size() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("data.tar");
        std::fs::write(&file, b"abc").unwrap();
        assert!(fingerprint_path(&file).unwrap().starts_with("file:3:"));
    }
}
