//! Tests for the CIFAR binary readers, on small hand-made releases (3 records per file).

use std::fs;
use std::path::Path;

use super::*;
use crate::data::testutil::{put, tar_bytes};

const TRAIN: [&str; 5] = [
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
    "data_batch_5.bin",
];
const NAMES10: &str = "airplane\nautomobile\nbird\ncat\n\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n";

/// Pixel bytes of one record: all 0 except R(5, 1) = seed, G(3, 2) = 100, B(31, 0) = 50.
/// Plane `c` holds pixel (x, y) at byte `c·1024 + y·32 + x`.
fn pixels(seed: u8) -> Vec<u8> {
    let mut planes = vec![0u8; 3072];
    planes[32 + 5] = seed;
    planes[1024 + 2 * 32 + 3] = 100;
    planes[2048 + 31] = 50;
    planes
}

/// A CIFAR-10 file of records with these labels; record `r` has seed `10·r + 7`.
fn batch10(labels: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for (r, &label) in labels.iter().enumerate() {
        out.push(label);
        out.extend(pixels(10 * r as u8 + 7));
    }
    out
}

/// `root/cifar-10-batches-bin/` with 5 train batches (labels 2k, 2k+1, 0 for batch k) and a test batch.
fn cifar10_release(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = TRAIN
        .iter()
        .enumerate()
        .map(|(k, name)| {
            (
                name.to_string(),
                batch10(&[2 * k as u8, 2 * k as u8 + 1, 0]),
            )
        })
        .collect();
    files.push(("test_batch.bin".into(), batch10(&[9, 8, 7])));
    files.push(("batches.meta.txt".into(), NAMES10.as_bytes().to_vec()));
    for (name, bytes) in &files {
        put(root, &format!("cifar-10-batches-bin/{name}"), bytes);
    }
    files
}

fn rgb(data: &Cifar, i: usize) -> Vec<u8> {
    let mut out = vec![0u8; 32 * 32 * 3];
    data.read_rgb(i, 32, 32, &mut out).unwrap();
    out
}

fn open10(path: &Path, split: CifarSplit) -> Result<Cifar> {
    Cifar::open_expecting(path, CifarKind::Cifar10, split, 3)
}

#[test]
fn cifar10_folder_pixels_labels_and_names() {
    let dir = tempfile::tempdir().unwrap();
    cifar10_release(dir.path());
    let train = open10(dir.path(), CifarSplit::Train).unwrap();
    assert_eq!(train.len(), 15);
    assert_eq!(train.native_size(), Some((32, 32)));
    assert_eq!(train.classes().len(), 10);
    assert_eq!(
        (&train.classes()[3][..], &train.classes()[9][..]),
        ("cat", "truck")
    );
    // Image 4 is batch 2 (k = 1), record 1: label 2k + 1 = 3.
    assert_eq!(train.label(4), Some(3));
    assert_eq!(train.name(4), "data_batch_2.bin#1");
    assert_eq!(train.label(15), None);
    let out = rgb(&train, 4);
    // Interleaved RGB: channel c of (x, y) at (y·32 + x)·3 + c; record 1 has seed 17.
    assert_eq!(out[(32 + 5) * 3], 17);
    assert_eq!(out[(2 * 32 + 3) * 3 + 1], 100);
    assert_eq!(out[31 * 3 + 2], 50);
    assert_eq!(
        out.iter().map(|&v| u32::from(v)).sum::<u32>(),
        17 + 100 + 50
    );
    let inner = open10(&dir.path().join("cifar-10-batches-bin"), CifarSplit::Test).unwrap();
    assert_eq!(
        (inner.len(), inner.label(0), inner.name(2)),
        (3, Some(9), "test_batch.bin#2".into())
    );
    assert_eq!(
        train.fingerprint(),
        open10(dir.path(), CifarSplit::Train).unwrap().fingerprint()
    );
}

#[test]
fn cifar10_tar_gz_reads_like_the_folder() {
    let dir = tempfile::tempdir().unwrap();
    let files = cifar10_release(dir.path());
    let mut entries: Vec<(String, Vec<u8>)> = files
        .into_iter()
        .map(|(name, bytes)| (format!("cifar-10-batches-bin/{name}"), bytes))
        .collect();
    entries.insert(
        0,
        (
            "cifar-10-batches-bin/readme.html".into(),
            b"<html>".to_vec(),
        ),
    );
    let refs: Vec<(&str, Vec<u8>)> = entries
        .iter()
        .map(|(n, b)| (n.as_str(), b.clone()))
        .collect();
    let archive = dir.path().join("cifar-10-binary.tar.gz");
    fs::write(&archive, tar_bytes(&refs, true)).unwrap();
    let folder = open10(dir.path(), CifarSplit::Train).unwrap();
    let packed = open10(&archive, CifarSplit::Train).unwrap();
    assert_eq!(packed.len(), 15);
    assert_eq!(packed.classes(), folder.classes());
    for i in 0..15 {
        assert_eq!(
            (packed.label(i), packed.name(i)),
            (folder.label(i), folder.name(i))
        );
        assert_eq!(rgb(&packed, i), rgb(&folder, i));
    }
    fs::write(&archive, tar_bytes(&refs[..3], false)).unwrap();
    let err = open10(&archive, CifarSplit::Train).err().unwrap();
    let expected = format!(
        "missing `data_batch_3.bin`: looked for it in archive `{}`",
        archive.display()
    );
    assert_eq!(err.to_string(), expected);
}

#[test]
fn cifar100_fine_and_coarse_labels() {
    let dir = tempfile::tempdir().unwrap();
    let mut train = Vec::new();
    for (coarse, fine) in [(19u8, 99u8), (0, 5), (7, 42)] {
        train.extend([coarse, fine]);
        train.extend(pixels(coarse));
    }
    let fine: String = (0..100).map(|k| format!("fine{k}\n")).collect();
    let coarse: String = (0..20).map(|k| format!("coarse{k}\n")).collect();
    put(dir.path(), "cifar-100-binary/train.bin", &train);
    put(
        dir.path(),
        "cifar-100-binary/fine_label_names.txt",
        fine.as_bytes(),
    );
    put(
        dir.path(),
        "cifar-100-binary/coarse_label_names.txt",
        coarse.as_bytes(),
    );
    let open = |labels| {
        Cifar::open_expecting(
            dir.path(),
            CifarKind::Cifar100(labels),
            CifarSplit::Train,
            3,
        )
    };
    let by_fine = open(Cifar100Labels::Fine).unwrap();
    let by_coarse = open(Cifar100Labels::Coarse).unwrap();
    let labels = |d: &Cifar| (0..3).map(|i| d.label(i).unwrap()).collect::<Vec<_>>();
    assert_eq!(labels(&by_fine), [99, 5, 42]);
    assert_eq!(labels(&by_coarse), [19, 0, 7]);
    assert_eq!(
        (by_fine.classes().len(), by_coarse.classes().len()),
        (100, 20)
    );
    assert_eq!(by_coarse.classes()[7], "coarse7");
    // Record 2's red spot holds its coarse label (7), after the two label bytes.
    assert_eq!(rgb(&by_fine, 2)[(32 + 5) * 3], 7);
    assert_eq!(by_fine.name(2), "train.bin#2");
}

#[test]
fn lengths_that_disagree_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    cifar10_release(dir.path());
    let folder = dir.path().join("cifar-10-batches-bin");
    let err = Cifar::open(dir.path(), CifarKind::Cifar10, CifarSplit::Test)
        .err()
        .unwrap();
    let expected = format!(
        "`{}` is 9219 bytes, 3 records of 3073 bytes, but 10000 records were expected",
        folder.join("test_batch.bin").display()
    );
    assert_eq!(err.to_string(), expected);
    let mut bytes = batch10(&[1, 2, 3]);
    bytes.extend([0; 5]);
    fs::write(folder.join("test_batch.bin"), &bytes).unwrap();
    let err = open10(dir.path(), CifarSplit::Test).err().unwrap();
    let expected = format!(
        "`{}` is 9224 bytes, not a whole number of 3073-byte records",
        folder.join("test_batch.bin").display()
    );
    assert_eq!(err.to_string(), expected);
}

#[test]
fn missing_files_and_bad_labels_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    cifar10_release(dir.path());
    let folder = dir.path().join("cifar-10-batches-bin");
    fs::write(folder.join("data_batch_3.bin"), batch10(&[1, 2, 10])).unwrap();
    let err = open10(dir.path(), CifarSplit::Train).err().unwrap();
    let file = folder.join("data_batch_3.bin").display().to_string();
    assert_eq!(
        err.to_string(),
        format!("`{file}` record 2: label 10 is outside 0..=9")
    );
    fs::remove_file(folder.join("data_batch_3.bin")).unwrap();
    let err = open10(dir.path(), CifarSplit::Train).err().unwrap();
    let expected = format!(
        "missing `data_batch_3.bin`: looked for it in `{}` and `{}`",
        dir.path().display(),
        folder.display()
    );
    assert_eq!(err.to_string(), expected);
    fs::write(folder.join("batches.meta.txt"), "cat\ndog\n").unwrap();
    let err = open10(dir.path(), CifarSplit::Test).err().unwrap();
    assert!(err
        .to_string()
        .ends_with("batches.meta.txt` lists 2 class names but 10 were expected"));
    fs::remove_file(folder.join("batches.meta.txt")).unwrap();
    assert!(open10(dir.path(), CifarSplit::Test)
        .unwrap()
        .classes()
        .is_empty());
}

#[test]
fn unsafe_archive_members_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("cifar-10-binary.tar.gz");
    let entries = [(
        "../cifar-10-batches-bin/test_batch.bin",
        batch10(&[1, 2, 3]),
    )];
    fs::write(&archive, tar_bytes(&entries, true)).unwrap();
    let err = open10(&archive, CifarSplit::Test).err().unwrap();
    assert!(matches!(err, DataError::UnsafeEntry { .. }), "{err}");
}

#[test]
fn resizing_and_bad_requests() {
    let dir = tempfile::tempdir().unwrap();
    // One test record whose three planes are uniform 40, 80, 120: any resize keeps those values.
    let mut record = vec![3u8];
    record.extend([[40u8; 1024], [80; 1024], [120; 1024]].concat());
    put(dir.path(), "test_batch.bin", &record);
    let data = open10(dir.path(), CifarSplit::Test);
    assert!(matches!(
        data,
        Err(DataError::RecordCount { records: 1, .. })
    ));
    let data = Cifar::open_expecting(dir.path(), CifarKind::Cifar10, CifarSplit::Test, 1).unwrap();
    let mut out = vec![0u8; 20 * 12 * 3];
    data.read_rgb(0, 20, 12, &mut out).unwrap();
    assert!(out.chunks_exact(3).all(|p| p == [40, 80, 120]));
    let err = data.read_rgb(0, 32, 32, &mut out).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot decode image `test_batch.bin#0`: output buffer holds 720 bytes but 32x32 RGB needs 3072"
    );
    assert!(data.read_rgb(1, 20, 12, &mut out).is_err());
    assert!(data.image_size(1).is_err());
    assert_eq!(data.image_size(0).unwrap(), (32, 32));
}
