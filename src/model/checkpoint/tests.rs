//! Tests of the checkpoint file: round trip, refusal of damaged, foreign, future and
//! non-finite files (naming file and tensor), file rotation, and restoring parameters.

mod resume;

use super::*;
use candle_core::{DType, Device};
use std::fs;

fn sample() -> Checkpoint {
    let mut checkpoint = Checkpoint::new(12, 3456, 0xDEAD_BEEF_0123_4567);
    checkpoint
        .meta
        .fields
        .insert("cursor".into(), serde_json::json!(17));
    let cpu = Device::Cpu;
    let tensors = vec![
        (
            "w".to_string(),
            Tensor::new(&[[1.5f32, -2.0, 3.25], [0.0, 1e-30, -7.0]], &cpu).unwrap(),
        ),
        ("steps".to_string(), Tensor::new(41.0f64, &cpu).unwrap()),
        (
            "half".to_string(),
            Tensor::new(&[0.5f32, -8.0], &cpu)
                .unwrap()
                .to_dtype(DType::BF16)
                .unwrap(),
        ),
        ("ids".to_string(), Tensor::new(&[7u32, 9], &cpu).unwrap()),
        (
            "big".to_string(),
            Tensor::new(&[i64::MIN, 5], &cpu).unwrap(),
        ),
        (
            "bytes".to_string(),
            Tensor::new(&[255u8, 0, 3], &cpu).unwrap(),
        ),
    ];
    checkpoint.insert_tensors("model.", &tensors).unwrap();
    checkpoint
}

fn f64s(t: &Tensor) -> Vec<f64> {
    t.flatten_all()
        .unwrap()
        .to_dtype(DType::F64)
        .unwrap()
        .to_vec1::<f64>()
        .unwrap()
}

#[test]
fn round_trip_keeps_metadata_types_shapes_and_values() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.safetensors");
    let original = sample();
    original.save(&path).unwrap();
    let loaded = Checkpoint::load(&path).unwrap();
    assert_eq!(loaded.meta, original.meta);
    for (name, tensor) in original.tensors_with_prefix("model.") {
        let back = loaded.tensor(&format!("model.{name}")).unwrap();
        assert_eq!(
            (back.dtype(), back.dims()),
            (tensor.dtype(), tensor.dims()),
            "{name}"
        );
        if tensor.dtype() == DType::I64 {
            assert_eq!(
                back.to_vec1::<i64>().unwrap(),
                tensor.to_vec1::<i64>().unwrap()
            );
        } else {
            assert_eq!(f64s(back), f64s(&tensor), "{name}");
        }
    }
    assert_eq!(loaded.tensors_with_prefix("model.").len(), 6);
    assert!(loaded.tensors_with_prefix("optim.").is_empty());
}

#[test]
fn truncated_files_are_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("full.safetensors");
    sample().save(&path).unwrap();
    let bytes = fs::read(&path).unwrap();
    for keep in [bytes.len() - 1, 40, 3] {
        let cut = dir.path().join(format!("cut-{keep}.safetensors"));
        fs::write(&cut, &bytes[..keep]).unwrap();
        let err = Checkpoint::load(&cut).unwrap_err();
        assert!(
            matches!(err, CheckpointError::Truncated { actual, .. } if actual == keep as u64),
            "{err}"
        );
        assert!(
            err.to_string().contains(&format!("cut-{keep}.safetensors")),
            "{err}"
        );
    }
}

#[test]
fn foreign_files_are_not_safetensors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.safetensors");
    fs::write(&path, "these are not tensors, just some words").unwrap();
    let err = Checkpoint::load(&path).unwrap_err();
    assert!(
        matches!(err, CheckpointError::NotSafetensors { .. }),
        "{err}"
    );
    assert!(err.to_string().starts_with(&format!(
        "checkpoint `{}` is not a safetensors file",
        path.display()
    )));
    let missing = Checkpoint::load(&dir.path().join("absent.safetensors")).unwrap_err();
    assert!(
        matches!(missing, CheckpointError::Io { .. })
            && missing.to_string().contains("absent.safetensors")
    );
}

/// A safetensors file with one f32 tensor `x` and the given `__metadata__`.
fn raw_file(path: &Path, values: &[f32], metadata: Option<(&str, String)>) {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    let view =
        safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![values.len()], &bytes)
            .unwrap();
    let metadata = metadata.map(|(k, v)| std::collections::HashMap::from([(k.to_string(), v)]));
    fs::write(
        path,
        safetensors::serialize([("x", view)], metadata).unwrap(),
    )
    .unwrap();
}

#[test]
fn other_versions_and_plain_safetensors_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let future = dir.path().join("future.safetensors");
    let json =
        r#"{"format_version": 99, "epoch": 1, "step": 2, "rng_state": 3, "new_field": true}"#;
    raw_file(&future, &[1.0], Some(("scanflow", json.to_string())));
    let err = Checkpoint::load(&future).unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "checkpoint `{}` has format version 99; this build reads version 1",
            future.display()
        )
    );
    let plain = dir.path().join("plain.safetensors");
    raw_file(&plain, &[1.0], None);
    let err = Checkpoint::load(&plain).unwrap_err();
    assert!(
        matches!(err, CheckpointError::BadMetadata { .. })
            && err.to_string().contains("no `scanflow` entry"),
        "{err}"
    );
}

#[test]
fn non_finite_tensors_are_neither_written_nor_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("good.safetensors");
    sample().save(&path).unwrap();
    let before = fs::read(&path).unwrap();
    let mut bad = sample();
    let nan = Tensor::new(&[1.0f32, f32::NAN], &Device::Cpu).unwrap();
    bad.insert_tensors("optim.", &[("w.exp_avg".to_string(), nan)])
        .unwrap();
    let err = bad.save(&path).unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "checkpoint `{}`: tensor `optim.w.exp_avg` holds NaN or infinite values",
            path.display()
        )
    );
    assert_eq!(
        fs::read(&path).unwrap(),
        before,
        "the good checkpoint is kept"
    );
    let meta = serde_json::to_string(&sample().meta).unwrap();
    let infinite = dir.path().join("inf.safetensors");
    raw_file(&infinite, &[0.0, f32::INFINITY], Some(("scanflow", meta)));
    let err = Checkpoint::load(&infinite).unwrap_err();
    assert!(
        matches!(err, CheckpointError::NonFinite { ref tensor, .. } if tensor == "x"),
        "{err}"
    );
}

#[test]
fn save_in_keeps_the_newest_two_and_latest_finds_the_newest() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(latest_in(&dir.path().join("missing")), None);
    fs::write(dir.path().join("checkpoint-epoch-x.safetensors"), "").unwrap();
    fs::write(
        dir.path().join(".checkpoint-epoch-00099.safetensors.tmp-1"),
        "",
    )
    .unwrap();
    assert_eq!(latest_in(dir.path()), None);
    for epoch in [1, 2, 3, 4] {
        let mut checkpoint = sample();
        checkpoint.meta.epoch = epoch;
        let path = checkpoint.save_in(dir.path(), 2).unwrap();
        assert_eq!(
            path,
            dir.path()
                .join(format!("checkpoint-epoch-{epoch:05}.safetensors"))
        );
    }
    let mut names: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("checkpoint-epoch-0"))
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "checkpoint-epoch-00003.safetensors",
            "checkpoint-epoch-00004.safetensors"
        ]
    );
    assert_eq!(latest_in(dir.path()), Some(checkpoint_path(dir.path(), 4)));
    assert_eq!(
        Checkpoint::load(&checkpoint_path(dir.path(), 4))
            .unwrap()
            .meta
            .epoch,
        4
    );
}

#[test]
fn restore_vars_converts_types_and_names_what_does_not_fit() {
    let checkpoint = sample();
    let w = Var::zeros((2, 3), DType::F64, &Device::Cpu).unwrap();
    checkpoint
        .restore_vars("model.", &[("w".to_string(), w.clone())])
        .unwrap();
    assert_eq!(
        f64s(w.as_tensor()),
        [1.5, -2.0, 3.25, 0.0, 1e-30f32 as f64, -7.0]
    );
    let wrong = Var::zeros((3, 2), DType::F32, &Device::Cpu).unwrap();
    let err = checkpoint
        .restore_vars("model.", &[("w".to_string(), wrong)])
        .unwrap_err()
        .to_string();
    assert!(
        err.ends_with("tensor `model.w` has shape [2, 3] but the model needs [3, 2]"),
        "{err}"
    );
    let err = checkpoint.tensor("model.v").unwrap_err().to_string();
    assert!(err.ends_with("has no tensor `model.v`"), "{err}");
}

#[test]
fn non_finite_loss_names_epoch_and_step() {
    assert!(check_finite(0.25, 0, 0).is_ok());
    let err = check_finite(f32::NAN, 3, 41).unwrap_err().to_string();
    assert!(
        err.starts_with("loss is NaN at epoch 3, step 41: training diverged"),
        "{err}"
    );
    let err = check_finite(f32::INFINITY, 0, 7).unwrap_err().to_string();
    assert!(err.starts_with("loss is inf at epoch 0, step 7"), "{err}");
}
