//! [`Dataset`]: the one random-access interface every image reader implements (ImageFolder
//! trees and archives, the CIFAR and STL-10 binary releases), so the packed store and the
//! source operator treat them alike.

use std::sync::Arc;

use rayon::prelude::*;

use super::batch::ImageBatch;
use super::error::Result;

/// A random-access image data set; labels are optional everywhere (they only score clusters).
pub trait Dataset: Send + Sync {
    /// Number of images.
    fn len(&self) -> usize;

    /// True when there is no image.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The size every image has, when the format fixes it (CIFAR 32×32, STL-10 96×96).
    fn native_size(&self) -> Option<(u32, u32)>;

    /// (width, height) of image `i` as stored, read cheaply (a header at most).
    fn image_size(&self, i: usize) -> Result<(u32, u32)>;

    /// Class names; a label indexes this list. Empty when unknown.
    fn classes(&self) -> &[String];

    /// The class of image `i`, when known.
    fn label(&self, i: usize) -> Option<u32>;

    /// How to name image `i` in a message: a file, an archive entry, or `file.bin#record`.
    fn name(&self, i: usize) -> String;

    /// Writes image `i` as RGB8, `width`×`height`, row-major, into `out` (`width·height·3`
    /// bytes), resizing it (antialiased bilinear) when its own size differs.
    fn read_rgb(&self, i: usize, width: u32, height: u32, out: &mut [u8]) -> Result<()>;

    /// A cheap fingerprint of the source files, to tell when a packed copy is stale.
    fn fingerprint(&self) -> String;
}

/// Reads the images at `indices` of `dataset` (in that order) into one [`ImageBatch`] of
/// `width`×`height` RGB8 images, in parallel on `pool`; the result does not depend on the
/// pool size, and the first failing position's error is returned.
pub fn read_batch(
    dataset: &dyn Dataset,
    indices: &[usize],
    width: u32,
    height: u32,
    pool: &rayon::ThreadPool,
) -> Result<ImageBatch> {
    let per_image = width as usize * height as usize * 3;
    let mut pixels = vec![0u8; indices.len() * per_image];
    let first_error = pool.install(|| {
        pixels
            .par_chunks_mut(per_image.max(1))
            .zip(indices.par_iter())
            .find_map_first(|(out, &i)| dataset.read_rgb(i, width, height, out).err())
    });
    if let Some(error) = first_error {
        return Err(error);
    }
    Ok(ImageBatch {
        height,
        width,
        channels: 3,
        pixels,
        indices: indices.iter().map(|&i| i as u64).collect(),
        labels: labels_of(dataset, indices),
        classes: Arc::from(dataset.classes()),
        epoch: 0,
        epoch_size: 0,
        store: None,
        names: None,
    })
}

/// The labels of `indices`, when every one is known.
pub fn labels_of(dataset: &dyn Dataset, indices: &[usize]) -> Option<Vec<u32>> {
    indices.iter().map(|&i| dataset.label(i)).collect()
}

/// The first `per_class` indices of each class, in index order; `None` when some image has
/// no label.
pub fn first_per_class(dataset: &dyn Dataset, per_class: usize) -> Option<Vec<usize>> {
    let mut taken: Vec<usize> = Vec::new();
    let mut chosen = Vec::new();
    for i in 0..dataset.len() {
        let label = dataset.label(i)? as usize;
        if taken.len() <= label {
            taken.resize(label + 1, 0);
        }
        if taken[label] < per_class {
            taken[label] += 1;
            chosen.push(i);
        }
    }
    Some(chosen)
}
