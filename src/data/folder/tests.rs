//! Tests for ImageFolder over directories and archives.

use std::fs;

use image::ExtendedColorType;

use super::*;
use crate::data::testutil::{jpeg, png, put, rgb_pixels, tar_bytes};

fn small_png(seed: u8) -> Vec<u8> {
    png(&rgb_pixels(4, 4, seed), 4, 4, ExtendedColorType::Rgb8)
}

/// root/<class>/{b.png, a.jpg} for classes cat, ant, bee, plus noise that must be skipped.
fn class_dirs(root: &Path) {
    for (k, class) in ["cat", "ant", "bee"].into_iter().enumerate() {
        put(root, &format!("{class}/b.png"), &small_png(k as u8));
        put(
            root,
            &format!("{class}/a.JPG"),
            &jpeg(&rgb_pixels(4, 4, 9), 4, 4),
        );
        put(root, &format!("{class}/.hidden.png"), &small_png(1));
        put(root, &format!("{class}/notes.txt"), b"not an image");
    }
    put(root, "loose.png", &small_png(3));
    put(root, ".git/x/y.png", &small_png(3));
}

#[test]
fn directory_is_sorted_by_class_then_path() {
    let dir = tempfile::tempdir().unwrap();
    class_dirs(dir.path());
    let folder = ImageFolder::open(dir.path(), None).unwrap();
    assert_eq!(folder.classes(), ["ant", "bee", "cat"]);
    assert_eq!(folder.len(), 6);
    let labels: Vec<u32> = (0..6).map(|i| folder.label(i)).collect();
    assert_eq!(labels, [0, 0, 1, 1, 2, 2]);
    assert_eq!(
        folder.name(0),
        dir.path().join("ant/a.JPG").display().to_string()
    );
    assert_eq!(
        folder.name(5),
        dir.path().join("cat/b.png").display().to_string()
    );
    assert_eq!(folder.read(5).unwrap().as_ref(), small_png(0).as_slice());
    let again = ImageFolder::open(dir.path(), None).unwrap();
    let names = |f: &ImageFolder| (0..f.len()).map(|i| f.name(i)).collect::<Vec<_>>();
    assert_eq!(names(&folder), names(&again));
    assert_eq!(folder.fingerprint(), again.fingerprint());
}

#[test]
fn directory_split_and_fingerprint_change() {
    let dir = tempfile::tempdir().unwrap();
    class_dirs(&dir.path().join("train"));
    put(dir.path(), "test/dog/1.png", &small_png(1));
    let test = ImageFolder::open(dir.path(), Some("test")).unwrap();
    assert_eq!((test.len(), test.classes()), (1, &["dog".to_string()][..]));
    let train = ImageFolder::open(dir.path(), Some("train")).unwrap();
    assert_eq!(train.len(), 6);
    put(dir.path(), "train/ant/c.png", &small_png(1));
    let grown = ImageFolder::open(dir.path(), Some("train")).unwrap();
    assert_eq!(grown.len(), 7);
    assert_ne!(grown.fingerprint(), train.fingerprint());
    let missing = ImageFolder::open(dir.path(), Some("val")).unwrap_err();
    assert!(matches!(missing, DataError::NotFound { path } if path.ends_with("val")));
}

#[test]
fn empty_class_names_the_folder() {
    let dir = tempfile::tempdir().unwrap();
    class_dirs(dir.path());
    fs::create_dir(dir.path().join("empty")).unwrap();
    put(dir.path(), "empty/readme.txt", b"nothing here");
    match ImageFolder::open(dir.path(), None).unwrap_err() {
        DataError::EmptyClass { path, class } => {
            assert_eq!(class, "empty");
            assert!(path.ends_with("empty"), "{path}");
        }
        other => panic!("unexpected {other}"),
    }
}

#[test]
fn missing_and_empty_paths() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    assert!(
        matches!(ImageFolder::open(&missing, None), Err(DataError::NotFound { path }) if path == missing)
    );
    let err = ImageFolder::open(dir.path(), None).unwrap_err();
    assert!(
        matches!(err, DataError::EmptyDataset { split: None, .. }),
        "{err}"
    );
}

#[cfg(unix)]
#[test]
fn symlinked_class_folders_are_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    class_dirs(dir.path());
    std::os::unix::fs::symlink(dir.path(), dir.path().join("loop")).unwrap();
    let folder = ImageFolder::open(dir.path(), None).unwrap();
    assert_eq!(folder.classes(), ["ant", "bee", "cat"]);
}

#[test]
fn select_per_class_keeps_first_images_and_labels() {
    let dir = tempfile::tempdir().unwrap();
    class_dirs(dir.path());
    let mut folder = ImageFolder::open(dir.path(), None).unwrap();
    folder.select_per_class(1);
    assert_eq!(folder.len(), 3);
    assert_eq!(folder.classes().len(), 3);
    let labels: Vec<u32> = (0..3).map(|i| folder.label(i)).collect();
    assert_eq!(labels, [0, 1, 2]);
    assert!((0..3).all(|i| folder.name(i).ends_with("a.JPG")));
    folder.select_per_class(0);
    assert!(folder.is_empty());
}

fn archive_entries() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("data/train/dog/2.png", small_png(2)),
        ("data/train/cat/1.png", small_png(1)),
        ("data/test/cat/3.PNG", small_png(3)),
        ("data/test/cat/._3.PNG", b"apple double".to_vec()),
        ("data/train/cat/list.txt", b"x".to_vec()),
        ("top.png", small_png(4)),
    ]
}

#[test]
fn archive_splits_names_and_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("set.tar.gz");
    fs::write(&path, tar_bytes(&archive_entries(), true)).unwrap();
    let train = ImageFolder::open(&path, Some("train")).unwrap();
    assert_eq!(train.classes(), ["cat", "dog"]);
    assert_eq!(train.len(), 2);
    assert_eq!(
        train.name(0),
        format!("{}:data/train/cat/1.png", path.display())
    );
    assert_eq!(train.read(1).unwrap().as_ref(), small_png(2).as_slice());
    assert_eq!((train.label(0), train.label(1)), (0, 1));
    let all = ImageFolder::open(&path, None).unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(
        all.name(0),
        format!("{}:data/test/cat/3.PNG", path.display())
    );
    assert!(all.fingerprint().starts_with("archive:"));
    let err = ImageFolder::open(&path, Some("val")).unwrap_err();
    assert!(matches!(err, DataError::EmptyDataset { split: Some(s), .. } if s == "val"));
}

#[test]
fn plain_tar_is_detected_by_content() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("set.bin");
    fs::write(&path, tar_bytes(&archive_entries(), false)).unwrap();
    assert_eq!(ImageFolder::open(&path, Some("train")).unwrap().len(), 2);
}

#[test]
fn unsafe_archive_entries_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["../evil/x.png", "/abs/cat/x.png", "a/../../cat/x.png"] {
        let path = dir.path().join("evil.tgz");
        let mut entries = archive_entries();
        entries.push((name, small_png(0)));
        fs::write(&path, tar_bytes(&entries, true)).unwrap();
        match ImageFolder::open(&path, None).unwrap_err() {
            DataError::UnsafeEntry { archive, entry } => {
                assert_eq!((archive, entry.as_str()), (path, name))
            }
            other => panic!("unexpected {other}"),
        }
    }
}

#[test]
fn corrupt_archive_is_an_archive_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.tar.gz");
    let mut bytes = tar_bytes(&archive_entries(), true);
    bytes.truncate(bytes.len() / 2);
    fs::write(&path, bytes).unwrap();
    let err = ImageFolder::open(&path, None).unwrap_err();
    assert!(matches!(err, DataError::Archive { .. }), "{err}");
}

#[test]
fn an_archive_whose_images_add_up_past_the_limit_is_refused_naming_it() {
    // Two small PNGs in the train split: a limit below their sum refuses the archive, one
    // above it reads both.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("set.tgz");
    fs::write(&path, tar_bytes(&archive_entries(), true)).unwrap();
    let sizes: u64 = archive_entries()
        .iter()
        .filter(|(name, _)| name.contains("/train/") && name.ends_with(".png"))
        .map(|(_, bytes)| bytes.len() as u64)
        .sum();
    match archive::scan_archive_within(&path, Some("train"), sizes - 1).unwrap_err() {
        DataError::ArchiveTooLarge { archive, limit } => {
            assert_eq!((archive, limit), (path.clone(), sizes - 1))
        }
        other => panic!("unexpected {other}"),
    }
    assert_eq!(
        archive::scan_archive_within(&path, Some("train"), sizes)
            .unwrap()
            .len(),
        2
    );
}
