//! ImageFolder datasets (one sub-folder per class) read from a directory or a tar / tar.gz archive.

use std::borrow::Cow;
use std::fs::{self, Metadata};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use crate::data::decode::MAX_FILE_BYTES;
use crate::data::error::{DataError, Result};

/// File extensions taken as images (compared case-insensitively).
const IMAGE_EXTENSIONS: [&str; 3] = ["jpg", "jpeg", "png"];

/// Where an image's encoded bytes live.
#[derive(Debug)]
enum Data {
    /// A file on disk, read on demand.
    File(PathBuf),
    /// Bytes held in memory (archive entries).
    Bytes(Vec<u8>),
}

/// One image: its class, its path (file path or archive entry) and its bytes.
#[derive(Debug)]
struct Item {
    class: String,
    path: String,
    label: u32,
    data: Data,
}

/// An image classification dataset laid out as one folder per class, from a directory or an archive.
///
/// Images are ordered by (class name, path); a label is the index of the class in [`ImageFolder::classes`].
#[derive(Debug)]
pub struct ImageFolder {
    source: PathBuf,
    archive: bool,
    classes: Arc<[String]>,
    items: Vec<Item>,
    fingerprint: String,
}

impl ImageFolder {
    /// Opens `path` (a directory, or a `.tar` / `.tar.gz` / `.tgz` archive detected by content).
    ///
    /// `split`, when given, selects the images under a folder of that name: `path/split/<class>/*` for a
    /// directory, `*/split/<class>/*` for an archive. Without it, a directory is read as `path/<class>/*` and
    /// an archive yields every image whose parent folder is its class. Only files directly inside a class
    /// folder count; hidden files and symlinked folders are skipped. Archive images are held in memory.
    pub fn open(path: &Path, split: Option<&str>) -> Result<ImageFolder> {
        let meta = fs::metadata(path).map_err(|e| missing_or_io(path, e))?;
        if meta.is_dir() {
            open_dir(path, split)
        } else {
            let items = archive::scan_archive(path, split)?;
            let fingerprint = format!("archive:{}:{}:{}", path.display(), meta.len(), mtime(&meta));
            build(path, true, items, fingerprint, split)
        }
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the dataset holds no images (only possible after `select_per_class(0)`).
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Sorted class names; a label is an index into this list.
    pub fn classes(&self) -> &[String] {
        &self.classes
    }

    /// The class names, shared (for [`crate::data::ImageBatch::classes`]).
    pub(crate) fn shared_classes(&self) -> Arc<[String]> {
        Arc::clone(&self.classes)
    }

    /// Label of image `i`. Panics if `i >= len()`.
    pub fn label(&self, i: usize) -> u32 {
        self.items[i].label
    }

    /// Display name of image `i`: `<archive path>:<entry path>` for archives, the file path for directories.
    /// Panics if `i >= len()`.
    pub fn name(&self, i: usize) -> String {
        let item = &self.items[i];
        if self.archive {
            format!("{}:{}", self.source.display(), item.path)
        } else {
            item.path.clone()
        }
    }

    /// Encoded bytes of image `i`: borrowed for archives, read from disk for directories
    /// (a file over [`MAX_FILE_BYTES`] is [`DataError::FileTooLarge`], and is not read).
    /// Panics if `i >= len()`.
    pub fn read(&self, i: usize) -> Result<Cow<'_, [u8]>> {
        match &self.items[i].data {
            Data::Bytes(bytes) => Ok(Cow::Borrowed(bytes)),
            Data::File(path) => read_file(path).map(Cow::Owned),
        }
    }

    /// Keeps only the first `per_class` images (in path order) of each class; class names and labels stay.
    pub fn select_per_class(&mut self, per_class: usize) {
        let mut counts = vec![0usize; self.classes.len()];
        self.items.retain(|item| {
            let count = &mut counts[item.label as usize];
            *count += 1;
            *count <= per_class
        });
    }

    /// A cheap fingerprint of the source, taken at open time: path, size and modification time for an
    /// archive; path, number of image files, total size and newest modification time for a directory.
    pub fn fingerprint(&self) -> String {
        self.fingerprint.clone()
    }
}

/// Sorts the items, assigns labels and builds the dataset; no items is [`DataError::EmptyDataset`].
fn build(
    path: &Path,
    archive: bool,
    mut items: Vec<Item>,
    fingerprint: String,
    split: Option<&str>,
) -> Result<ImageFolder> {
    if items.is_empty() {
        return Err(DataError::EmptyDataset {
            path: path.to_path_buf(),
            split: split.map(str::to_string),
        });
    }
    items.sort_by(|a, b| (&a.class, &a.path).cmp(&(&b.class, &b.path)));
    let mut classes: Vec<String> = Vec::new();
    for item in &mut items {
        if classes.last() != Some(&item.class) {
            classes.push(item.class.clone());
        }
        item.label = (classes.len() - 1) as u32;
    }
    let source = path.to_path_buf();
    let classes = Arc::from(classes);
    Ok(ImageFolder {
        source,
        archive,
        classes,
        items,
        fingerprint,
    })
}

/// Whether a file name is a visible JPEG or PNG file.
fn is_image_name(name: &str) -> bool {
    let ext = Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("");
    !name.starts_with('.')
        && IMAGE_EXTENSIONS
            .iter()
            .any(|known| ext.eq_ignore_ascii_case(known))
}

/// Totals gathered while listing a directory dataset, for its fingerprint.
#[derive(Default)]
struct DirStats {
    files: u64,
    bytes: u64,
    newest: u128,
}

/// Opens a directory dataset: `path/[split/]<class>/<image>`.
fn open_dir(path: &Path, split: Option<&str>) -> Result<ImageFolder> {
    let root = split.map_or_else(|| path.to_path_buf(), |s| path.join(s));
    if !root.is_dir() {
        return Err(DataError::NotFound { path: root });
    }
    let mut stats = DirStats::default();
    let mut items = Vec::new();
    for (class, folder) in class_folders(&root)? {
        let files = image_files(&folder, &mut stats)?;
        if files.is_empty() {
            return Err(DataError::EmptyClass {
                path: folder.display().to_string(),
                class,
            });
        }
        items.extend(files.into_iter().map(|file| Item {
            class: class.clone(),
            path: file.display().to_string(),
            label: 0,
            data: Data::File(file),
        }));
    }
    let fingerprint = format!(
        "dir:{}:{}:{}:{}",
        root.display(),
        stats.files,
        stats.bytes,
        stats.newest
    );
    build(path, false, items, fingerprint, split)
}

/// The visible, real (not symlinked) sub-folders of `root`, as (class name, folder path).
fn class_folders(root: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut folders = Vec::new();
    for entry in fs::read_dir(root).map_err(|e| io_error(root, e))? {
        let entry = entry.map_err(|e| io_error(root, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let kind = entry.file_type().map_err(|e| io_error(&entry.path(), e))?;
        if kind.is_dir() && !name.starts_with('.') {
            folders.push((name, entry.path()));
        }
    }
    Ok(folders)
}

/// The visible image files directly inside `folder` (symlinks to files included), updating `stats`.
fn image_files(folder: &Path, stats: &mut DirStats) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in fs::read_dir(folder).map_err(|e| io_error(folder, e))? {
        let entry = entry.map_err(|e| io_error(folder, e))?;
        let path = entry.path();
        if !is_image_name(&entry.file_name().to_string_lossy()) {
            continue;
        }
        let meta = fs::metadata(&path).map_err(|e| io_error(&path, e))?;
        if meta.is_file() {
            stats.files += 1;
            stats.bytes += meta.len();
            stats.newest = stats.newest.max(mtime(&meta));
            files.push(path);
        }
    }
    Ok(files)
}

/// Reads an image file, refusing one over [`MAX_FILE_BYTES`] before reading it.
fn read_file(path: &Path) -> Result<Vec<u8>> {
    let mut file = fs::File::open(path).map_err(|e| io_error(path, e))?;
    let bytes = file.metadata().map_err(|e| io_error(path, e))?.len();
    if bytes > MAX_FILE_BYTES {
        return Err(DataError::FileTooLarge {
            file: path.display().to_string(),
            bytes,
            limit: MAX_FILE_BYTES,
        });
    }
    let mut data = Vec::with_capacity(bytes as usize);
    file.read_to_end(&mut data).map_err(|e| io_error(path, e))?;
    Ok(data)
}

/// Modification time in nanoseconds since the Unix epoch (0 when unavailable).
fn mtime(meta: &Metadata) -> u128 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos())
}

/// Maps an I/O error on `path` to [`DataError::NotFound`] or [`DataError::Io`].
fn missing_or_io(path: &Path, source: io::Error) -> DataError {
    if source.kind() == io::ErrorKind::NotFound {
        DataError::NotFound {
            path: path.to_path_buf(),
        }
    } else {
        io_error(path, source)
    }
}

/// Wraps an I/O error on `path`.
fn io_error(path: &Path, source: io::Error) -> DataError {
    DataError::Io {
        path: path.to_path_buf(),
        source,
    }
}

mod archive;
mod dataset;

pub use archive::MAX_ARCHIVE_BYTES;

#[cfg(test)]
mod tests;
