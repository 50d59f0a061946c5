//! File-system helpers: atomic file writes (temp file, fsync, rename), clearing temp files
//! that crashed processes left behind, and log appends.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Writes `bytes` to `path` atomically: a temp file in the same folder, fsync, then rename. Creates parent folders.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_with(path, |writer| writer.write_all(bytes))
}

/// Same, with a writer callback: `write` fills the temp file `.<file name>.tmp-<pid>`, which is removed on error.
pub fn write_atomic_with(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> io::Result<()>,
) -> io::Result<()> {
    let (folder, temp) = temp_path(path)?;
    fs::create_dir_all(&folder)?;
    let result = write_and_rename(&temp, path, write);
    if result.is_err() {
        let _ = fs::remove_file(&temp);
        return result;
    }
    sync_folder(&folder);
    remove_stale_temps(path);
    Ok(())
}

/// The folder of `path` and the temp file path used while writing it.
pub(crate) fn temp_path(path: &Path) -> io::Result<(PathBuf, PathBuf)> {
    let name = path.file_name().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("`{}` has no file name", path.display()),
        )
    })?;
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let temp = folder.join(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    Ok((folder, temp))
}

/// Writes the temp file through `write`, flushes and fsyncs it, then renames it onto `path`.
fn write_and_rename(
    temp: &Path,
    path: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> io::Result<()>,
) -> io::Result<()> {
    let mut writer = BufWriter::new(File::create(temp)?);
    write(&mut writer)?;
    let file = writer.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    fs::rename(temp, path)
}

/// Best-effort removal of the temp files `.<file name>.tmp-<pid>` beside `path` that processes
/// no longer running left behind (killed mid-write). Only where `/proc` tells which are.
pub(crate) fn remove_stale_temps(path: &Path) {
    let (Ok((folder, _)), Some(name)) = (temp_path(path), path.file_name()) else {
        return;
    };
    let Ok(entries) = fs::read_dir(&folder) else {
        return;
    };
    let prefix = format!(".{}.tmp-", name.to_string_lossy());
    for entry in entries.flatten() {
        let file = entry.file_name();
        let pid = file.to_str().and_then(|f| f.strip_prefix(&prefix));
        if pid.is_some_and(process_is_gone) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Whether no process `pid` runs now (false when that cannot be told).
fn process_is_gone(pid: &str) -> bool {
    let proc = Path::new("/proc");
    pid.parse::<u32>().is_ok() && proc.join("self").exists() && !proc.join(pid).exists()
}

/// Best-effort fsync of a folder so the rename itself is durable (not supported everywhere).
pub(crate) fn sync_folder(folder: &Path) {
    if let Ok(dir) = File::open(folder) {
        let _ = dir.sync_all();
    }
}

/// Appends `line` and a newline to the file at `path`, creating it if needed (for logs that
/// grow during a run, such as a training history).
pub fn append_line(path: &Path, line: &str) -> io::Result<()> {
    let mut file = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    writeln!(file, "{line}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_creates_folders_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/out.txt");
        write_atomic(&path, b"first").unwrap();
        write_atomic(&path, b"second").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"second");
        let names: Vec<_> = fs::read_dir(dir.path().join("a/b"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec!["out.txt"]);
    }

    #[test]
    fn failed_write_removes_temp_and_keeps_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        write_atomic(&path, b"old").unwrap();
        let err = write_atomic_with(&path, |w| {
            w.write_all(b"partial")?;
            Err(io::Error::other("boom"))
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "boom");
        assert_eq!(fs::read(&path).unwrap(), b"old");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn temps_of_dead_processes_are_cleared_and_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        // No process has pid u32::MAX (Linux caps pids at 2^22); pid 1 always runs.
        let dead = dir.path().join(format!(".out.txt.tmp-{}", u32::MAX));
        let alive = dir.path().join(".out.txt.tmp-1");
        let other = dir.path().join(format!(".other.txt.tmp-{}", u32::MAX));
        for temp in [&dead, &alive, &other] {
            fs::write(temp, b"partial").unwrap();
        }
        write_atomic(&path, b"whole").unwrap();
        assert!(!dead.exists());
        assert!(alive.exists() && other.exists());
    }

    #[test]
    fn path_without_file_name_is_refused() {
        assert_eq!(
            write_atomic(Path::new("/"), b"x").unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
    }
}
