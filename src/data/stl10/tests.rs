//! Tests for the STL-10 binary reader, on small hand-made releases.

use std::fs;
use std::path::Path;

use super::*;
use crate::data::testutil::{put, tar_bytes};

/// Channel `c` of pixel (x, y) of image `seed`: not symmetric in x and y, so a transpose shows.
fn value(seed: u8, c: usize, x: usize, y: usize) -> u8 {
    ((x + 2 * y + 50 * c) % 256) as u8 ^ seed
}

/// One image in the file layout: plane `c` holds pixel (x, y) at byte `c·9216 + x·96 + y`.
fn image(seed: u8) -> Vec<u8> {
    let mut bytes = vec![0u8; IMAGE];
    for c in 0..3 {
        for x in 0..96 {
            for y in 0..96 {
                bytes[c * 9216 + x * 96 + y] = value(seed, c, x, y);
            }
        }
    }
    bytes
}

fn images(seeds: &[u8]) -> Vec<u8> {
    seeds.iter().flat_map(|&seed| image(seed)).collect()
}

/// The release files: train (2 images, labels 1 and 10), test (1), unlabeled (3), class names.
fn release() -> Vec<(&'static str, Vec<u8>)> {
    let names: String = (1..=10).map(|k| format!("class{k}\n")).collect();
    vec![
        ("train_X.bin", images(&[1, 2])),
        ("train_y.bin", vec![1, 10]),
        ("test_X.bin", images(&[3])),
        ("test_y.bin", vec![4]),
        ("unlabeled_X.bin", images(&[5, 6, 7])),
        ("class_names.txt", names.into_bytes()),
    ]
}

fn write_release(root: &Path) {
    for (name, bytes) in release() {
        put(root, &format!("stl10_binary/{name}"), &bytes);
    }
}

fn rgb(data: &Stl10, i: usize) -> Vec<u8> {
    let mut out = vec![0u8; IMAGE];
    data.read_rgb(i, 96, 96, &mut out).unwrap();
    out
}

#[test]
fn pixels_come_out_row_major() {
    let dir = tempfile::tempdir().unwrap();
    write_release(dir.path());
    let test = Stl10::open(dir.path(), Stl10Split::Test).unwrap();
    let file = &release()[2].1;
    // G (c = 1) of (x = 3, y = 1): file byte 9216 + 3·96 + 1 = 9505, value (3 + 2 + 50) ^ 3 = 52;
    // output byte (1·96 + 3)·3 + 1 = 298.
    assert_eq!((file[9505], rgb(&test, 0)[298]), (52, 52));
    let out = rgb(&test, 0);
    for (y, x, c) in [(0, 95, 0), (95, 0, 2), (40, 7, 1), (7, 40, 0)] {
        assert_eq!(
            out[(y * 96 + x) * 3 + c],
            value(3, c, x, y),
            "({x}, {y}) c{c}"
        );
    }
    let all_match = (0..96 * 96 * 3).all(|k| out[k] == value(3, k % 3, (k / 3) % 96, k / 288));
    assert!(all_match);
}

#[test]
fn splits_labels_and_names() {
    let dir = tempfile::tempdir().unwrap();
    write_release(dir.path());
    let both = Stl10::open(dir.path(), Stl10Split::TrainUnlabeled).unwrap();
    assert_eq!(both.len(), 5);
    assert_eq!(both.classes().len(), 10);
    assert_eq!(both.classes()[9], "class10");
    let labels: Vec<_> = (0..5).map(|i| both.label(i)).collect();
    assert_eq!(labels, [Some(0), Some(9), None, None, None]);
    assert_eq!(
        (both.name(1), both.name(3)),
        ("train_X.bin#1".into(), "unlabeled_X.bin#1".into())
    );
    let unlabeled = Stl10::open(&dir.path().join("stl10_binary"), Stl10Split::Unlabeled).unwrap();
    assert_eq!(rgb(&both, 3), rgb(&unlabeled, 1));
    assert_eq!(
        rgb(&unlabeled, 1)[..3],
        [value(6, 0, 0, 0), value(6, 1, 0, 0), value(6, 2, 0, 0)]
    );
    let train = Stl10::open(dir.path(), Stl10Split::Train).unwrap();
    assert_eq!(
        (train.len(), train.label(1), train.label(2)),
        (2, Some(9), None)
    );
    assert!(train.read_rgb(2, 96, 96, &mut vec![0; IMAGE]).is_err());
}

#[test]
fn tar_gz_reads_like_the_folder() {
    let dir = tempfile::tempdir().unwrap();
    write_release(dir.path());
    let entries: Vec<(String, Vec<u8>)> = release()
        .into_iter()
        .map(|(name, bytes)| (format!("stl10_binary/{name}"), bytes))
        .collect();
    let refs: Vec<(&str, Vec<u8>)> = entries
        .iter()
        .map(|(n, b)| (n.as_str(), b.clone()))
        .collect();
    let archive = dir.path().join("stl10_binary.tar.gz");
    fs::write(&archive, tar_bytes(&refs, true)).unwrap();
    let folder = Stl10::open(dir.path(), Stl10Split::TrainUnlabeled).unwrap();
    let packed = Stl10::open(&archive, Stl10Split::TrainUnlabeled).unwrap();
    assert_eq!((packed.len(), packed.classes()), (5, folder.classes()));
    for i in 0..5 {
        assert_eq!(
            (packed.label(i), packed.name(i)),
            (folder.label(i), folder.name(i))
        );
        assert_eq!(rgb(&packed, i), rgb(&folder, i));
    }
    assert_ne!(packed.fingerprint(), folder.fingerprint());
}

#[test]
fn bad_files_name_themselves() {
    let dir = tempfile::tempdir().unwrap();
    write_release(dir.path());
    let folder = dir.path().join("stl10_binary");
    let shown = |file: &str| folder.join(file).display().to_string();
    fs::write(folder.join("train_y.bin"), [1u8, 11]).unwrap();
    let err = Stl10::open(dir.path(), Stl10Split::Train).err().unwrap();
    let expected = format!(
        "`{}` record 1: label 11 is outside 1..=10",
        shown("train_y.bin")
    );
    assert_eq!(err.to_string(), expected);
    fs::write(folder.join("train_y.bin"), [1u8, 2, 3]).unwrap();
    let err = Stl10::open(dir.path(), Stl10Split::Train).err().unwrap();
    let expected = format!(
        "`{}` holds 3 labels but `{}` holds 2 images",
        shown("train_y.bin"),
        shown("train_X.bin")
    );
    assert_eq!(err.to_string(), expected);
    fs::write(folder.join("test_X.bin"), vec![0u8; IMAGE + 1]).unwrap();
    let err = Stl10::open(dir.path(), Stl10Split::Test).err().unwrap();
    let expected = format!(
        "`{}` is 27649 bytes, not a whole number of 27648-byte records",
        shown("test_X.bin")
    );
    assert_eq!(err.to_string(), expected);
    fs::remove_file(folder.join("unlabeled_X.bin")).unwrap();
    let err = Stl10::open(dir.path(), Stl10Split::Unlabeled)
        .err()
        .unwrap();
    let expected = format!(
        "missing `unlabeled_X.bin`: looked for it in `{}` and `{}`",
        dir.path().display(),
        folder.display()
    );
    assert_eq!(err.to_string(), expected);
}

#[test]
fn shrinking_96_to_32_keeps_the_mean() {
    let dir = tempfile::tempdir().unwrap();
    // A smooth image: every channel of (x, y) is x + y (0..=190), whose mean is 95 exactly.
    let plane: Vec<u8> = (0..96 * 96).map(|k| (k / 96 + k % 96) as u8).collect();
    put(dir.path(), "test_X.bin", &plane.repeat(3));
    put(dir.path(), "test_y.bin", &[2]);
    let data = Stl10::open(dir.path(), Stl10Split::Test).unwrap();
    assert!(data.classes().is_empty());
    let mut out = vec![0u8; 32 * 32 * 3];
    data.read_rgb(0, 32, 32, &mut out).unwrap();
    let mean = out.iter().map(|&v| f64::from(v)).sum::<f64>() / out.len() as f64;
    assert!((mean - 95.0).abs() < 1.0, "mean {mean}");
    // The ramp still rises along x and y after shrinking.
    assert!(out[0] < out[31 * 3] && out[31 * 3] < out[(31 * 32 + 31) * 3]);
}
