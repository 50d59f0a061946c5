//! The image batch that flows between operators: same-sized RGB8 images in NHWC layout,
//! optionally with a handle to the packed store they were copied from (for random access to
//! other images of the same data set, e.g. an image's neighbours).

use std::sync::Arc;

use crate::data::{DatasetNames, PackedStore};

/// A shared handle to the packed store a batch came from. Cloning copies a pointer; two
/// handles are equal when they point at the same open store.
#[derive(Clone, Debug)]
pub struct StoreHandle(pub Arc<PackedStore>);

impl PartialEq for StoreHandle {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for StoreHandle {}

/// A batch of same-sized 8-bit RGB images, N×H×W×C row-major ("NHWC"), with their dataset indices and optional labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageBatch {
    /// Height of every image, in pixels.
    pub height: u32,
    /// Width of every image, in pixels.
    pub width: u32,
    /// Channels per pixel (3 for RGB).
    pub channels: u32,
    /// Pixel bytes, `len() * height * width * channels` of them.
    pub pixels: Vec<u8>,
    /// Index of each image in its dataset.
    pub indices: Vec<u64>,
    /// Class id per image when known.
    pub labels: Option<Vec<u32>>,
    /// Class names (empty when unknown); a label indexes this list.
    pub classes: Arc<[String]>,
    /// The pass over the data set this batch belongs to (0 for a single pass); per-sample
    /// randomness downstream derives from it.
    pub epoch: u64,
    /// Images per pass in the stream this batch belongs to (0 when unknown); training
    /// schedules derive their steps per epoch from it.
    pub epoch_size: u64,
    /// The packed store holding every image of the data set (dataset index = store index),
    /// when the `Images` node packs one (`store: true`); `None` otherwise.
    pub store: Option<StoreHandle>,
    /// The names of every image of the data set (by dataset index) and of its classes, when
    /// the `Images` node lists them; shared, so a batch copies a pointer.
    pub names: Option<Arc<DatasetNames>>,
}

impl ImageBatch {
    /// Builds a batch after checking its shape: `pixels` must hold exactly `indices.len()` images of
    /// `height * width * channels` bytes, and `labels`, when given, one entry per image.
    /// Returns `None` when a length does not match.
    pub fn new(
        height: u32,
        width: u32,
        channels: u32,
        pixels: Vec<u8>,
        indices: Vec<u64>,
        labels: Option<Vec<u32>>,
        classes: Arc<[String]>,
    ) -> Option<Self> {
        let per_image = (height as usize)
            .checked_mul(width as usize)?
            .checked_mul(channels as usize)?;
        let labels_ok = labels.as_ref().is_none_or(|l| l.len() == indices.len());
        (per_image.checked_mul(indices.len())? == pixels.len() && labels_ok).then_some(Self {
            height,
            width,
            channels,
            pixels,
            indices,
            labels,
            classes,
            epoch: 0,
            epoch_size: 0,
            store: None,
            names: None,
        })
    }

    /// Number of images in the batch.
    pub fn len(&self) -> usize {
        self.indices.len()
    }

    /// Whether the batch holds no images.
    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }

    /// Bytes per image: `height * width * channels`.
    pub fn image_bytes(&self) -> usize {
        self.height as usize * self.width as usize * self.channels as usize
    }

    /// The pixels of image `i` (H×W×C bytes). Panics if `i >= len()`.
    pub fn image(&self, i: usize) -> &[u8] {
        let size = self.image_bytes();
        &self.pixels[i * size..(i + 1) * size]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_checks_lengths_and_image_slices() {
        let classes: Arc<[String]> = Arc::from(vec!["a".to_string()]);
        let pixels: Vec<u8> = (0..24).collect();
        let batch = ImageBatch::new(
            2,
            2,
            3,
            pixels.clone(),
            vec![5, 9],
            Some(vec![0, 0]),
            classes.clone(),
        )
        .unwrap();
        assert_eq!(batch.len(), 2);
        assert!(!batch.is_empty());
        assert_eq!(batch.image_bytes(), 12);
        assert_eq!(batch.image(1), &pixels[12..]);
        assert!(ImageBatch::new(2, 2, 3, pixels.clone(), vec![5], None, classes.clone()).is_none());
        assert!(ImageBatch::new(2, 2, 3, pixels, vec![5, 9], Some(vec![0]), classes).is_none());
    }
}
