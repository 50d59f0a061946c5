//! [`Dataset`]: the one random-access interface every image reader implements (ImageFolder
//! trees and archives, the CIFAR and STL-10 binary releases), so the packed store and the
//! source operator treat them alike.

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
