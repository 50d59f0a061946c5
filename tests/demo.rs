//! `graphs/demo.ron` end to end through the binary, shrunk with `--set` to 100 training
//! images per class and 5 pretext epochs without a time budget (so the run is
//! deterministic and takes about a minute on a loaded 2-core machine): every artifact
//! exists, the clustering beats chance, and a second run that changes only the Scan node
//! replays the pretext model and the neighbours instead of recomputing them.

use std::path::Path;
use std::process::Command;
use std::time::SystemTime;

use serde_json::Value;

/// The overrides that shrink the demo for a test.
const SMALL: [&str; 6] = [
    "train.per_class=100",
    "train-eval.per_class=100",
    "pair-images.per_class=100",
    "train.epochs=5",
    "pretext.epochs=5",
    "pretext.budget_minutes=None",
];

/// Runs the demo from the crate root (its data path is relative to it) into `runs`.
fn run_demo(runs: &Path, extra: &[&str]) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_scanflow"));
    command
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["run", "-q", "--runs-dir"])
        .arg(runs)
        .env("RAYON_NUM_THREADS", "2");
    for set in SMALL.iter().chain(extra) {
        command.args(["--set", set]);
    }
    let out = command.arg("graphs/demo.ron").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn modified(path: &Path) -> SystemTime {
    std::fs::metadata(path).unwrap().modified().unwrap()
}

/// Each node's state in the run's `metrics.json`.
fn state(demo: &Path, node: &str) -> String {
    let run = read_json(&demo.join("metrics.json"));
    let nodes = run["nodes"].as_array().unwrap();
    let entry = nodes.iter().find(|n| n["id"] == node).unwrap();
    entry["state"].as_str().unwrap().to_string()
}

#[test]
fn demo_graph_runs_end_to_end_and_reuses_pretext_and_mining() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    run_demo(&runs, &[]);
    let demo = runs.join("demo");
    for file in [
        "pretext/model.json",
        "scan/model.json",
        "neighbours/neighbours.npy",
        "neighbours/quality.json",
        "evaluate/metrics.json",
        "evaluate/assignments.csv",
        "evaluate/prototypes.png",
        "evaluate/confusion.png",
    ] {
        assert!(demo.join(file).is_file(), "no {file}");
    }
    let metrics = read_json(&demo.join("evaluate/metrics.json"));
    let acc = metrics["acc_hungarian"].as_f64().unwrap();
    // Measured: ACC 0.217, NMI 0.112, ARI 0.061 (neighbour label agreement 0.216). Chance
    // is 0.1 plus the matching's optimism, about 0.12 for 1,000 images.
    assert!(acc > 0.16, "ACC {acc}: {metrics}");
    let csv = std::fs::read_to_string(demo.join("evaluate/assignments.csv")).unwrap();
    let first = csv.lines().nth(1).unwrap();
    assert!(
        first.starts_with("0,") && first.contains("cifar10/test/airplane/0000.jpg"),
        "{first}"
    );
    assert_eq!(csv.lines().count(), 1001);

    let pretext = demo.join("pretext/model.safetensors");
    let neighbours = demo.join("neighbours/neighbours.npy");
    let before = (modified(&pretext), modified(&neighbours));
    run_demo(&runs, &["scan.heads=3"]);
    assert_eq!(
        (state(&demo, "pretext"), state(&demo, "neighbours")),
        ("cached".into(), "cached".into())
    );
    assert_eq!(state(&demo, "scan"), "ran");
    assert_eq!(before, (modified(&pretext), modified(&neighbours)));
    let scan = read_json(&demo.join("scan/model.json"));
    assert_eq!(scan["architecture"]["heads"], 3);
}
