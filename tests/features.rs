//! `graphs/features.ron` end to end on a user's own embeddings: a generated `.npy` of ten
//! well-separated unit-norm Gaussian blobs (3,000 × 32) with its labels, pointed at with
//! `--set` overrides; both the SCAN heads and k-means must recover the blobs.

use std::path::Path;

use scanflow::data::{write_npy_f32, write_npy_u32};
use scanflow::knn::synthetic::clustered;
use scanflow::runtime::{NodeState, ProgressMode};
use scanflow::{Graph, Registry, RunOptions};

const POINTS: usize = 3000;
const DIM: usize = 32;

/// Ten blobs (standard normal centres, spread 1.5 per dimension) scaled onto the sphere.
fn write_blobs(dir: &Path) -> (String, String) {
    let (mut data, labels) = clustered(POINTS, DIM, 10, 1.5, 21);
    for row in data.chunks_exact_mut(DIM) {
        let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt();
        row.iter_mut().for_each(|v| *v /= norm);
    }
    let (features, label_file) = (dir.join("features.npy"), dir.join("labels.npy"));
    write_npy_f32(&features, POINTS, DIM, &data).unwrap();
    write_npy_u32(&label_file, POINTS, 1, &labels).unwrap();
    (
        features.display().to_string(),
        label_file.display().to_string(),
    )
}

fn accuracy(runs: &Path, node: &str) -> f64 {
    let text =
        std::fs::read_to_string(runs.join("features").join(node).join("metrics.json")).unwrap();
    let metrics: serde_json::Value = serde_json::from_str(&text).unwrap();
    metrics["acc_hungarian"]
        .as_f64()
        .unwrap_or_else(|| panic!("no acc_hungarian in {metrics}"))
}

#[test]
fn features_graph_clusters_user_embeddings_with_scan_and_kmeans() {
    let dir = tempfile::tempdir().unwrap();
    let (features, labels) = write_blobs(dir.path());
    let overrides = vec![
        format!("features.source=Npy(path: \"{features}\", labels: \"{labels}\")"),
        "scan.epochs=30".to_string(),
    ];
    let graph_file = Path::new(env!("CARGO_MANIFEST_DIR")).join("graphs/features.ron");
    let graph = Graph::from_file(&graph_file, &Registry::builtin(), &overrides).unwrap();
    let runs = dir.path().join("runs");
    let options = RunOptions {
        runs_dir: runs.clone(),
        progress: ProgressMode::Quiet,
        ..RunOptions::default()
    };
    let report = scanflow::run(graph, &options).unwrap();
    assert!(report.nodes.iter().all(|n| n.state == NodeState::Ran));
    let run = runs.join("features");
    for file in [
        "scan/heads.safetensors",
        "scan/history.jsonl",
        "kmeans/centroids.npy",
        "kmeans/summary.json",
        "scan-eval/assignments.csv",
    ] {
        assert!(run.join(file).is_file(), "{file} is missing");
    }
    let history = std::fs::read_to_string(run.join("scan/history.jsonl")).unwrap();
    assert_eq!(
        history.lines().count(),
        31,
        "30 epochs and the selection line"
    );
    assert!(history.lines().last().unwrap().contains("selected_head"));
    let (scan, kmeans) = (accuracy(&runs, "scan-eval"), accuracy(&runs, "kmeans-eval"));
    eprintln!("ACC scan {scan}, k-means {kmeans}");
    assert!(
        scan > 0.8 && kmeans > 0.8,
        "ACC scan {scan}, k-means {kmeans} (chance 0.1)"
    );
}

fn run_text(text: &str, runs: &Path) -> Result<scanflow::RunReport, scanflow::RunFailure> {
    let source = scanflow::spec::SourceText::new("fit.ron", text);
    let graph = Graph::from_source(source, &Registry::builtin(), &[]).unwrap();
    let options = RunOptions {
        runs_dir: runs.to_path_buf(),
        progress: ProgressMode::Quiet,
        ..RunOptions::default()
    };
    scanflow::run(graph, &options)
}

#[test]
fn kmeans_fits_one_stream_and_assigns_another() {
    let dir = tempfile::tempdir().unwrap();
    let (features, labels) = write_blobs(dir.path());
    let (test, _) = clustered(200, DIM, 10, 1.5, 21);
    let test_file = dir.path().join("test.npy");
    write_npy_f32(&test_file, 200, DIM, &test).unwrap();
    let text = format!(
        r#"Graph(name: "fit", nodes: {{
            "train": Features(source: Npy(path: "{features}", labels: "{labels}")),
            "test": Features(source: Npy(path: "{}")),
            "kmeans": KMeans(input: "train", assign: "test", clusters: 10, restarts: 2),
            "eval": Evaluate(input: "kmeans"),
        }})"#,
        test_file.display()
    );
    let report = run_text(&text, &dir.path().join("runs")).unwrap();
    assert_eq!(report.node("eval").unwrap().items_in, 200);
    let summary = std::fs::read_to_string(dir.path().join("runs/fit/kmeans/summary.json")).unwrap();
    let summary: serde_json::Value = serde_json::from_str(&summary).unwrap();
    assert_eq!(summary["restarts"].as_array().unwrap().len(), 2);
    assert_eq!(summary["points"], 3000);
}

#[test]
fn more_clusters_than_points_names_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("few.npy");
    write_npy_f32(&file, 3, 2, &[0.0, 1.0, 1.0, 0.0, 1.0, 1.0]).unwrap();
    let text = format!(
        r#"Graph(name: "fit", nodes: {{
            "few": Features(source: Npy(path: "{}")),
            "kmeans": KMeans(input: "few", clusters: 5),
        }})"#,
        file.display()
    );
    let failure = run_text(&text, &dir.path().join("runs")).unwrap_err();
    let message = format!("{failure:?}");
    assert!(
        message.contains("`clusters` is 5 but only 3 points"),
        "{message}"
    );
}
