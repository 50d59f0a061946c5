//! Broken data-set and model files: CIFAR record files of the wrong length, `.npy` files
//! whose header lies, and safetensors files with wrong shapes, dtypes or a lying header.

use std::fs;
use std::path::Path;

use candle_core::{DType, Device, Tensor};
use scanflow::data::{read_npy_matrix, Cifar, CifarKind, CifarSplit, DataError};
use scanflow::model::{ContrastiveModel, EncoderKind, HeadKind, ModelError, TensorProblem};

use super::{names, refused};

/// Bytes of one CIFAR-10 record: a label byte and 32×32×3 pixels.
const RECORD: usize = 1 + 3 * 32 * 32;

/// A `cifar-10-batches-bin` folder under `dir` whose five training files hold `records`
/// records each, except `data_batch_3.bin`, which holds `odd_len` bytes.
fn cifar_folder(dir: &Path, records: usize, odd_len: usize) -> std::path::PathBuf {
    let folder = dir.join("cifar-10-batches-bin");
    fs::create_dir(&folder).unwrap();
    for i in 1..=5 {
        let len = if i == 3 { odd_len } else { records * RECORD };
        fs::write(folder.join(format!("data_batch_{i}.bin")), vec![1u8; len]).unwrap();
    }
    folder
}

#[test]
fn cifar_file_of_a_wrong_length_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let folder = cifar_folder(dir.path(), 2, 2 * RECORD + 100);
    let error = refused(Cifar::open_expecting(
        dir.path(),
        CifarKind::Cifar10,
        CifarSplit::Train,
        2,
    ));
    assert!(matches!(error, DataError::RecordLength { .. }), "{error}");
    names(
        &error,
        &folder.join("data_batch_3.bin").display().to_string(),
    );
}

#[test]
fn cifar_file_with_records_missing_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let folder = cifar_folder(dir.path(), 2, RECORD);
    let error = refused(Cifar::open_expecting(
        dir.path(),
        CifarKind::Cifar10,
        CifarSplit::Train,
        2,
    ));
    assert!(matches!(error, DataError::RecordCount { .. }), "{error}");
    names(
        &error,
        &folder.join("data_batch_3.bin").display().to_string(),
    );
}

/// A version 1.0 `.npy` file with header dict `dict` followed by `data`.
fn npy(dict: &str, data: &[u8]) -> Vec<u8> {
    let mut header = dict.to_string();
    while !(10 + header.len() + 1).is_multiple_of(64) {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

#[test]
fn npy_whose_header_lies_is_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let six_floats = [0u8; 24];
    let cases: [(&str, Vec<u8>); 5] = [
        // 10^12 × 10^12 floats announced, 6 present: refused without allocating.
        ("huge.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000000, 1000000000000), }", &six_floats)),
        ("short.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 4), }", &six_floats)),
        ("dtype.npy", npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", &six_floats)),
        ("garbage.npy", npy("{'descr': '<f4', 'shape': (2, 3", &six_floats)),
        // A header length pointing far past the end of the file.
        ("len.npy", b"\x93NUMPY\x01\x00\xff\xff{'descr'".to_vec()),
    ];
    for (name, bytes) in cases {
        let path = dir.path().join(name);
        fs::write(&path, bytes).unwrap();
        let error = read_npy_matrix(&path).unwrap_err();
        assert!(matches!(error, DataError::Npy { .. }), "{name}: {error}");
        names(&error, &path.display().to_string());
    }
}

/// A small contrastive model on the CPU.
fn model() -> ContrastiveModel {
    let encoder = EncoderKind::small_cnn(vec![4, 8]);
    let head = HeadKind::Mlp {
        hidden: None,
        out: 8,
        batch_norm: false,
    };
    ContrastiveModel::new(&encoder, &head, 0, &Device::Cpu).unwrap()
}

#[test]
fn user_encoder_file_with_wrong_shapes_and_dtypes_is_refused_naming_file_and_tensors() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("encoder.safetensors");
    model().save_encoder(&good).unwrap();
    let mut tensors = candle_core::safetensors::load(&good, &Device::Cpu).unwrap();
    let mut tensor_names: Vec<String> = tensors.keys().cloned().collect();
    tensor_names.sort();
    let reshaped = tensor_names
        .iter()
        .find(|n| tensors[*n].rank() >= 2)
        .unwrap()
        .clone();
    let widened = tensor_names
        .iter()
        .find(|n| **n != reshaped)
        .unwrap()
        .clone();
    let flat = tensors[&reshaped].flatten_all().unwrap();
    tensors.insert(reshaped.clone(), flat);
    let double = tensors[&widened].to_dtype(DType::F64).unwrap();
    tensors.insert(widened.clone(), double);
    let bad = dir.path().join("user.safetensors");
    candle_core::safetensors::save(&tensors, &bad).unwrap();

    let target = model();
    let before = target
        .features(&Tensor::ones((1, 8, 8, 3), DType::F32, &Device::Cpu).unwrap())
        .unwrap();
    let error = target.load_encoder(&bad).unwrap_err();
    let ModelError::Load { path, problems } = &error else {
        panic!("expected a Load error, got {error}");
    };
    assert_eq!(path, &bad);
    assert!(
        problems
            .iter()
            .any(|p| matches!(p, TensorProblem::Shape { name, .. } if *name == reshaped)),
        "{error}"
    );
    assert!(problems.iter().any(|p| matches!(p, TensorProblem::Dtype { name, found } if *name == widened && found == "F64")), "{error}");
    names(&error, &bad.display().to_string());
    // Nothing was loaded: the model computes what it did before.
    let after = target
        .features(&Tensor::ones((1, 8, 8, 3), DType::F32, &Device::Cpu).unwrap())
        .unwrap();
    let diff = (before - after)
        .unwrap()
        .abs()
        .unwrap()
        .sum_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
    assert_eq!(diff, 0.0);
}

#[test]
fn safetensors_with_a_lying_or_cut_header_is_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("encoder.safetensors");
    model().save_encoder(&good).unwrap();
    let bytes = fs::read(&good).unwrap();
    let mut lying = bytes.clone();
    lying[..8].copy_from_slice(&(1u64 << 40).to_le_bytes());
    let cases = [
        ("lying.safetensors", lying),
        ("cut.safetensors", bytes[..bytes.len() / 2].to_vec()),
    ];
    for (name, bytes) in cases {
        let path = dir.path().join(name);
        fs::write(&path, bytes).unwrap();
        let error = model().load_encoder(&path).unwrap_err();
        assert!(matches!(error, ModelError::Read { .. }), "{name}: {error}");
        names(&error, &path.display().to_string());
    }
}
