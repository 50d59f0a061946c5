//! [`ImageSource`]: which data set an `Images` node reads, opened as a [`Dataset`] —
//! ImageFolder trees and archives, and the official CIFAR-10/100 and STL-10 binary releases
//! (fetched on first use when the graph says `download: true`).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::data::fetch::{self, Archive};
use crate::data::{
    Cifar, Cifar100Labels, CifarKind, CifarSplit, Dataset, ImageFolder, Stl10, Stl10Split,
};
use crate::runtime::OpError;

/// Where the images come from. Paths are relative to the current directory.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum ImageSource {
    /// An ImageFolder tree (one sub-folder per class, JPEG/PNG), as a directory or a
    /// `.tar`/`.tar.gz` archive; `split` selects the images under a folder of that name.
    Folder {
        /// The directory or archive.
        path: String,
        /// e.g. `"train"` for `cifar10/train/<class>/*.jpg`.
        #[serde(default)]
        split: Option<String>,
    },
    /// The CIFAR-10 binary release: a folder holding (or containing) `cifar-10-batches-bin/`,
    /// or the downloaded `cifar-10-binary.tar.gz`.
    Cifar10 {
        /// Folder or archive.
        path: String,
        /// `Train` or `Test`.
        split: CifarSplit,
        /// Download the archive into `path` when it is not there.
        #[serde(default)]
        download: bool,
    },
    /// The CIFAR-100 binary release, with fine (100) or coarse (20 superclasses) labels.
    Cifar100 {
        /// Folder or archive.
        path: String,
        /// `Train` or `Test`.
        split: CifarSplit,
        /// `Fine` or `Coarse` (SCAN reports the 20 superclasses).
        #[serde(default = "coarse")]
        labels: Cifar100Labels,
        /// Download the archive into `path` when it is not there.
        #[serde(default)]
        download: bool,
    },
    /// The STL-10 binary release (96×96).
    Stl10 {
        /// Folder or archive.
        path: String,
        /// `Train`, `Test`, `Unlabeled` or `TrainUnlabeled`.
        split: Stl10Split,
        /// Download the archive into `path` when it is not there.
        #[serde(default)]
        download: bool,
    },
}

fn coarse() -> Cifar100Labels {
    Cifar100Labels::Coarse
}

impl Default for ImageSource {
    fn default() -> Self {
        ImageSource::Folder {
            path: "data/images".into(),
            split: None,
        }
    }
}

impl ImageSource {
    /// The path as written in the graph.
    pub fn path(&self) -> &str {
        match self {
            ImageSource::Folder { path, .. }
            | ImageSource::Cifar10 { path, .. }
            | ImageSource::Cifar100 { path, .. }
            | ImageSource::Stl10 { path, .. } => path,
        }
    }

    /// Whether a missing path will be downloaded rather than refused.
    pub fn downloads(&self) -> bool {
        match self {
            ImageSource::Folder { .. } => false,
            ImageSource::Cifar10 { download, .. }
            | ImageSource::Cifar100 { download, .. }
            | ImageSource::Stl10 { download, .. } => *download,
        }
    }

    fn archive(&self) -> Option<&'static Archive> {
        let name = match self {
            ImageSource::Folder { .. } => return None,
            ImageSource::Cifar10 { .. } => "cifar10",
            ImageSource::Cifar100 { .. } => "cifar100",
            ImageSource::Stl10 { .. } => "stl10",
        };
        fetch::known(name)
    }

    /// Opens the data set at `path` (the resolved `path()`); when it cannot be opened and
    /// the graph says `download: true`, fetches the official archive into `path` first.
    pub fn open(&self, path: &Path, status: &dyn Fn(String)) -> Result<Box<dyn Dataset>, OpError> {
        match self.open_local(path) {
            Err(_) if self.downloads() => {
                self.download(path, status)?;
                self.open_local(path)
            }
            opened => opened,
        }
    }

    fn open_local(&self, path: &Path) -> Result<Box<dyn Dataset>, OpError> {
        Ok(match self {
            ImageSource::Folder { split, .. } => {
                Box::new(ImageFolder::open(path, split.as_deref())?)
            }
            ImageSource::Cifar10 { split, .. } => {
                Box::new(Cifar::open(path, CifarKind::Cifar10, *split)?)
            }
            ImageSource::Cifar100 { split, labels, .. } => {
                Box::new(Cifar::open(path, CifarKind::Cifar100(*labels), *split)?)
            }
            ImageSource::Stl10 { split, .. } => Box::new(Stl10::open(path, *split)?),
        })
    }

    fn download(&self, path: &Path, status: &dyn Fn(String)) -> Result<PathBuf, OpError> {
        let Some(archive) = self.archive() else {
            return Ok(path.to_path_buf());
        };
        let mut progress = |done: u64, total: Option<u64>| {
            let total = total.map_or(String::new(), |t| format!(" of {} MB", t >> 20));
            status(format!(
                "downloading {}: {} MB{total}",
                archive.file,
                done >> 20
            ));
        };
        fetch::fetch(archive, path, None, &mut progress).map_err(|e| OpError::Failed(e.to_string()))
    }
}
