//! Tests for image decoding and batch decoding, including the real CIFAR-10 archive.

use std::path::{Path, PathBuf};

use image::ExtendedColorType;

use super::*;
use crate::data::testutil::{jpeg, png, put, rgb_pixels};

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
}

/// One PNG chunk: length, type, data, CRC over type and data.
fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut crc = flate2::Crc::new();
    crc.update(kind);
    crc.update(data);
    let mut out = (data.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    out.extend_from_slice(&crc.sum().to_be_bytes());
    out
}

/// A PNG whose header claims 100000×100000 RGB pixels, with one tiny IDAT.
fn huge_png() -> Vec<u8> {
    let mut ihdr = 100_000u32.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    out.extend(chunk(b"IHDR", &ihdr));
    out.extend(chunk(
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    ));
    out.extend(chunk(b"IEND", &[]));
    out
}

#[test]
fn png_round_trip_is_exact() {
    let pixels = rgb_pixels(3, 2, 77);
    let bytes = png(&pixels, 3, 2, ExtendedColorType::Rgb8);
    let mut out = vec![0u8; 18];
    decode_rgb_into(&bytes, "a.png", 3, 2, &mut out).unwrap();
    assert_eq!(out, pixels);
    assert_eq!(probe_size(&bytes, "a.png").unwrap(), (3, 2));
}

#[test]
fn greyscale_and_rgba_become_rgb() {
    let grey = png(&[10, 20, 30, 40], 2, 2, ExtendedColorType::L8);
    let mut out = vec![0u8; 12];
    decode_rgb_into(&grey, "g.png", 2, 2, &mut out).unwrap();
    assert_eq!(out, [10, 10, 10, 20, 20, 20, 30, 30, 30, 40, 40, 40]);
    let rgba = png(&[1, 2, 3, 0, 4, 5, 6, 255], 2, 1, ExtendedColorType::Rgba8);
    let mut out = vec![0u8; 6];
    decode_rgb_into(&rgba, "a.png", 2, 1, &mut out).unwrap();
    assert_eq!(out, [1, 2, 3, 4, 5, 6]);
}

#[test]
fn truncated_jpeg_is_a_decode_error_naming_the_file() {
    let bytes = jpeg(&rgb_pixels(16, 16, 5), 16, 16);
    let mut out = vec![0u8; 16 * 16 * 3];
    let err = decode_rgb_into(&bytes[..100], "x.tar:cat/1.jpg", 16, 16, &mut out).unwrap_err();
    assert!(
        matches!(&err, DataError::Decode { file, .. } if file == "x.tar:cat/1.jpg"),
        "{err}"
    );
    assert!(err
        .to_string()
        .starts_with("cannot decode image `x.tar:cat/1.jpg`: "));
    let err = decode_rgb_into(b"not an image", "junk.png", 16, 16, &mut out).unwrap_err();
    assert!(matches!(err, DataError::Decode { .. }), "{err}");
}

#[test]
fn huge_header_is_refused_before_decoding() {
    let bytes = huge_png();
    let err = probe_size(&bytes, "huge.png").unwrap_err();
    let expected = (100_000, 100_000, MAX_SIDE);
    assert!(
        matches!(&err, DataError::TooLarge { file, width, height, limit }
        if file == "huge.png" && (*width, *height, *limit) == expected),
        "{err}"
    );
    let err = decode_rgb_into(&bytes, "huge.png", 4, 4, &mut [0u8; 48]).unwrap_err();
    assert!(matches!(err, DataError::TooLarge { .. }), "{err}");
}

#[test]
fn wrong_size_and_wrong_buffer_are_refused() {
    let bytes = png(&rgb_pixels(3, 2, 1), 3, 2, ExtendedColorType::Rgb8);
    let err = decode_rgb_into(&bytes, "a.png", 2, 3, &mut [0u8; 18]).unwrap_err();
    assert!(matches!(
        err,
        DataError::SizeMismatch {
            width: 3,
            height: 2,
            expected_width: 2,
            ..
        }
    ));
    assert!(err.to_string().contains("resize"));
    let err = decode_rgb_into(&bytes, "a.png", 3, 2, &mut [0u8; 17]).unwrap_err();
    assert!(matches!(err, DataError::Decode { .. }), "{err}");
}

/// A directory dataset of 4×4 images: 3 classes × 3 images, PNG and JPEG mixed.
fn small_dataset(root: &Path) -> ImageFolder {
    for (c, class) in ["a", "b", "c"].into_iter().enumerate() {
        for k in 0..3u8 {
            let pixels = rgb_pixels(4, 4, 40 * c as u8 + k);
            let bytes = if k == 1 {
                jpeg(&pixels, 4, 4)
            } else {
                png(&pixels, 4, 4, ExtendedColorType::Rgb8)
            };
            put(
                root,
                &format!("{class}/{k}.{}", if k == 1 { "jpg" } else { "png" }),
                &bytes,
            );
        }
    }
    ImageFolder::open(root, None).unwrap()
}

#[test]
fn batch_is_the_same_for_any_pool_size() {
    let dir = tempfile::tempdir().unwrap();
    let folder = small_dataset(dir.path());
    let one = decode_batch(&folder, &(1..8).collect::<Vec<_>>(), 4, 4, &pool(1)).unwrap();
    let two = decode_batch(&folder, &(1..8).collect::<Vec<_>>(), 4, 4, &pool(2)).unwrap();
    assert_eq!(one, two);
    assert_eq!(one.len(), 7);
    assert_eq!(one.indices, (1..8).collect::<Vec<u64>>());
    assert_eq!(one.labels.as_deref(), Some(&[0, 0, 1, 1, 1, 2, 2][..]));
    assert_eq!(&*one.classes, ["a", "b", "c"]);
    assert_eq!(one.image(1), rgb_pixels(4, 4, 2));
    assert_eq!(one.image(5), rgb_pixels(4, 4, 80));
    assert!(
        decode_batch(&folder, &(3..3).collect::<Vec<_>>(), 4, 4, &pool(2))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn size_mismatch_names_the_first_bad_file() {
    let dir = tempfile::tempdir().unwrap();
    small_dataset(dir.path());
    put(
        dir.path(),
        "b/5.png",
        &png(&rgb_pixels(6, 4, 0), 6, 4, ExtendedColorType::Rgb8),
    );
    put(
        dir.path(),
        "b/4.png",
        &png(&rgb_pixels(5, 4, 0), 5, 4, ExtendedColorType::Rgb8),
    );
    let folder = ImageFolder::open(dir.path(), None).unwrap();
    for threads in [1, 2] {
        match decode_batch(
            &folder,
            &(0..folder.len()).collect::<Vec<_>>(),
            4,
            4,
            &pool(threads),
        )
        .unwrap_err()
        {
            DataError::SizeMismatch {
                file,
                width,
                height,
                ..
            } => {
                assert!(file.ends_with("4.png"), "{file}");
                assert_eq!((width, height), (5, 4));
            }
            other => panic!("unexpected {other}"),
        }
    }
    let err = decode_batch(&folder, &(0..2).collect::<Vec<_>>(), 0, 4, &pool(1)).unwrap_err();
    assert!(matches!(err, DataError::SizeMismatch { .. }), "{err}");
}

/// The real CIFAR-10 archive shared with the main project (`/work/shared/data`).
fn cifar_archive() -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/cifar10-jpg.tar.gz");
    assert!(
        path.is_file(),
        "CIFAR-10 archive missing: expected it at {}",
        path.display()
    );
    path
}

#[test]
fn cifar10_test_split_opens_and_decodes() {
    let folder = ImageFolder::open(&cifar_archive(), Some("test")).unwrap();
    let names = [
        "airplane",
        "automobile",
        "bird",
        "cat",
        "deer",
        "dog",
        "frog",
        "horse",
        "ship",
        "truck",
    ];
    assert_eq!(folder.classes(), names);
    assert_eq!(folder.len(), 10_000);
    let mut counts = [0usize; 10];
    (0..folder.len()).for_each(|i| counts[folder.label(i) as usize] += 1);
    assert_eq!(counts, [1000; 10]);
    assert!(folder
        .name(0)
        .ends_with("cifar10-jpg.tar.gz:cifar10/test/airplane/0000.jpg"));
    assert!(folder.name(9_999).contains("cifar10/test/truck/"));
    let batch = decode_batch(&folder, &(0..64).collect::<Vec<_>>(), 32, 32, &pool(2)).unwrap();
    assert_eq!((batch.len(), batch.pixels.len()), (64, 64 * 32 * 32 * 3));
    assert_eq!(batch.labels.as_deref(), Some(&[0u32; 64][..]));
    let mean = batch.pixels.iter().map(|&p| p as f64).sum::<f64>() / batch.pixels.len() as f64;
    assert!(
        (40.0..220.0).contains(&mean),
        "implausible mean pixel {mean}"
    );
}

#[test]
fn greyscale_jpeg_comes_out_grey() {
    let grey: Vec<u8> = (0..64).map(|v| (v * 4) as u8).collect();
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 90)
        .encode(&grey, 8, 8, ExtendedColorType::L8)
        .unwrap();
    let mut out = vec![0u8; 8 * 8 * 3];
    decode_rgb_into(&bytes, "g.jpg", 8, 8, &mut out).unwrap();
    assert!(
        out.chunks(3).all(|p| p[0] == p[1] && p[1] == p[2]),
        "{out:?}"
    );
    // A lossy ramp 0..252 still spans most of the range.
    assert!(out[0] < 40 && out[out.len() - 1] > 210, "{out:?}");
}

/// A real JPEG whose SOF0 header is patched to claim `width`×`height`.
fn jpeg_claiming(width: u16, height: u16) -> Vec<u8> {
    let mut bytes = jpeg(&rgb_pixels(8, 8, 3), 8, 8);
    let sof = bytes.windows(2).position(|w| w == [0xff, 0xc0]).unwrap();
    bytes[sof + 5..sof + 7].copy_from_slice(&height.to_be_bytes());
    bytes[sof + 7..sof + 9].copy_from_slice(&width.to_be_bytes());
    bytes
}

#[test]
fn huge_jpeg_header_is_refused_before_decoding() {
    // 60000 per side is over MAX_SIDE; 10000×10000 = 100 Mpx is under it but over MAX_PIXELS.
    for (w, h) in [(60_000, 60_000), (10_000, 10_000)] {
        let bytes = jpeg_claiming(w, h);
        let err = probe_size(&bytes, "huge.jpg").unwrap_err();
        assert!(
            matches!(&err, DataError::TooLarge { width, height, .. }
            if (*width, *height) == (u32::from(w), u32::from(h))),
            "{err}"
        );
        let err = decode_rgb_resized(&bytes, "huge.jpg", 4, 4, &mut [0u8; 48]).unwrap_err();
        assert!(matches!(err, DataError::TooLarge { .. }), "{err}");
    }
}

#[test]
fn resized_decoding_accepts_other_sizes() {
    // A uniform 6×4 image is uniform at any size (the filter weights sum to one).
    let bytes = png(&[9, 99, 199].repeat(24), 6, 4, ExtendedColorType::Rgb8);
    let mut out = vec![0u8; 2 * 3 * 3];
    decode_rgb_resized(&bytes, "u.png", 2, 3, &mut out).unwrap();
    assert_eq!(out, [9, 99, 199].repeat(6));
    let bytes = jpeg(&rgb_pixels(16, 16, 5), 16, 16);
    let mut exact = vec![0u8; 16 * 16 * 3];
    decode_rgb_resized(&bytes, "a.jpg", 16, 16, &mut exact).unwrap();
    let mut strict = vec![0u8; 16 * 16 * 3];
    decode_rgb_into(&bytes, "a.jpg", 16, 16, &mut strict).unwrap();
    assert_eq!(exact, strict);
    let err = decode_rgb_resized(&bytes, "a.jpg", 4, 4, &mut [0u8; 47]).unwrap_err();
    assert!(matches!(err, DataError::Decode { .. }), "{err}");
}
