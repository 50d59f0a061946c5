//! Tests for `.npy` reading and writing: numpy's exact header, versions, dtypes and lying headers.

use std::fs;
use std::path::PathBuf;

use super::*;

/// A `.npy` file of `version` (1, 2 or 3) with `dict` padded to 64 bytes, then `data`.
fn npy_bytes(version: u8, dict: &str, data: &[u8]) -> Vec<u8> {
    let prefix = if version == 1 { 10 } else { 12 };
    let pad = 63 - (prefix + dict.len()) % 64;
    let header = format!("{dict}{}\n", " ".repeat(pad));
    let mut out = MAGIC.to_vec();
    out.extend([version, 0]);
    if version == 1 {
        out.extend((header.len() as u16).to_le_bytes());
    } else {
        out.extend((header.len() as u32).to_le_bytes());
    }
    out.extend(header.as_bytes());
    out.extend(data);
    out
}

fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Writes `bytes` to a temp file and reads it back as a matrix.
fn read(bytes: &[u8]) -> (tempfile::TempDir, PathBuf, Result<Matrix>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.npy");
    fs::write(&path, bytes).unwrap();
    let result = read_npy_matrix(&path);
    (dir, path, result)
}

fn message(bytes: &[u8]) -> String {
    let (_dir, path, result) = read(bytes);
    let text = result.unwrap_err().to_string();
    let prefix = format!("`{}` is not a usable .npy matrix: ", path.display());
    text.strip_prefix(&prefix).unwrap().to_string()
}

#[test]
fn header_is_byte_for_byte_numpy() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.npy");
    let data = [1.0, -2.5, 3.25, 0.0, f32::MAX, -1e-7];
    write_npy_f32(&path, 2, 3, &data).unwrap();
    let bytes = fs::read(&path).unwrap();
    // The dict is 59 characters; numpy adds 21 − len("2") = 20 spaces of room to grow the
    // first dimension (79), then pads so 10 + 79 + pad + 1 (the '\n') is a multiple of 64:
    // pad = 64 − 90 % 64 = 38, so the data starts at byte 128 and the length field is 118.
    let dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
    assert_eq!(dict.len(), 59);
    let mut expected = b"\x93NUMPY\x01\x00\x76\x00".to_vec();
    expected.extend(dict.as_bytes());
    expected.extend([b' '; 58]);
    expected.push(b'\n');
    assert_eq!(expected.len(), 128);
    assert_eq!(bytes[..128], expected[..]);
    assert_eq!(bytes[128..], f32_bytes(&data)[..]);
    let matrix = read_npy_matrix(&path).unwrap();
    assert_eq!(
        (matrix.rows, matrix.cols, matrix.data),
        (2, 3, data.to_vec())
    );
}

#[test]
fn round_trips_any_shape() {
    let dir = tempfile::tempdir().unwrap();
    for (rows, cols) in [(0, 4), (1, 1), (7, 300), (20_000, 5)] {
        let path = dir.path().join(format!("{rows}x{cols}.npy"));
        let data: Vec<f32> = (0..rows * cols).map(|k| k as f32 * 0.5 - 3.0).collect();
        write_npy_f32(&path, rows, cols, &data).unwrap();
        let bytes = fs::read(&path).unwrap();
        let data_start = bytes.len() - 4 * rows * cols;
        assert_eq!(data_start % 64, 0);
        let matrix = read_npy_matrix(&path).unwrap();
        assert_eq!(matrix, Matrix { rows, cols, data });
    }
    let err = write_npy_f32(&dir.path().join("bad.npy"), 2, 2, &[1.0]).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
}

#[test]
fn reads_versions_2_and_3_and_f16() {
    // f16 bit patterns: 0x3C00 = 1.0, 0xC000 = -2.0, 0x3800 = 0.5, 0x7BFF = 65504 (largest f16).
    let halves: Vec<u8> = [0x3C00u16, 0xC000, 0x3800, 0x7BFF]
        .iter()
        .flat_map(|h| h.to_le_bytes())
        .collect();
    let dict = "{'descr': '<f2', 'fortran_order': False, 'shape': (2, 2), }";
    let (_dir, _path, matrix) = read(&npy_bytes(2, dict, &halves));
    let matrix = matrix.unwrap();
    assert_eq!((matrix.rows, matrix.cols), (2, 2));
    assert_eq!(matrix.data, [1.0, -2.0, 0.5, 65504.0]);
    let dict = r#"{"shape": (1,3), "descr": "<f4", "fortran_order": False}"#;
    let (_dir, _path, matrix) = read(&npy_bytes(3, dict, &f32_bytes(&[1.5, 2.5, 3.5])));
    assert_eq!(matrix.unwrap().data, [1.5, 2.5, 3.5]);
}

#[test]
fn refusals_say_what_disagrees() {
    let four = f32_bytes(&[0.0; 4]);
    let dict = |descr: &str, fortran: &str, shape: &str| {
        format!("{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape}, }}")
    };
    let text = message(&npy_bytes(1, &dict("<f4", "True", "(2, 2)"), &four));
    assert!(text.starts_with("fortran_order is True"), "{text}");
    let text = message(&npy_bytes(1, &dict("<f4", "False", "(4,)"), &four));
    assert_eq!(text, "shape (4,) is 1-D but a 2-D (N, D) matrix is needed");
    let text = message(&npy_bytes(1, &dict("<f8", "False", "(2, 1)"), &four));
    assert_eq!(text, "dtype `<f8` is not supported (only <f4 and <f2)");
    // A lying shape: (3, 3) of <f4 is 36 bytes, the file holds 16 after its 128-byte header.
    let text = message(&npy_bytes(1, &dict("<f4", "False", "(3, 3)"), &four));
    assert_eq!(
        text,
        "shape (3, 3) of `<f4` needs 36 data bytes but the file holds 16 after its 128-byte header"
    );
    let text = message(&npy_bytes(1, "{'descr': '<f4', 'shape': [2, 2]}", &four));
    assert!(
        text.starts_with("expected a quoted key or string"),
        "{text}"
    );
    let text = message(&npy_bytes(1, "{'descr': '<f4', 'shape': (2, 2)}", &four));
    assert_eq!(text, "the header has no 'fortran_order' key");
    let mut bad_magic = npy_bytes(1, &dict("<f4", "False", "(2, 2)"), &four);
    bad_magic[1] = b'X';
    assert!(message(&bad_magic).starts_with("bad magic"));
    let mut long_header = npy_bytes(1, &dict("<f4", "False", "(2, 2)"), &[]);
    long_header[8] = 200;
    let text = message(&long_header);
    assert_eq!(
        text,
        "the header claims 200 bytes but the file ends after 118"
    );
    assert_eq!(
        message(b"\x93NUM"),
        "the file is too short for a .npy header"
    );
}
