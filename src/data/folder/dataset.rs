//! [`Dataset`] for [`ImageFolder`]: decodes on demand, resizing images whose size differs.

use super::ImageFolder;
use crate::data::dataset::Dataset;
use crate::data::decode::{decode_rgb_resized, probe_size};
use crate::data::error::Result;

impl Dataset for ImageFolder {
    fn len(&self) -> usize {
        self.items.len()
    }

    /// Folder images may have any size.
    fn native_size(&self) -> Option<(u32, u32)> {
        None
    }

    /// Probes the header only (a directory image is still read from disk whole).
    fn image_size(&self, i: usize) -> Result<(u32, u32)> {
        probe_size(&self.read(i)?, &self.name(i))
    }

    fn classes(&self) -> &[String] {
        &self.classes
    }

    fn label(&self, i: usize) -> Option<u32> {
        self.items.get(i).map(|item| item.label)
    }

    fn name(&self, i: usize) -> String {
        ImageFolder::name(self, i)
    }

    /// Decodes image `i`; panics if `i >= len()`.
    fn read_rgb(&self, i: usize, width: u32, height: u32, out: &mut [u8]) -> Result<()> {
        decode_rgb_resized(&self.read(i)?, &self.name(i), width, height, out)
    }

    fn fingerprint(&self) -> String {
        ImageFolder::fingerprint(self)
    }
}
