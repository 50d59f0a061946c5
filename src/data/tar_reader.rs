//! Reading tar archives, gzipped or not (told apart by their first bytes, not their name),
//! with every entry path checked: `..`, absolute paths and drive prefixes are refused, so
//! nothing read from an archive can name a place outside it.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Component, Path};

use flate2::read::MultiGzDecoder;

use super::error::{DataError, Result};

/// A tar archive being read from the start.
pub(crate) type TarArchive = tar::Archive<Box<dyn Read>>;

/// Opens `path` as a tar archive, decompressing it when it starts with the gzip magic bytes.
pub(crate) fn open_tar(path: &Path) -> Result<TarArchive> {
    let io = |source| DataError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = BufReader::new(File::open(path).map_err(io)?);
    let gzipped = file.fill_buf().map_err(io)?.starts_with(&[0x1f, 0x8b]);
    let reader: Box<dyn Read> = if gzipped {
        Box::new(MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    };
    Ok(tar::Archive::new(reader))
}

/// The path of `entry` as written in the archive, refused when it could escape the archive.
pub(crate) fn entry_name<R: Read>(archive: &Path, entry: &tar::Entry<R>) -> Result<String> {
    let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
    if is_unsafe(&name) {
        return Err(DataError::UnsafeEntry {
            archive: archive.to_path_buf(),
            entry: name,
        });
    }
    Ok(name)
}

/// An error reading the archive at `path`.
pub(crate) fn archive_error(path: &Path, err: io::Error) -> DataError {
    DataError::Archive {
        path: path.to_path_buf(),
        message: err.to_string(),
    }
}

fn is_unsafe(name: &str) -> bool {
    name.starts_with('/')
        || name.starts_with('\\')
        || Path::new(name).components().any(|c| {
            matches!(
                c,
                Component::ParentDir | Component::RootDir | Component::Prefix(_)
            )
        })
}

#[cfg(test)]
mod tests {
    use super::is_unsafe;

    #[test]
    fn escaping_names_are_unsafe() {
        for name in ["../x", "/etc/passwd", "a/../../b", "\\x"] {
            assert!(is_unsafe(name), "{name}");
        }
        for name in ["cifar10/train/cat/1.jpg", "a/b..c/d"] {
            assert!(!is_unsafe(name), "{name}");
        }
    }
}
