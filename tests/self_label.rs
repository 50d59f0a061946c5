//! SCAN's self-labelling step end to end through the binary, after the tiny Scan graph of
//! `tests/scan.rs`: SelfLabel nodes on weak (SimClr) and strong (ScanStrong) views of the
//! same images write per-epoch history with confident counts and emit a cluster model that
//! Encode(output: Clusters) reads; views of different images are refused, naming both nodes.

mod tiny_scan;

use std::path::Path;

use tiny_scan::{fail, graph, json_lines, succeed, PAIRS, PER_CLASS};

/// Self-labelling nodes: `everything` (threshold 0: every sample is confident) feeding a
/// cluster encoding, `nothing` (threshold 0.999999: no sample of a 2-epoch Scan model is
/// that sure), and `guarded` (as `everything`, with the guard on the mined images), all on
/// weak views of `sl-images` and strong views of `strong`.
fn self_label_nodes(strong: &str) -> String {
    let archive = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/cifar10-jpg.tar.gz");
    format!(
        r#"
        "sl-images": Images(source: Folder(path: "{0}", split: "test"), batch: 50, per_class: 10, order: Shuffled, epochs: 2),
        "weak-views": Augment(input: "sl-images", views: 1, recipe: SimClr(size: (32, 32))),
        "strong-views": Augment(input: "{strong}", views: 1, recipe: ScanStrong(size: (32, 32))),
        "everything": SelfLabel(weak: "weak-views", strong: "strong-views", model: "scan", epochs: 2, threshold: 0.0),
        "nothing": SelfLabel(weak: "weak-views", strong: "strong-views", model: "scan", epochs: 2, threshold: 0.999999),
        "sl-clusters": Encode(input: "test-views", model: "everything", output: Clusters),
        "check-images": Images(source: Folder(path: "{0}", split: "test"), batch: 50, per_class: 10),
        "check-views": Augment(input: "check-images", views: 1, recipe: Eval(size: (32, 32))),
        "guarded": SelfLabel(weak: "weak-views", strong: "strong-views", model: "scan", epochs: 2, threshold: 0.0, check: "check-views", neighbours: "neighbours"),
        "guarded-clusters": Encode(input: "test-views", model: "guarded", output: Clusters),"#,
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
    check_guard(&runs.join("tiny"));

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

    // The guard needs both of its inputs.
    let half = self_label_nodes("sl-images").replace(", neighbours: \"neighbours\")", ")");
    let message = fail(
        &graph(dir.path(), ", clusters: 4", PAIRS, PER_CLASS, &half),
        &runs,
    );
    assert!(
        message.contains("node `guarded`: `check` is connected without `neighbours`"),
        "{message}"
    );
}

/// `guard.json` holds SCAN's objective of the Scan model and of the model `guarded` sent,
/// recomputed here from their probabilities on the 100 images (`clusters`,
/// `guarded-clusters`) and the mined table; a self-labelled model not sent is saved in
/// `self-labelled/`.
fn check_guard(tiny: &Path) {
    let guard: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tiny.join("guarded/guard.json")).unwrap()).unwrap();
    let kept = guard["kept"].as_str().unwrap();
    assert!(kept == "received" || kept == "self_labelled", "{guard}");
    // The self-labelled model the guard did not send is kept where `predict` can read it.
    let rejected = tiny.join("guarded/self-labelled");
    assert_eq!(
        rejected.join("model.safetensors").is_file() && rejected.join("model.json").is_file(),
        kept == "received",
        "{guard}"
    );
    let (received, sent) = (&guard["received"], &guard[kept]);
    assert!(
        sent["total"].as_f64() <= received["total"].as_f64(),
        "{guard}"
    );
    for (node, expected) in [("clusters", received), ("guarded-clusters", sent)] {
        let (consistency, entropy) = scan_objective(tiny, node);
        let close =
            |field: &str, value: f64| (expected[field].as_f64().unwrap() - value).abs() < 1e-4;
        assert!(
            close("consistency", consistency) && close("entropy", entropy),
            "{node}: {consistency} {entropy} against {guard}"
        );
    }
}

/// Consistency and entropy of node `node`'s cluster probabilities on the mined table, its
/// rows being the 100 dataset indices in ascending order.
fn scan_objective(tiny: &Path, node: &str) -> (f64, f64) {
    use scanflow::data::{read_npy_ids, read_npy_matrix, read_npy_u32};
    let probs = read_npy_matrix(&tiny.join(node).join("features.npy")).unwrap();
    let indices = read_npy_ids(&tiny.join(node).join("indices.npy")).unwrap();
    let (points, k, table) = read_npy_u32(&tiny.join("neighbours/neighbours.npy")).unwrap();
    let mut order: Vec<usize> = (0..points).collect();
    order.sort_by_key(|&r| indices[r]);
    let c = probs.cols;
    let row = |table_row: usize| &probs.data[order[table_row] * c..(order[table_row] + 1) * c];
    let mut consistency = 0.0;
    for a in 0..points {
        for &n in &table[a * k..(a + 1) * k] {
            let dot: f64 = row(a)
                .iter()
                .zip(row(n as usize))
                .map(|(p, q)| f64::from(p * q))
                .sum();
            consistency -= dot.max(1e-8).ln() / (points * k) as f64;
        }
    }
    let entropy = (0..c)
        .map(|j| (0..points).map(|r| f64::from(row(r)[j])).sum::<f64>() / points as f64)
        .map(|q| -q.max(1e-8) * q.max(1e-8).ln())
        .sum();
    (consistency, entropy)
}
