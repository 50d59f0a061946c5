//! The STL-10 binary release (`stl10_binary/`), from the extracted folder (memory-mapped) or
//! straight from the downloaded `stl10_binary.tar.gz` (members read into memory).
//!
//! Layout: an `*_X.bin` file is a run of 27,648-byte images, each three 96×96 planes R, G, B
//! stored COLUMN-major: channel `c` of pixel (x, y) is byte `c·9216 + x·96 + y`. An `*_y.bin`
//! file holds one label byte per image, 1..=10 (reported as 0..=9).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::data::dataset::Dataset;
use crate::data::error::{DataError, Result};
use crate::data::release::{
    class_names, count_records, interleave, out_of_range, write_rgb, Member, Release,
};

/// Side of an STL-10 image, in pixels.
const SIDE: u32 = 96;
/// Bytes per image (3 planes of 96×96).
const IMAGE: usize = 3 * 96 * 96;
/// Number of classes.
const CLASSES: usize = 10;

/// An STL-10 split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Stl10Split {
    /// 5,000 labelled training images.
    Train,
    /// 8,000 labelled test images.
    Test,
    /// 100,000 unlabelled images.
    Unlabeled,
    /// Train then unlabeled (105,000 images), as SCAN trains on.
    TrainUnlabeled,
}

impl Stl10Split {
    /// The (images, labels) files of the split, in order.
    fn files(self) -> &'static [(&'static str, Option<&'static str>)] {
        const TRAIN: (&str, Option<&str>) = ("train_X.bin", Some("train_y.bin"));
        const UNLABELED: (&str, Option<&str>) = ("unlabeled_X.bin", None);
        match self {
            Stl10Split::Train => &[TRAIN],
            Stl10Split::Test => &[("test_X.bin", Some("test_y.bin"))],
            Stl10Split::Unlabeled => &[UNLABELED],
            Stl10Split::TrainUnlabeled => &[TRAIN, UNLABELED],
        }
    }
}

/// One images file and its labels (0..=9; empty when unlabelled).
struct Part {
    file: String,
    images: Member,
    count: usize,
    labels: Vec<u8>,
}

/// One split of the STL-10 binary release, readable at random.
///
/// From a folder the `.bin` files are memory-mapped: they must not be rewritten while open.
/// From `stl10_binary.tar.gz` the split's members are decompressed into memory: the unlabeled
/// split then needs ~2.8 GB of memory (100,000 × 27,648 bytes); extracting the archive first
/// avoids it.
pub struct Stl10 {
    parts: Vec<Part>,
    classes: Vec<String>,
    fingerprint: String,
}

impl Stl10 {
    /// Opens `split` at `path`: the folder holding the `.bin` files, its parent (holding
    /// `stl10_binary/`), or the downloaded archive. Any number of images is accepted, but an
    /// images file must be whole images ([`DataError::RecordLength`]) and its label file must
    /// hold one label per image ([`DataError::LabelCount`]) in 1..=10
    /// ([`DataError::LabelRange`]); a missing file is [`DataError::MissingFile`]. The
    /// class-names file is optional (no names when absent) but must list 10 names.
    pub fn open(path: &Path, split: Stl10Split) -> Result<Stl10> {
        let mut wanted = vec!["class_names.txt"];
        for (images, labels) in split.files() {
            wanted.push(images);
            wanted.extend(labels);
        }
        let mut release = Release::open(path, "stl10_binary", &wanted)?;
        let mut parts = Vec::new();
        for (images, labels) in split.files() {
            parts.push(open_part(&mut release, images, *labels)?);
        }
        let classes = match release.take_optional("class_names.txt") {
            Some(member) => class_names(&member, CLASSES)?,
            None => Vec::new(),
        };
        let fingerprint = format!("stl10:{split:?}:{}", release.fingerprint());
        Ok(Stl10 {
            parts,
            classes,
            fingerprint,
        })
    }

    /// The part holding image `i` and its index within that part, when in range.
    fn locate(&self, mut i: usize) -> Option<(&Part, usize)> {
        for part in &self.parts {
            if i < part.count {
                return Some((part, i));
            }
            i -= part.count;
        }
        None
    }
}

/// Takes one images file (and its labels file) from the release and checks them.
fn open_part(release: &mut Release, file: &str, labels_file: Option<&str>) -> Result<Part> {
    let images = release.take(file)?;
    let count = count_records(&images, IMAGE, None)?;
    let labels = match labels_file {
        Some(labels_file) => read_labels(&release.take(labels_file)?, &images.name, count)?,
        None => Vec::new(),
    };
    Ok(Part {
        file: file.to_string(),
        images,
        count,
        labels,
    })
}

/// The labels of `member` (one byte per image, 1..=10) as 0..=9.
fn read_labels(member: &Member, images_file: &str, images: usize) -> Result<Vec<u8>> {
    if member.bytes.len() != images {
        return Err(DataError::LabelCount {
            file: member.name.clone(),
            labels: member.bytes.len(),
            images_file: images_file.to_string(),
            images,
        });
    }
    let mut labels = Vec::with_capacity(images);
    for (record, &label) in member.bytes.iter().enumerate() {
        if !(1..=CLASSES as u8).contains(&label) {
            return Err(DataError::LabelRange {
                file: member.name.clone(),
                record,
                label: label.into(),
                min: 1,
                max: CLASSES as u32,
            });
        }
        labels.push(label - 1);
    }
    Ok(labels)
}

impl Dataset for Stl10 {
    fn len(&self) -> usize {
        self.parts.iter().map(|part| part.count).sum()
    }

    fn native_size(&self) -> Option<(u32, u32)> {
        Some((SIDE, SIDE))
    }

    fn image_size(&self, i: usize) -> Result<(u32, u32)> {
        match self.locate(i) {
            Some(_) => Ok((SIDE, SIDE)),
            None => Err(out_of_range(&self.name(i), i, self.len())),
        }
    }

    fn classes(&self) -> &[String] {
        &self.classes
    }

    fn label(&self, i: usize) -> Option<u32> {
        let (part, j) = self.locate(i)?;
        part.labels.get(j).map(|&label| label.into())
    }

    /// `train_X.bin#12`: the images file and the image within it.
    fn name(&self, i: usize) -> String {
        match self.locate(i) {
            Some((part, j)) => format!("{}#{j}", part.file),
            None => format!("stl10_binary#{i}"),
        }
    }

    fn read_rgb(&self, i: usize, width: u32, height: u32, out: &mut [u8]) -> Result<()> {
        let Some((part, j)) = self.locate(i) else {
            return Err(out_of_range(&self.name(i), i, self.len()));
        };
        let mut rgb = vec![0u8; IMAGE];
        let planes = &part.images.bytes[j * IMAGE..(j + 1) * IMAGE];
        interleave(planes, SIDE as usize, true, &mut rgb);
        write_rgb(&self.name(i), &rgb, SIDE, (width, height), out)
    }

    fn fingerprint(&self) -> String {
        self.fingerprint.clone()
    }
}

#[cfg(test)]
mod tests;
