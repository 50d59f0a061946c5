//! Numerical faults through the binary: a NaN loss stops training with an error naming the
//! node, epoch and step, keeping the last good checkpoint (a rerun resumes from it to an
//! uninterrupted run's exact results); a NaN feature row stops mining naming the row; a
//! checkpoint holding NaN weights is refused on resume, naming the file and tensor, and kept.

mod faulty;

use std::path::Path;

use faulty::{graph, run, stderr, succeed, OUTPUTS};

const EPOCHS: u64 = 3;

/// A run that must fail with exit code 1; returns its standard error.
fn fail(graph: &Path, runs: &Path, fault: Option<&str>) -> String {
    let out = run(graph, runs, fault);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    stderr(&out)
}

/// The checkpoint files left in the pretext node's folder.
fn checkpoints(runs: &Path) -> Vec<String> {
    let folder = runs.join("tiny/pretext/checkpoints");
    let mut names: Vec<_> = std::fs::read_dir(folder)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_nan_loss_stops_training_and_keeps_the_last_good_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let graph = graph(dir.path(), EPOCHS);
    let runs = dir.path().join("runs");
    // 100 images in batches of 50: two steps an epoch, so step 5 is epoch 2's first.
    let message = fail(&graph, &runs, Some("loss-nan:5"));
    assert!(
        message.contains("node `pretext` (SimClr) failed: loss is NaN at epoch 2, step 4"),
        "{message}"
    );
    assert_eq!(
        checkpoints(&runs),
        [
            "checkpoint-epoch-00001.safetensors",
            "checkpoint-epoch-00002.safetensors"
        ]
    );
    assert!(!runs.join("tiny/pretext/model.safetensors").exists());
    succeed(&graph, &runs);
    let whole = dir.path().join("whole");
    succeed(&graph, &whole);
    for file in OUTPUTS {
        let bytes = |runs: &Path| std::fs::read(runs.join(file)).unwrap();
        assert!(bytes(&runs) == bytes(&whole), "{file} differs");
    }
}

#[test]
fn a_nan_feature_row_stops_mining_and_names_the_row() {
    let dir = tempfile::tempdir().unwrap();
    let npy = dir.path().join("features.npy");
    let mut data: Vec<f32> = (0..40 * 8).map(|i| (i % 7) as f32 + 1.0).collect();
    data[7 * 8 + 3] = f32::NAN;
    scanflow::data::write_npy_f32(&npy, 40, 8, &data).unwrap();
    let text = format!(
        r#"Graph(name: "nan", nodes: {{
        "features": Features(source: Npy(path: "{}"), batch: 16),
        "neighbours": Knn(input: "features", k: 3, index: Exact),
    }})"#,
        npy.display()
    );
    let graph = dir.path().join("nan.ron");
    std::fs::write(&graph, text).unwrap();
    let message = fail(&graph, &dir.path().join("runs"), None);
    assert!(
        message.contains(
            "node `neighbours` (Knn) failed: feature row 7 holds a non-finite value (NaN) at column 3"
        ),
        "{message}"
    );
    assert!(!dir
        .path()
        .join("runs/nan/neighbours/neighbours.npy")
        .exists());
}

#[test]
fn a_checkpoint_with_nan_weights_is_refused_on_resume_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let graph = graph(dir.path(), EPOCHS);
    let runs = dir.path().join("runs");
    // Abort while writing the second checkpoint: the first is the one to resume from.
    let out = run(&graph, &runs, Some("checkpoint-write:2"));
    assert!(!out.status.success());
    let path = runs.join("tiny/pretext/checkpoints/checkpoint-epoch-00001.safetensors");
    let tensor = poison_first_weight(&path);
    let poisoned = std::fs::read(&path).unwrap();
    let message = fail(&graph, &runs, None);
    let expected = format!(
        "checkpoint `{}`: tensor `{tensor}` holds NaN or infinite values",
        path.display()
    );
    assert!(message.contains(&expected), "{message}");
    assert!(
        std::fs::read(&path).unwrap() == poisoned,
        "the file was touched"
    );
    assert!(!runs.join("tiny/pretext/model.safetensors").exists());
}

/// Overwrites the first value of the first `model.` f32 tensor of a safetensors file with
/// NaN (the format: u64 header length, JSON header with byte offsets, then the data); returns
/// the tensor's name.
fn poison_first_weight(path: &Path) -> String {
    let mut bytes = std::fs::read(path).unwrap();
    let len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + len]).unwrap();
    let (name, info) = header
        .as_object()
        .unwrap()
        .iter()
        .find(|(name, info)| name.starts_with("model.") && info["dtype"] == "F32")
        .unwrap();
    let start = 8 + len + info["data_offsets"][0].as_u64().unwrap() as usize;
    bytes[start..start + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    std::fs::write(path, bytes).unwrap();
    name.clone()
}
