//! SCAN's self-labelling step end to end through the binary, after the tiny Scan graph of
//! `tests/scan.rs`: SelfLabel nodes on weak (SimClr) and strong (ScanStrong) views of the
//! same images write per-epoch history with confident counts and emit a cluster model that
//! Encode(output: Clusters) reads; views of different images are refused, naming both nodes.

mod tiny_scan;

use std::path::Path;

use tiny_scan::{fail, graph, json_lines, succeed, PAIRS, PER_CLASS};

/// Self-labelling nodes: `everything` (threshold 0: every sample is confident) feeding a
/// cluster encoding, and `nothing` (threshold 0.999999: no sample of a 2-epoch Scan model
/// is that sure), both on weak views of `sl-images` and strong views of `strong`.
fn self_label_nodes(strong: &str) -> String {
    let archive = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/cifar10-jpg.tar.gz");
    format!(
        r#"
        "sl-images": Images(source: Folder(path: "{}", split: "test"), batch: 50, per_class: 10, order: Shuffled, epochs: 2),
        "weak-views": Augment(input: "sl-images", views: 1, recipe: SimClr(size: (32, 32))),
        "strong-views": Augment(input: "{strong}", views: 1, recipe: ScanStrong(size: (32, 32))),
        "everything": SelfLabel(weak: "weak-views", strong: "strong-views", model: "scan", epochs: 2, threshold: 0.0),
        "nothing": SelfLabel(weak: "weak-views", strong: "strong-views", model: "scan", epochs: 2, threshold: 0.999999),
        "sl-clusters": Encode(input: "test-views", model: "everything", output: Clusters),"#,
        archive.display()
    )
}

#[test]
fn self_labelling_runs_after_scan_and_refuses_mismatched_views() {
    let dir = tempfile::tempdir().unwrap();
    // One runs folder: the second graph reuses the cached pretext, neighbours and Scan model.
    let runs = dir.path().join("runs");
    let nodes = self_label_nodes("sl-images");
    succeed(
        &graph(dir.path(), ", clusters: 4", PAIRS, PER_CLASS, &nodes),
        &runs,
    );
    let history = json_lines(&runs.join("tiny/everything/history.jsonl"));
    assert_eq!(history.len(), 2, "{history:?}");
    for (epoch, line) in history.iter().enumerate() {
        // 100 images in batches of 50, each over a threshold of 0.
        assert_eq!(line["epoch"], epoch);
        assert_eq!(
            (line["steps"].as_u64(), line["skipped_steps"].as_u64()),
            (Some(2), Some(0))
        );
        assert_eq!(line["confident"], 100, "{line}");
        assert_eq!(line["confident_fraction"], 1.0, "{line}");
        let loss = line["loss"].as_f64().unwrap();
        assert!(loss.is_finite() && loss >= 0.0, "{line}");
    }
    let nothing = json_lines(&runs.join("tiny/nothing/history.jsonl"));
    assert_eq!(nothing[0]["skipped_steps"], 2, "{:?}", nothing[0]);
    assert_eq!(nothing[0]["confident"], 0);
    assert!(nothing[0]["loss"].is_null());
    let model: serde_json::Value =
        serde_json::from_slice(&std::fs::read(runs.join("tiny/everything/model.json")).unwrap())
            .unwrap();
    assert_eq!(model["producer"], "SelfLabel");
    assert_eq!(model["architecture"]["clusters"], 4);
    let features = runs.join("tiny/sl-clusters/features.npy");
    let probabilities = scanflow::data::read_npy_matrix(&features).unwrap();
    assert_eq!((probabilities.rows, probabilities.cols), (100, 4));

    // Strong views of the test images in file order against weak views of shuffled ones.
    let crossed = self_label_nodes("test");
    let message = fail(
        &graph(dir.path(), ", clusters: 4", PAIRS, PER_CLASS, &crossed),
        &runs,
    );
    assert!(
        message.contains("`weak` (node `weak-views`)")
            && message.contains("`strong` (node `strong-views`)")
            && message.contains("same images"),
        "{message}"
    );
}
