//! Dataset input: ImageFolder datasets (directories or tar archives), image decoding and image batches.

pub mod batch;
pub mod dataset;
pub mod decode;
pub mod error;
pub mod fingerprint;
pub mod folder;
pub mod resize;
pub mod store;
pub(crate) mod tar_reader;
pub mod tensors;
pub mod tolerant;

pub mod fetch;

pub use batch::{ImageBatch, StoreHandle};
pub use dataset::{first_per_class, labels_of, read_batch, Dataset};
pub use decode::{decode_batch, decode_rgb_into, probe_size, MAX_PIXELS, MAX_SIDE};
pub use error::{DataError, Result};
pub use fingerprint::fingerprint_path;
pub use folder::ImageFolder;
pub use resize::resize_rgb8;
pub use tensors::{EvalViewSet, FeatureBatch, NeighbourTable, ViewBatch};
pub use tolerant::SkipUnreadable;

pub use decode::decode_rgb_resized;
pub use store::PackedStore;

#[cfg(test)]
pub(crate) mod testutil;

pub mod cifar;
pub mod npy;
pub(crate) mod release;
pub mod stl10;
pub use cifar::{Cifar, Cifar100Labels, CifarKind, CifarSplit};
pub use npy::{read_npy_matrix, write_npy_f32, Matrix};
pub use npy::{read_npy_u32, write_npy_u32};
pub use stl10::{Stl10, Stl10Split};

pub use npy::read_npy_ids;

pub mod names;
pub use decode::MAX_FILE_BYTES;
pub use names::DatasetNames;
