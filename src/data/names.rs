//! [`DatasetNames`]: what a data set calls its images (a file path, `archive:entry` or
//! `file.bin#record`) and its classes, listed once by the `Images` node and shared through
//! one `Arc` by every batch drawn from it — image, view and feature batches alike — so a
//! report at the end of a graph can name each image it scores (`assignments.csv`).

use std::sync::Arc;

use super::Dataset;

/// The names of every image of a data set, by dataset index, and of its classes.
#[derive(Debug, PartialEq, Eq)]
pub struct DatasetNames {
    sources: Vec<String>,
    classes: Arc<[String]>,
}

impl DatasetNames {
    /// Lists every image's name (`Dataset::name`) and the class names of `dataset`.
    pub fn of(dataset: &dyn Dataset) -> Self {
        DatasetNames {
            sources: (0..dataset.len()).map(|i| dataset.name(i)).collect(),
            classes: Arc::from(dataset.classes()),
        }
    }

    /// The name of the image at dataset index `index`, when there is one.
    pub fn source(&self, index: u64) -> Option<&str> {
        let i = usize::try_from(index).ok()?;
        self.sources.get(i).map(String::as_str)
    }

    /// Class names; a label indexes this list (empty when unknown).
    pub fn classes(&self) -> &[String] {
        &self.classes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::testutil::{jpeg, put, rgb_pixels};
    use crate::data::ImageFolder;

    #[test]
    fn names_follow_dataset_indices() {
        let dir = tempfile::tempdir().unwrap();
        let image = jpeg(&rgb_pixels(4, 4, 1), 4, 4);
        put(dir.path(), "cat/b.jpg", &image);
        put(dir.path(), "cat/a.jpg", &image);
        put(dir.path(), "ant/z.jpg", &image);
        let folder = ImageFolder::open(dir.path(), None).unwrap();
        let names = DatasetNames::of(&folder);
        // ImageFolder order: class folders sorted, then file names sorted.
        let source = |i| names.source(i).unwrap().replace('\\', "/");
        assert!(source(0).ends_with("ant/z.jpg"), "{}", source(0));
        assert!(source(1).ends_with("cat/a.jpg"), "{}", source(1));
        assert!(source(2).ends_with("cat/b.jpg"), "{}", source(2));
        assert_eq!(names.source(3), None);
        assert_eq!(names.classes(), ["ant".to_string(), "cat".to_string()]);
    }
}
