//! Hostile and broken input files, each refused with an error that names the file: archive
//! entries escaping the folder, decompression bombs, images claiming 100000×100000 pixels,
//! truncated PNG / JPEG, symlink loops (this file); wrong-length CIFAR files, lying `.npy`
//! headers and mis-shaped safetensors ([`datasets`]). Everything is built in a temp folder.

mod datasets;
mod fixtures;

use std::fs;
use std::path::Path;

use fixtures::{bomb_tar_gz, gzip, jpeg, jpeg_claiming, listing, png, png_claiming, tar, MIB};
use scanflow::data::{
    decode_rgb_into, decode_rgb_resized, probe_size, Cifar, CifarKind, CifarSplit, DataError,
    ImageFolder, MAX_FILE_BYTES,
};

/// Asserts `error` renders with `needle` in it (the file it must name), returning the text.
fn names(error: &impl std::fmt::Display, needle: &str) -> String {
    let text = error.to_string();
    assert!(text.contains(needle), "`{needle}` not named in: {text}");
    text
}

/// The error of `result`, which must have failed.
fn refused<T, E>(result: Result<T, E>) -> E {
    match result {
        Ok(_) => panic!("a hostile file was accepted"),
        Err(error) => error,
    }
}

#[test]
fn archive_entries_climbing_out_are_refused_and_nothing_is_written_outside() {
    let outer = tempfile::tempdir().unwrap();
    let dir = outer.path().join("data");
    fs::create_dir(&dir).unwrap();
    let good = png(4, 4);
    for evil in [
        "../escape/cat/x.png",
        "/tmp/scanflow-abs/cat/x.png",
        "a/../../cat/x.png",
    ] {
        let path = dir.join("set.tar.gz");
        let entries: [(&[u8], &[u8]); 2] = [(b"set/cat/ok.png", &good), (evil.as_bytes(), &good)];
        fs::write(&path, gzip(&tar(&entries))).unwrap();
        let error = ImageFolder::open(&path, None).unwrap_err();
        assert!(matches!(error, DataError::UnsafeEntry { .. }), "{error}");
        names(&error, &path.display().to_string());
        names(&error, evil);
    }
    assert_eq!(listing(outer.path()), ["data", "data/set.tar.gz"]);
    assert!(!Path::new("/tmp/scanflow-abs").exists());
}

#[test]
fn release_archive_entry_climbing_out_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cifar-10-binary.tar.gz");
    let record = vec![0u8; 3073];
    let entries: [(&[u8], &[u8]); 1] = [(b"../cifar-10-batches-bin/test_batch.bin", &record)];
    fs::write(&path, gzip(&tar(&entries))).unwrap();
    let error = refused(Cifar::open_expecting(
        &path,
        CifarKind::Cifar10,
        CifarSplit::Test,
        1,
    ));
    assert!(matches!(error, DataError::UnsafeEntry { .. }), "{error}");
    names(&error, &path.display().to_string());
    assert_eq!(listing(dir.path()), ["cifar-10-binary.tar.gz"]);
}

#[test]
fn gzip_bomb_in_an_image_archive_is_refused_by_the_size_limit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bomb.tar.gz");
    let mib = MAX_FILE_BYTES / MIB + 44;
    let bomb = bomb_tar_gz(b"set/cat/bomb.png", mib);
    assert!(bomb.len() < 1 << 20, "the bomb file itself is small");
    fs::write(&path, &bomb).unwrap();
    let error = ImageFolder::open(&path, None).unwrap_err();
    match &error {
        DataError::FileTooLarge { bytes, limit, .. } => {
            assert_eq!((*bytes, *limit), (mib * MIB, MAX_FILE_BYTES))
        }
        other => panic!("expected FileTooLarge, got {other}"),
    }
    names(&error, &format!("{}:set/cat/bomb.png", path.display()));
}

#[test]
fn gzip_bomb_in_a_dataset_release_is_refused_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cifar-10-binary.tar.gz");
    fs::write(
        &path,
        bomb_tar_gz(b"cifar-10-batches-bin/test_batch.bin", 4 * 1024 + 1),
    )
    .unwrap();
    let error = refused(Cifar::open(&path, CifarKind::Cifar10, CifarSplit::Test));
    assert!(matches!(error, DataError::Archive { .. }), "{error}");
    let text = names(&error, &path.display().to_string());
    assert!(
        text.contains("test_batch.bin") && text.contains("extract the archive"),
        "{text}"
    );
}

#[test]
fn oversized_image_file_in_a_folder_is_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let cat = dir.path().join("cat");
    fs::create_dir(&cat).unwrap();
    let big = cat.join("big.png");
    // Sparse: takes no disk space, but would take 300 MiB of memory if read.
    fs::File::create(&big)
        .unwrap()
        .set_len(MAX_FILE_BYTES + 44 * MIB)
        .unwrap();
    let folder = ImageFolder::open(dir.path(), None).unwrap();
    let error = folder.read(0).unwrap_err();
    assert!(matches!(error, DataError::FileTooLarge { .. }), "{error}");
    names(&error, &big.display().to_string());
}

#[test]
fn png_claiming_100000_pixels_a_side_is_refused_before_decoding() {
    let bytes = png_claiming(100_000, 100_000);
    let mut out = vec![0u8; 32 * 32 * 3];
    let errors = [
        probe_size(&bytes, "huge.png").unwrap_err(),
        decode_rgb_into(&bytes, "huge.png", 32, 32, &mut out).unwrap_err(),
        decode_rgb_resized(&bytes, "huge.png", 32, 32, &mut out).unwrap_err(),
    ];
    for error in errors {
        assert!(
            matches!(
                error,
                DataError::TooLarge {
                    width: 100_000,
                    height: 100_000,
                    ..
                }
            ),
            "{error}"
        );
        names(&error, "huge.png");
    }
}

#[test]
fn jpeg_claiming_65000_pixels_a_side_is_refused_before_decoding() {
    let bytes = jpeg_claiming(65_000, 65_000);
    let mut out = vec![0u8; 32 * 32 * 3];
    let error = decode_rgb_resized(&bytes, "huge.jpg", 32, 32, &mut out).unwrap_err();
    assert!(
        matches!(error, DataError::TooLarge { width: 65_000, .. }),
        "{error}"
    );
    names(&error, "huge.jpg");
}

#[test]
fn truncated_png_and_jpeg_are_refused_naming_the_file() {
    let mut out = vec![0u8; 32 * 32 * 3];
    for (name, bytes) in [("cut.png", png(32, 32)), ("cut.jpg", jpeg(32, 32))] {
        for keep in [bytes.len() / 2, 40, 4] {
            let result = decode_rgb_into(&bytes[..keep], name, 32, 32, &mut out);
            let error =
                result.expect_err(&format!("{name} cut to {keep} of {} bytes", bytes.len()));
            names(&error, name);
        }
    }
}

#[cfg(unix)]
#[test]
fn symlink_loops_in_an_image_folder_are_refused_or_skipped() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("cat")).unwrap();
    fs::write(dir.path().join("cat/ok.png"), png(4, 4)).unwrap();
    // A class folder that loops back to the root is not followed.
    symlink(dir.path(), dir.path().join("loop")).unwrap();
    symlink("sub", dir.path().join("cat/sub")).unwrap();
    let folder = ImageFolder::open(dir.path(), None).unwrap();
    assert_eq!(folder.classes(), ["cat"]);
    // An image that is a link to itself cannot be read: refused, naming it.
    let looped = dir.path().join("cat/self.png");
    symlink("self.png", &looped).unwrap();
    let error = ImageFolder::open(dir.path(), None).unwrap_err();
    names(&error, &looped.display().to_string());
}
