//! [`SkipUnreadable`]: a view of a [`Dataset`] without the images that fail to read, for
//! graphs that choose to skip and count corrupt files rather than stop. The images are
//! checked once, in parallel, the first time the view's size or contents are needed — so a
//! packed store that is already up to date is reused without checking anything.

use std::sync::OnceLock;

use rayon::prelude::*;

use super::dataset::Dataset;
use super::error::{DataError, Result};

/// The readable images of a data set, renumbered densely in their original order.
pub struct SkipUnreadable<'a> {
    inner: &'a dyn Dataset,
    size: (u32, u32),
    pool: &'a rayon::ThreadPool,
    kept: OnceLock<Checked>,
}

struct Checked {
    kept: Vec<usize>,
    skipped: Vec<(usize, DataError)>,
}

impl<'a> SkipUnreadable<'a> {
    /// Wraps `inner`; images are checked by reading them at `size` on `pool`.
    pub fn new(inner: &'a dyn Dataset, size: (u32, u32), pool: &'a rayon::ThreadPool) -> Self {
        SkipUnreadable {
            inner,
            size,
            pool,
            kept: OnceLock::new(),
        }
    }

    /// The unreadable images (their index in the wrapped data set, and why), if the images
    /// have been checked — they are not when an up-to-date store made it unnecessary.
    pub fn skipped(&self) -> Option<&[(usize, DataError)]> {
        self.kept.get().map(|c| c.skipped.as_slice())
    }

    fn checked(&self) -> &Checked {
        self.kept.get_or_init(|| {
            let (w, h) = self.size;
            let errors: Vec<Option<DataError>> = self.pool.install(|| {
                (0..self.inner.len())
                    .into_par_iter()
                    .map_init(
                        || vec![0u8; w as usize * h as usize * 3],
                        |buf, i| self.inner.read_rgb(i, w, h, buf).err(),
                    )
                    .collect()
            });
            let mut checked = Checked {
                kept: Vec::new(),
                skipped: Vec::new(),
            };
            for (i, error) in errors.into_iter().enumerate() {
                match error {
                    Some(error) => checked.skipped.push((i, error)),
                    None => checked.kept.push(i),
                }
            }
            checked
        })
    }

    fn original(&self, i: usize) -> usize {
        self.checked().kept[i]
    }
}

impl Dataset for SkipUnreadable<'_> {
    fn len(&self) -> usize {
        self.checked().kept.len()
    }

    fn native_size(&self) -> Option<(u32, u32)> {
        self.inner.native_size()
    }

    fn image_size(&self, i: usize) -> Result<(u32, u32)> {
        self.inner.image_size(self.original(i))
    }

    fn classes(&self) -> &[String] {
        self.inner.classes()
    }

    fn label(&self, i: usize) -> Option<u32> {
        self.inner.label(self.original(i))
    }

    fn name(&self, i: usize) -> String {
        self.inner.name(self.original(i))
    }

    fn read_rgb(&self, i: usize, width: u32, height: u32, out: &mut [u8]) -> Result<()> {
        self.inner.read_rgb(self.original(i), width, height, out)
    }

    fn fingerprint(&self) -> String {
        format!("{}:skip-unreadable", self.inner.fingerprint())
    }
}
