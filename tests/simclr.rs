//! Contrastive pretext training end to end through the binary, on a tiny real CIFAR-10
//! subset: the model artifact and history appear, a killed run resumes from its checkpoint
//! to the same final weights as an uninterrupted one, and mining runs on the features.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn graph(dir: &Path, epochs: u64) -> PathBuf {
    let archive = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/cifar10-jpg.tar.gz");
    let text = format!(
        r#"Graph(
    name: "tiny",
    seed: 3,
    nodes: {{
        "train": Images(source: Folder(path: "{a}", split: "test"), batch: 50, per_class: 10, order: Shuffled, epochs: {epochs}),
        "views": Augment(input: "train", views: 2, recipe: SimClr(size: (32, 32))),
        "monitor": Images(source: Folder(path: "{a}", split: "test"), batch: 50, per_class: 10),
        "monitor-views": Augment(input: "monitor", views: 1, recipe: Eval(size: (32, 32))),
        "pretext": SimClr(input: "views", monitor: "monitor-views", encoder: SmallCnn(widths: [8, 16, 16, 16]),
                          head: Mlp(out: 16), epochs: {epochs}),
        "features": Encode(input: "monitor-views", model: "pretext"),
        "neighbours": Knn(input: "features", k: 5, index: Exact),
    }},
)"#,
        a = archive.display()
    );
    let path = dir.join("tiny.ron");
    std::fs::write(&path, text).unwrap();
    path
}

fn command(graph: &Path, runs: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_scanflow"));
    command
        .args(["run", "-q", "--runs-dir"])
        .arg(runs)
        .arg(graph)
        .env("RAYON_NUM_THREADS", "2");
    command
}

fn run(graph: &Path, runs: &Path) {
    let out = command(graph, runs).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn training_writes_model_history_and_feeds_mining() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    run(&graph(dir.path(), 2), &runs);
    let node = runs.join("tiny/pretext");
    for file in [
        "model.safetensors",
        "encoder.safetensors",
        "model.json",
        "history.jsonl",
    ] {
        assert!(node.join(file).is_file(), "missing {file}");
    }
    let history = std::fs::read_to_string(node.join("history.jsonl")).unwrap();
    assert_eq!(
        history.lines().filter(|l| l.contains("\"loss\"")).count(),
        2
    );
    assert!(history.contains("final_knn_accuracy"), "{history}");
    let quality = std::fs::read_to_string(runs.join("tiny/neighbours/quality.json")).unwrap();
    assert!(quality.contains("label_agreement"), "{quality}");
    assert!(runs.join("tiny/features/features.npy").is_file());
}

#[test]
fn a_fresh_run_trains_again_instead_of_resuming() {
    let dir = tempfile::tempdir().unwrap();
    let (graph, runs) = (graph(dir.path(), 2), dir.path().join("runs"));
    run(&graph, &runs);
    let checkpoint = runs.join("tiny/pretext/checkpoints/checkpoint-epoch-00002.safetensors");
    let written = || std::fs::metadata(&checkpoint).unwrap().modified().unwrap();
    let first = written();
    let out = command(&graph, &runs).arg("--fresh").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        written() > first,
        "the last checkpoint was resumed, not trained again"
    );
    let history = std::fs::read_to_string(runs.join("tiny/pretext/history.jsonl")).unwrap();
    assert_eq!(
        history.lines().filter(|l| l.contains("\"loss\"")).count(),
        2
    );
}

#[test]
fn a_killed_run_resumes_to_the_same_weights() {
    let dir = tempfile::tempdir().unwrap();
    let graph = graph(dir.path(), 4);
    let whole = dir.path().join("whole");
    run(&graph, &whole);
    let resumed = dir.path().join("resumed");
    let checkpoints = resumed.join("tiny/pretext/checkpoints");
    let mut child = command(&graph, &resumed)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !has_checkpoint(&checkpoints) && start.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(has_checkpoint(&checkpoints), "no checkpoint was written");
    let finished = resumed.join("tiny/pretext/done.json");
    assert!(
        !finished.exists(),
        "the run ended before it could be killed"
    );
    run(&graph, &resumed);
    let weights = |runs: &Path| std::fs::read(runs.join("tiny/pretext/model.safetensors")).unwrap();
    assert!(
        weights(&whole) == weights(&resumed),
        "resumed weights differ"
    );
}

fn has_checkpoint(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.file_name().to_string_lossy().ends_with(".safetensors"))
    })
}
