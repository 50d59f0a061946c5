//! Tests for the packed store: building, reuse without decoding, every rebuild trigger,
//! determinism across pool sizes, exact contents, errors, and the real CIFAR-10 archive.

use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use image::ExtendedColorType;

use super::*;
use crate::data::folder::ImageFolder;
use crate::data::testutil::{jpeg, png, put, rgb_pixels};

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
}

/// A dataset wrapper counting `read_rgb` calls, with an overridable fingerprint and labels.
struct Counting {
    inner: ImageFolder,
    reads: AtomicUsize,
    fingerprint: String,
    labels: bool,
}

impl Counting {
    fn new(inner: ImageFolder, fingerprint: &str) -> Counting {
        Counting {
            inner,
            reads: AtomicUsize::new(0),
            fingerprint: fingerprint.into(),
            labels: true,
        }
    }

    fn reads(&self) -> usize {
        self.reads.load(Ordering::SeqCst)
    }
}

impl Dataset for Counting {
    fn len(&self) -> usize {
        Dataset::len(&self.inner)
    }
    fn native_size(&self) -> Option<(u32, u32)> {
        None
    }
    fn image_size(&self, i: usize) -> Result<(u32, u32)> {
        self.inner.image_size(i)
    }
    fn classes(&self) -> &[String] {
        self.inner.classes()
    }
    fn label(&self, i: usize) -> Option<u32> {
        self.labels.then(|| self.inner.label(i))
    }
    fn name(&self, i: usize) -> String {
        self.inner.name(i)
    }
    fn read_rgb(&self, i: usize, width: u32, height: u32, out: &mut [u8]) -> Result<()> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.inner.read_rgb(i, width, height, out)
    }
    fn fingerprint(&self) -> String {
        self.fingerprint.clone()
    }
}

/// A uniform w×h RGB8 image.
fn uniform(w: u32, h: u32, rgb: [u8; 3]) -> Vec<u8> {
    rgb.repeat((w * h) as usize)
}

/// a/0.png, a/1.jpg, b/0.png (4×4) and b/1.png (8×8, uniform, so resized to 4×4 uniform).
fn folder(root: &Path) -> ImageFolder {
    let rgb = ExtendedColorType::Rgb8;
    put(root, "a/0.png", &png(&rgb_pixels(4, 4, 10), 4, 4, rgb));
    put(root, "a/1.jpg", &jpeg(&rgb_pixels(4, 4, 60), 4, 4));
    put(root, "b/0.png", &png(&rgb_pixels(4, 4, 20), 4, 4, rgb));
    put(
        root,
        "b/1.png",
        &png(&uniform(8, 8, [200, 100, 50]), 8, 8, rgb),
    );
    ImageFolder::open(root, None).unwrap()
}

fn build(data: &dyn Dataset, size: u32, path: &Path, threads: usize) -> Result<PackedStore> {
    PackedStore::open_or_build(data, size, size, path, &pool(threads), &|_| true)
}

#[test]
fn packs_pngs_exactly_jpegs_closely_and_resizes() {
    let dir = tempfile::tempdir().unwrap();
    let data = folder(&dir.path().join("data"));
    let path = dir.path().join("store.bin");
    let seen = AtomicUsize::new(0);
    let progress = |n: usize| {
        seen.store(n, Ordering::SeqCst);
        true
    };
    let store = PackedStore::open_or_build(&data, 4, 4, &path, &pool(2), &progress).unwrap();
    assert_eq!(
        (store.len(), store.width(), store.height(), store.channels()),
        (4, 4, 4, 3)
    );
    assert_eq!(seen.load(Ordering::SeqCst), 4);
    assert_eq!(store.classes(), ["a", "b"]);
    assert_eq!(store.labels(), [Some(0), Some(0), Some(1), Some(1)]);
    assert_eq!((store.label(3), store.label(4)), (Some(1), None));
    assert_eq!(store.image(0), rgb_pixels(4, 4, 10));
    assert_eq!(store.image(2), rgb_pixels(4, 4, 20));
    // A uniform image stays uniform under any normalised filter.
    assert_eq!(store.image(3), uniform(4, 4, [200, 100, 50]));
    let source = rgb_pixels(4, 4, 60);
    let diff: u32 = store
        .image(1)
        .iter()
        .zip(&source)
        .map(|(&a, &b)| a.abs_diff(b) as u32)
        .sum();
    assert!(diff / 48 < 10, "JPEG mean error {}", diff / 48);
    assert_eq!(store.fingerprint(), data.fingerprint());
    // The file is exactly the documented layout: 64 + metadata rounded to 64, 4·48 pixels
    // (192, a multiple of 64), then 4 labels.
    let len = fs::metadata(&path).unwrap().len() as usize;
    assert_eq!(len, store.layout.pixel_offset + 192 + 16);
    assert_eq!(&fs::read(&path).unwrap()[..8], b"SCANPAK\0");
}

#[test]
fn reopening_does_not_decode_again() {
    let dir = tempfile::tempdir().unwrap();
    let data = Counting::new(folder(&dir.path().join("data")), "v1");
    let path = dir.path().join("store.bin");
    let first = build(&data, 4, &path, 2).unwrap();
    assert_eq!(data.reads(), 4);
    let again = build(&data, 4, &path, 2).unwrap();
    assert_eq!(data.reads(), 4);
    assert_eq!(again.image(2), first.image(2));
    assert_eq!(again.labels(), first.labels());
}

#[test]
fn fingerprint_or_size_change_rebuilds() {
    let dir = tempfile::tempdir().unwrap();
    let mut data = Counting::new(folder(&dir.path().join("data")), "v1");
    let path = dir.path().join("store.bin");
    build(&data, 4, &path, 1).unwrap();
    data.fingerprint = "v2".into();
    let store = build(&data, 4, &path, 1).unwrap();
    assert_eq!((data.reads(), store.fingerprint()), (8, "v2"));
    let store = build(&data, 2, &path, 1).unwrap();
    assert_eq!((data.reads(), store.width(), store.height()), (12, 2, 2));
    assert_eq!(store.image(3), uniform(2, 2, [200, 100, 50]));
}

#[test]
fn truncated_corrupt_or_old_stores_are_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let data = Counting::new(folder(&dir.path().join("data")), "v1");
    let path = dir.path().join("store.bin");
    build(&data, 4, &path, 1).unwrap();
    let good = fs::read(&path).unwrap();
    type Damage = fn(&mut Vec<u8>);
    let damages: [(&str, Damage); 5] = [
        ("truncated", |b| b.truncate(b.len() - 1)),
        ("header only", |b| b.truncate(40)),
        ("bad magic", |b| b[0] = b'X'),
        ("old version", |b| b[8] = 0),
        ("bad label", |b| *b.last_mut().unwrap() = 7),
    ];
    for (k, (what, damage)) in damages.into_iter().enumerate() {
        let mut bytes = good.clone();
        damage(&mut bytes);
        fs::write(&path, &bytes).unwrap();
        let err = PackedStore::open(&path).unwrap_err();
        assert!(matches!(err, DataError::Store { .. }), "{what}: {err}");
        build(&data, 4, &path, 1).unwrap();
        assert_eq!(data.reads(), 4 * (k + 2), "{what} was trusted");
        assert_eq!(fs::read(&path).unwrap(), good, "{what}");
    }
}

#[test]
fn bytes_do_not_depend_on_the_pool_size() {
    let dir = tempfile::tempdir().unwrap();
    let data = folder(&dir.path().join("data"));
    build(&data, 3, &dir.path().join("one.bin"), 1).unwrap();
    build(&data, 3, &dir.path().join("two.bin"), 2).unwrap();
    let one = fs::read(dir.path().join("one.bin")).unwrap();
    assert_eq!(one, fs::read(dir.path().join("two.bin")).unwrap());
}

#[test]
fn unknown_labels_are_stored_as_none() {
    let dir = tempfile::tempdir().unwrap();
    let mut data = Counting::new(folder(&dir.path().join("data")), "v1");
    data.labels = false;
    let store = build(&data, 4, &dir.path().join("s.bin"), 1).unwrap();
    assert_eq!(store.labels(), [None; 4]);
    let bytes = fs::read(dir.path().join("s.bin")).unwrap();
    assert_eq!(bytes[bytes.len() - 4..], u32::MAX.to_le_bytes());
}

#[test]
fn first_decode_error_names_the_file_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("data");
    folder(&root);
    put(&root, "a/2.png", b"not a png");
    put(&root, "b/2.png", b"not a png either");
    let data = ImageFolder::open(&root, None).unwrap();
    let out = dir.path().join("out");
    fs::create_dir(&out).unwrap();
    for threads in [1, 2] {
        let err = build(&data, 4, &out.join("s.bin"), threads).unwrap_err();
        assert!(
            matches!(&err, DataError::Decode { file, .. } if file.ends_with("a/2.png")),
            "{err}"
        );
        assert_eq!(fs::read_dir(&out).unwrap().count(), 0, "temp file left");
    }
    let err = build(&data, 0, &out.join("s.bin"), 1).unwrap_err();
    assert!(matches!(err, DataError::Store { .. }), "{err}");
}

#[test]
fn gather_and_dataset_view() {
    let dir = tempfile::tempdir().unwrap();
    let data = folder(&dir.path().join("data"));
    let store = build(&data, 4, &dir.path().join("s.bin"), 2).unwrap();
    let mut out = vec![0u8; 96];
    store.gather(&[3, 0], &mut out).unwrap();
    assert_eq!(out, [store.image(3), store.image(0)].concat());
    assert!(store.gather(&[3], &mut out).is_err());
    assert!(store.gather(&[4, 0], &mut out).is_err());
    let view: &dyn Dataset = &store;
    assert_eq!(
        (view.native_size(), view.image_size(1).unwrap()),
        (Some((4, 4)), (4, 4))
    );
    let mut one = vec![0u8; 48];
    view.read_rgb(2, 4, 4, &mut one).unwrap();
    assert_eq!(one, rgb_pixels(4, 4, 20));
    assert!(view.name(2).ends_with("s.bin#2"));
    assert!(view.fingerprint().starts_with("packed:4x4:dir:"));
    // The folder's own Dataset view: sizes from the header, no native size.
    let folder: &dyn Dataset = &data;
    assert_eq!(
        (folder.native_size(), folder.image_size(3).unwrap()),
        (None, (8, 8))
    );
    assert_eq!(folder.label(9), None);
}

#[test]
fn cifar10_test_split_packs_and_reopens() {
    let archive = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/cifar10-jpg.tar.gz");
    let data = ImageFolder::open(&archive, Some("test")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cifar-test.bin");
    let store = build(&data, 32, &path, 2).unwrap();
    assert_eq!((store.len(), store.classes().len()), (10_000, 10));
    let mut counts = [0usize; 10];
    store
        .labels()
        .iter()
        .for_each(|l| counts[l.unwrap() as usize] += 1);
    assert_eq!(counts, [1000; 10]);
    for i in [0, 4_321, 9_999] {
        let mut direct = vec![0u8; 32 * 32 * 3];
        data.read_rgb(i, 32, 32, &mut direct).unwrap();
        assert_eq!(store.image(i), direct, "image {i}");
        assert_eq!(store.label(i), Some(data.label(i)));
    }
    let start = Instant::now();
    let again = PackedStore::open(&path).unwrap();
    assert!(
        start.elapsed().as_millis() < 500,
        "reopen took {:?}",
        start.elapsed()
    );
    assert_eq!(again.image(5_000), store.image(5_000));
}

#[test]
fn packing_stops_when_progress_says_so_and_keeps_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = folder(&dir.path().join("data"));
    let path = dir.path().join("store.bin");
    let err = PackedStore::open_or_build(&data, 4, 4, &path, &pool(2), &|_| false).unwrap_err();
    assert!(matches!(err, DataError::PackingStopped { .. }), "{err}");
    assert!(!path.exists());
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .filter(|n| n != "data")
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}
