//! The official CIFAR-10 and CIFAR-100 *binary* releases, from the extracted folder
//! (memory-mapped) or straight from the downloaded `.tar.gz` (members read into memory).
//!
//! Record layout: CIFAR-10 is `[label u8 (0–9)][3072 pixel bytes]` (3073 bytes); CIFAR-100 is
//! `[coarse u8 (0–19)][fine u8 (0–99)][3072 pixel bytes]` (3074 bytes). The pixels are three
//! 1024-byte planes R, G, B, each 32×32 row-major: channel `c` of pixel (x, y) is byte
//! `c·1024 + y·32 + x`.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::data::dataset::Dataset;
use crate::data::error::{DataError, Result};
use crate::data::release::{
    class_names, count_records, interleave, out_of_range, write_rgb, Member, Release,
};

/// Side of a CIFAR image, in pixels.
const SIDE: u32 = 32;
/// Pixel bytes in one record (3 planes of 32×32).
const PIXELS: usize = 3 * 32 * 32;

/// Which CIFAR-100 labels to report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Cifar100Labels {
    /// The 100 fine classes.
    Fine,
    /// The 20 coarse superclasses (what SCAN reports for CIFAR-100).
    Coarse,
}

/// Which release: CIFAR-10, or CIFAR-100 with its label choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CifarKind {
    /// CIFAR-10 (`cifar-10-batches-bin/`).
    Cifar10,
    /// CIFAR-100 (`cifar-100-binary/`).
    Cifar100(Cifar100Labels),
}

/// A CIFAR split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CifarSplit {
    /// 50,000 training images.
    Train,
    /// 10,000 test images.
    Test,
}

impl CifarKind {
    /// Bytes per record: labels then pixels.
    fn record_len(self) -> usize {
        match self {
            CifarKind::Cifar10 => 1 + PIXELS,
            CifarKind::Cifar100(_) => 2 + PIXELS,
        }
    }

    /// Offset of the reported label within a record.
    fn label_offset(self) -> usize {
        match self {
            CifarKind::Cifar100(Cifar100Labels::Fine) => 1,
            _ => 0,
        }
    }

    /// Number of classes of the reported label.
    fn class_count(self) -> usize {
        match self {
            CifarKind::Cifar10 => 10,
            CifarKind::Cifar100(Cifar100Labels::Fine) => 100,
            CifarKind::Cifar100(Cifar100Labels::Coarse) => 20,
        }
    }

    /// The folder the release extracts to.
    fn subfolder(self) -> &'static str {
        match self {
            CifarKind::Cifar10 => "cifar-10-batches-bin",
            CifarKind::Cifar100(_) => "cifar-100-binary",
        }
    }

    /// The class-names file of the reported label.
    fn names_file(self) -> &'static str {
        match self {
            CifarKind::Cifar10 => "batches.meta.txt",
            CifarKind::Cifar100(Cifar100Labels::Fine) => "fine_label_names.txt",
            CifarKind::Cifar100(Cifar100Labels::Coarse) => "coarse_label_names.txt",
        }
    }

    /// The record files of `split`, in order.
    fn files(self, split: CifarSplit) -> &'static [&'static str] {
        match (self, split) {
            (CifarKind::Cifar10, CifarSplit::Train) => &[
                "data_batch_1.bin",
                "data_batch_2.bin",
                "data_batch_3.bin",
                "data_batch_4.bin",
                "data_batch_5.bin",
            ],
            (CifarKind::Cifar10, CifarSplit::Test) => &["test_batch.bin"],
            (CifarKind::Cifar100(_), CifarSplit::Train) => &["train.bin"],
            (CifarKind::Cifar100(_), CifarSplit::Test) => &["test.bin"],
        }
    }

    /// Records per file in the official release.
    pub fn official_records(self, split: CifarSplit) -> usize {
        match (self, split) {
            (CifarKind::Cifar100(_), CifarSplit::Train) => 50_000,
            _ => 10_000,
        }
    }
}

/// One split of a CIFAR binary release, readable at random.
///
/// From a folder the `.bin` files are memory-mapped: they must not be rewritten while open.
/// Opening reads every label byte (one per record, so the OS pages the files in once; nothing
/// is copied). From a `.tar.gz` the split's members are decompressed into memory (~180 MB).
pub struct Cifar {
    kind: CifarKind,
    files: Vec<(String, Member)>,
    records: usize,
    labels: Vec<u8>,
    classes: Vec<String>,
    fingerprint: String,
}

impl Cifar {
    /// Opens `split` of the official release at `path`: the folder holding the `.bin` files,
    /// its parent, or the downloaded `cifar-10-binary.tar.gz` / `cifar-100-binary.tar.gz`.
    /// Each file must hold the official record count ([`CifarKind::official_records`]).
    pub fn open(path: &Path, kind: CifarKind, split: CifarSplit) -> Result<Cifar> {
        Cifar::open_expecting(path, kind, split, kind.official_records(split))
    }

    /// Like [`Cifar::open`] for a copy whose files each hold `records` records (a subsample).
    ///
    /// Errors name the file: a length that is not whole records ([`DataError::RecordLength`]),
    /// another record count ([`DataError::RecordCount`]), a missing file
    /// ([`DataError::MissingFile`]), a label out of range ([`DataError::LabelRange`]). The
    /// class-names file is optional (no names when absent) but must list every class.
    pub fn open_expecting(
        path: &Path,
        kind: CifarKind,
        split: CifarSplit,
        records: usize,
    ) -> Result<Cifar> {
        let mut wanted = kind.files(split).to_vec();
        wanted.push(kind.names_file());
        let mut release = Release::open(path, kind.subfolder(), &wanted)?;
        let mut files = Vec::new();
        let mut labels = Vec::new();
        for file in kind.files(split) {
            let member = release.take(file)?;
            count_records(&member, kind.record_len(), Some(records))?;
            read_labels(kind, &member, &mut labels)?;
            files.push((file.to_string(), member));
        }
        let classes = match release.take_optional(kind.names_file()) {
            Some(member) => class_names(&member, kind.class_count())?,
            None => Vec::new(),
        };
        let fingerprint = format!("{kind:?}:{split:?}:{}", release.fingerprint());
        Ok(Cifar {
            kind,
            files,
            records,
            labels,
            classes,
            fingerprint,
        })
    }

    /// The file and record holding image `i`, when in range.
    fn locate(&self, i: usize) -> Option<(&(String, Member), usize)> {
        let file = self.files.get(i.checked_div(self.records)?)?;
        Some((file, i % self.records))
    }
}

/// Appends the reported label of every record of `member`, checking its range.
fn read_labels(kind: CifarKind, member: &Member, labels: &mut Vec<u8>) -> Result<()> {
    let max = kind.class_count() - 1;
    let records = member.bytes.chunks_exact(kind.record_len());
    for (record, bytes) in records.enumerate() {
        let label = bytes[kind.label_offset()];
        if usize::from(label) > max {
            return Err(DataError::LabelRange {
                file: member.name.clone(),
                record,
                label: label.into(),
                min: 0,
                max: max as u32,
            });
        }
        labels.push(label);
    }
    Ok(())
}

impl Dataset for Cifar {
    fn len(&self) -> usize {
        self.labels.len()
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
        self.labels.get(i).map(|&label| label.into())
    }

    /// `data_batch_3.bin#1234`: the file and the record within it.
    fn name(&self, i: usize) -> String {
        match self.locate(i) {
            Some(((file, _), record)) => format!("{file}#{record}"),
            None => format!("{}#{i}", self.kind.subfolder()),
        }
    }

    fn read_rgb(&self, i: usize, width: u32, height: u32, out: &mut [u8]) -> Result<()> {
        let Some(((_, member), record)) = self.locate(i) else {
            return Err(out_of_range(&self.name(i), i, self.len()));
        };
        let start = record * self.kind.record_len() + self.kind.record_len() - PIXELS;
        let mut rgb = [0u8; PIXELS];
        interleave(&member.bytes[start..start + PIXELS], 32, false, &mut rgb);
        write_rgb(&self.name(i), &rgb, SIDE, (width, height), out)
    }

    fn fingerprint(&self) -> String {
        self.fingerprint.clone()
    }
}

#[cfg(test)]
mod tests;
