//! Errors raised while reading and decoding image datasets; every variant names the file or path involved.

use std::path::PathBuf;

use crate::data::decode::MAX_PIXELS;

/// An error while opening, reading or decoding an image dataset.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The dataset path (or the requested split folder) does not exist.
    #[error("dataset path `{}` does not exist", path.display())]
    NotFound {
        /// The missing path.
        path: PathBuf,
    },
    /// A file or folder could not be read.
    #[error("cannot read `{}`: {source}", path.display())]
    Io {
        /// The file or folder being read.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A tar or tar.gz archive is corrupt or unreadable.
    #[error("cannot read archive `{}`: {message}", path.display())]
    Archive {
        /// The archive file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// An image could not be decoded.
    #[error("cannot decode image `{file}`: {message}")]
    Decode {
        /// Display name of the image (file path, or `archive:entry`).
        file: String,
        /// What went wrong.
        message: String,
    },
    /// The dataset holds no images at all.
    #[error("no images (jpg, jpeg, png) found in `{}`{}", path.display(), split_note(split))]
    EmptyDataset {
        /// The dataset path.
        path: PathBuf,
        /// The requested split, if any.
        split: Option<String>,
    },
    /// A class folder of a directory dataset holds no images.
    #[error("class folder `{class}` (`{path}`) contains no images (jpg, jpeg, png)")]
    EmptyClass {
        /// The class folder.
        path: String,
        /// The class name.
        class: String,
    },
    /// An image does not have the size expected for the dataset.
    #[error(
        "image `{file}` is {width}x{height} but {expected_width}x{expected_height} was expected; \
         resize all images of the dataset to one size first"
    )]
    SizeMismatch {
        /// Display name of the image.
        file: String,
        /// Its width.
        width: u32,
        /// Its height.
        height: u32,
        /// The expected width.
        expected_width: u32,
        /// The expected height.
        expected_height: u32,
    },
    /// An archive entry has an absolute path or a `..` component; it is refused.
    #[error("refusing unsafe entry `{entry}` in archive `{}`: absolute path or `..`", archive.display())]
    UnsafeEntry {
        /// The archive file.
        archive: PathBuf,
        /// The entry's path as stored.
        entry: String,
    },
    /// An image header declares dimensions over the decoding limits.
    #[error(
        "image `{file}` is {width}x{height}, over the limit of {limit} pixels per side \
         or {MAX_PIXELS} pixels in total"
    )]
    TooLarge {
        /// Display name of the image.
        file: String,
        /// Declared width.
        width: u32,
        /// Declared height.
        height: u32,
        /// The per-side limit.
        limit: u32,
    },
    /// A file a binary dataset release needs is missing.
    #[error("missing `{file}`: looked for it in {looked_in}")]
    MissingFile {
        /// The missing file's name.
        file: String,
        /// Where it was looked for (folders or an archive).
        looked_in: String,
    },
    /// A record file whose length is not a whole number of records.
    #[error("`{file}` is {len} bytes, not a whole number of {record}-byte records")]
    RecordLength {
        /// The file (path or `archive:entry`).
        file: String,
        /// Its length in bytes.
        len: u64,
        /// The format's record size in bytes.
        record: usize,
    },
    /// A record file holding another number of records than its format expects (truncated).
    #[error(
        "`{file}` is {len} bytes, {records} records of {record} bytes, \
         but {expected} records were expected"
    )]
    RecordCount {
        /// The file (path or `archive:entry`).
        file: String,
        /// Its length in bytes.
        len: u64,
        /// The format's record size in bytes.
        record: usize,
        /// How many records it holds.
        records: usize,
        /// How many it should hold.
        expected: usize,
    },
    /// A label outside the format's range.
    #[error("`{file}` record {record}: label {label} is outside {min}..={max}")]
    LabelRange {
        /// The file holding the label.
        file: String,
        /// The record (0-based) within that file.
        record: usize,
        /// The label as stored.
        label: u32,
        /// Smallest valid label.
        min: u32,
        /// Largest valid label.
        max: u32,
    },
    /// A label file whose label count differs from its image file's image count.
    #[error("`{file}` holds {labels} labels but `{images_file}` holds {images} images")]
    LabelCount {
        /// The label file.
        file: String,
        /// Labels it holds.
        labels: usize,
        /// The image file.
        images_file: String,
        /// Images it holds.
        images: usize,
    },
    /// A class-names file listing another number of names than the format has classes.
    #[error("`{file}` lists {found} class names but {expected} were expected")]
    ClassNames {
        /// The class-names file.
        file: String,
        /// Names found (blank lines ignored).
        found: usize,
        /// Names expected.
        expected: usize,
    },
    /// A `.npy` file that is not a readable 2-D float matrix.
    #[error("`{}` is not a usable .npy matrix: {message}", path.display())]
    Npy {
        /// The `.npy` file.
        path: PathBuf,
        /// What is wrong or disagrees.
        message: String,
    },
    /// A packed image store is invalid, or was asked for something it cannot do.
    #[error("packed store `{}`: {message}", path.display())]
    Store {
        /// The store file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// An image file (or archive entry) larger than any image within the decoding limits;
    /// it is refused before being read into memory.
    #[error(
        "image file `{file}` is {bytes} bytes, over the limit of {limit} bytes for one image \
         (a corrupt file or a decompression bomb?)"
    )]
    FileTooLarge {
        /// Display name of the file (path, or `archive:entry`).
        file: String,
        /// Its size as declared by the file system or the archive header.
        bytes: u64,
        /// The limit, [`crate::data::decode::MAX_FILE_BYTES`].
        limit: u64,
    },
    /// Packing a store was stopped (the run was cancelled) before every image was decoded;
    /// the partial file was removed.
    #[error("packing `{path}` was stopped before it finished; nothing was kept")]
    PackingStopped {
        /// The store that was being packed.
        path: std::path::PathBuf,
    },
    /// The images of an archive read into memory add up to more than the limit.
    #[error(
        "the images in archive `{archive}` add up to more than {limit} bytes, the most read \
         into memory from one archive (a decompression bomb, or a data set that big: extract \
         it and point the source at the folder)"
    )]
    ArchiveTooLarge {
        /// The archive.
        archive: std::path::PathBuf,
        /// The limit, [`crate::data::folder::MAX_ARCHIVE_BYTES`].
        limit: u64,
    },
}

/// Shorthand for results whose error is [`DataError`].
pub type Result<T> = std::result::Result<T, DataError>;

/// Formats the split part of an [`DataError::EmptyDataset`] message.
fn split_note(split: &Option<String>) -> String {
    match split {
        Some(split) => format!(" for split `{split}`"),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_file() {
        let err = DataError::Decode {
            file: "cifar10-jpg.tar.gz:cifar10/train/cat/0001.jpg".into(),
            message: "unexpected end of file".into(),
        };
        assert_eq!(
            err.to_string(),
            "cannot decode image `cifar10-jpg.tar.gz:cifar10/train/cat/0001.jpg`: unexpected end of file"
        );
        let err = DataError::EmptyDataset {
            path: "/d".into(),
            split: Some("train".into()),
        };
        assert_eq!(
            err.to_string(),
            "no images (jpg, jpeg, png) found in `/d` for split `train`"
        );
    }
}
