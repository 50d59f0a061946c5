//! The tiny pretext graph the crash and numerical-fault tests share (Images → Augment →
//! SimClr → Encode → Knn(HNSW) on 100 real CIFAR-10 test images), run through the binary
//! with or without a fault point armed (`SCANFLOW_FAULT`, see `scanflow::fault`). The
//! tests compare neighbour tables byte for byte, which the HNSW build gives on any number of
//! workers; the graph uses two.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Writes the graph (`epochs` pretext epochs) into `dir`; returns its path.
pub fn graph(dir: &Path, epochs: u64) -> PathBuf {
    let archive = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/cifar10-jpg.tar.gz");
    let text = format!(
        r#"Graph(
    name: "tiny",
    seed: 7,
    nodes: {{
        "train": Images(source: Folder(path: "{a}", split: "test"), batch: 50, per_class: 10, order: Shuffled, epochs: {epochs}),
        "views": Augment(input: "train", views: 2, recipe: SimClr(size: (32, 32))),
        "pretext": SimClr(input: "views", encoder: SmallCnn(widths: [8, 16, 16, 16]), head: Mlp(out: 16), epochs: {epochs}),
        "eval": Images(source: Folder(path: "{a}", split: "test"), batch: 50, per_class: 10),
        "eval-views": Augment(input: "eval", views: 1, recipe: Eval(size: (32, 32))),
        "features": Encode(input: "eval-views", model: "pretext"),
        "neighbours": Knn(input: "features", k: 5, index: Hnsw(m: 8, ef_construction: 64, ef_search: 64), workers: 2),
    }},
)"#,
        a = archive.display()
    );
    let path = dir.join("tiny.ron");
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs `graph` into `runs`, with `fault` armed when given.
pub fn run(graph: &Path, runs: &Path, fault: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_scanflow"));
    command
        .args(["run", "-q", "--runs-dir"])
        .arg(runs)
        .arg(graph)
        .env("RAYON_NUM_THREADS", "2")
        .env_remove("SCANFLOW_FAULT");
    if let Some(fault) = fault {
        command.env("SCANFLOW_FAULT", fault);
    }
    command.output().unwrap()
}

/// Runs `graph` into `runs` and asserts it succeeded.
pub fn succeed(graph: &Path, runs: &Path) {
    let out = run(graph, runs, None);
    assert!(out.status.success(), "{}", stderr(&out));
}

/// The run's standard error as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The names of the temporary files (`.<name>.tmp-<pid>`) in `dir`.
pub fn temp_files(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with('.') && name.contains(".tmp-"))
        .collect()
}

/// The files whose bytes a finished run must reproduce: weights, features, neighbours.
pub const OUTPUTS: [&str; 4] = [
    "tiny/pretext/model.safetensors",
    "tiny/features/features.npy",
    "tiny/neighbours/neighbours.npy",
    "tiny/neighbours/similarities.npy",
];
