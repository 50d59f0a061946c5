//! Downloading the official data-set archives (CIFAR-10, CIFAR-100, STL-10): stream over
//! HTTP into a temporary file while computing its MD5, verify, rename into place, then
//! unpack the `.tar.gz` safely into the same folder.
//!
//! ```text
//! dir/.<file>.part-<pid>  ──md5 ok──>  dir/<file>  ──unpack──>  dir/.<top>.unpack-<pid>/<top>  ──rename──>  dir/<top>
//! ```

mod download;
mod error;
mod unpack;

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use md5::{Digest, Md5};

pub use error::FetchError;

/// One downloadable data-set archive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Archive {
    /// The short name used on the command line, e.g. `cifar10`.
    pub name: &'static str,
    /// The official download URL.
    pub url: &'static str,
    /// The archive's file name in the target folder.
    pub file: &'static str,
    /// The archive's MD5, lower-case hex.
    pub md5: &'static str,
    /// The top folder the archive unpacks to.
    pub unpacks_to: &'static str,
}

/// Every archive `scanflow fetch` knows.
pub const ARCHIVES: [Archive; 3] = [
    Archive {
        name: "cifar10",
        url: "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
        file: "cifar-10-binary.tar.gz",
        md5: "c58f30108f718f92721af3b95e74349a",
        unpacks_to: "cifar-10-batches-bin",
    },
    Archive {
        name: "cifar100",
        url: "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz",
        file: "cifar-100-binary.tar.gz",
        md5: "03b5dce01913d631647c71ecec9e9cb8",
        unpacks_to: "cifar-100-binary",
    },
    Archive {
        name: "stl10",
        url: "http://ai.stanford.edu/~acoates/stl10/stl10_binary.tar.gz",
        file: "stl10_binary.tar.gz",
        md5: "91f7769df0f17e558f3565bffb0c7dfb",
        unpacks_to: "stl10_binary",
    },
];

/// The known archive called `name`.
pub fn known(name: &str) -> Option<&'static Archive> {
    ARCHIVES.iter().find(|archive| archive.name == name)
}

/// The known archive called `name`, or [`FetchError::Unknown`] with a "did you mean" hint.
pub fn lookup(name: &str) -> Result<&'static Archive, FetchError> {
    known(name).ok_or_else(|| FetchError::Unknown {
        name: name.to_string(),
        hint: crate::diagnostic::did_you_mean(name, ARCHIVES.iter().map(|a| a.name)),
        known: ARCHIVES.map(|a| a.name).join(", "),
    })
}

/// Makes `archive` ready in `dir` and returns the unpacked folder `dir/<unpacks_to>`.
///
/// Nothing is done when that folder exists; the download is skipped when `dir/<file>` exists
/// with the right MD5. Otherwise the archive is downloaded from `url_override` or its
/// official URL, reporting `progress(bytes so far, total if known)`. On any error no partial
/// or temporary file is left in `dir`.
pub fn fetch(
    archive: &Archive,
    dir: &Path,
    url_override: Option<&str>,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<PathBuf, FetchError> {
    let unpacked = dir.join(archive.unpacks_to);
    if unpacked.is_dir() {
        return Ok(unpacked);
    }
    fs::create_dir_all(dir).map_err(FetchError::io(dir))?;
    let file = dir.join(archive.file);
    if !has_md5(&file, archive.md5)? {
        let url = url_override.unwrap_or(archive.url);
        download::download(url, &file, archive.md5, progress)?;
    }
    unpack::unpack(&file, dir, archive.unpacks_to)?;
    Ok(unpacked)
}

/// Whether `path` is a file whose MD5 is `md5` (false when it does not exist).
fn has_md5(path: &Path, md5: &str) -> Result<bool, FetchError> {
    if !path.is_file() {
        return Ok(false);
    }
    let mut file = fs::File::open(path).map_err(FetchError::io(path))?;
    let mut hasher = Md5::new();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buffer).map_err(FetchError::io(path))?;
        if n == 0 {
            return Ok(hex(&hasher.finalize()) == md5);
        }
        hasher.update(&buffer[..n]);
    }
}

/// Lower-case hex of `bytes`.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A temporary file or folder that is removed when dropped, unless [`Temp::keep`] was called.
struct Temp {
    path: PathBuf,
    keep: bool,
}

impl Temp {
    /// Guards `path`.
    fn new(path: PathBuf) -> Self {
        Temp { path, keep: false }
    }

    /// Disarms the guard (the path was renamed into place).
    fn keep(mut self) {
        self.keep = true;
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        if self.keep {
            return;
        }
        if self.path.is_dir() {
            let _ = fs::remove_dir_all(&self.path);
        } else {
            let _ = fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod server;
#[cfg(test)]
mod tests;
