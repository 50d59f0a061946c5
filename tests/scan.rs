//! SCAN's clustering step end to end through the binary, on a tiny real CIFAR-10 subset:
//! Images → Augment → SimClr → Encode → Knn → Augment(neighbours) → Scan → Encode(Clusters).
//! Checks the artifacts, the per-head history and the selected head, that the frozen-encoder
//! Keras variant is deterministic, and the errors for bad settings.

mod tiny_scan;

use std::path::Path;

use tiny_scan::{fail, graph, json_lines, succeed, PAIRS, PER_CLASS};

#[test]
fn scan_trains_heads_selects_one_and_feeds_cluster_encoding() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let first = graph(dir.path(), ", clusters: 20, heads: 3", PAIRS, PER_CLASS, "");
    succeed(&first, &runs);
    let node = runs.join("tiny/scan");
    let history = json_lines(&node.join("history.jsonl"));
    assert_eq!(history.len(), 3, "2 epochs and the selection: {history:?}");
    for epoch in &history[..2] {
        let heads = epoch["heads"].as_array().unwrap();
        assert_eq!(heads.len(), 3);
        for head in heads {
            let (c, h, t) = (
                head["consistency"].as_f64().unwrap(),
                head["entropy"].as_f64().unwrap(),
                head["total"].as_f64().unwrap(),
            );
            // Scan loss: total = consistency − 5·H, H ≤ ln 20 (per batch, so also on average).
            assert!((t - (c - 5.0 * h)).abs() < 1e-4, "{head}");
            assert!(h <= 20f64.ln() + 1e-6 && c >= 0.0, "{head}");
        }
    }
    let totals: Vec<f64> = history[1]["heads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["total"].as_f64().unwrap())
        .collect();
    let best = (0..3)
        .min_by(|&a, &b| totals[a].total_cmp(&totals[b]))
        .unwrap();
    assert_eq!(history[2]["selected_head"], best);
    let model: serde_json::Value =
        serde_json::from_slice(&std::fs::read(node.join("model.json")).unwrap()).unwrap();
    let arch = &model["architecture"];
    assert_eq!(
        (arch["clusters"].as_u64(), arch["heads"].as_u64()),
        (Some(20), Some(3))
    );
    assert_eq!(arch["selected_head"], best);
    assert_eq!(arch["input_size"], serde_json::json!([32, 32]));
    assert!(node.join("model.safetensors").is_file());
    let probabilities =
        scanflow::data::read_npy_matrix(&runs.join("tiny/clusters/features.npy")).unwrap();
    assert_eq!((probabilities.rows, probabilities.cols), (100, 20));
    for row in probabilities.data.chunks(20) {
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-4);
    }
    // Editing the Scan node trains it again from scratch: its history then describes the
    // new run alone, not the old epochs followed by the new ones.
    let scan = ", clusters: 20, heads: 3, entropy_weight: 4.0";
    succeed(&graph(dir.path(), scan, PAIRS, PER_CLASS, ""), &runs);
    let history = json_lines(&node.join("history.jsonl"));
    assert_eq!(
        history.len(),
        3,
        "the new 2 epochs and selection: {history:?}"
    );
}

#[test]
fn the_frozen_keras_variant_is_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let scan = ", clusters: 4, loss: Keras, update_encoder: false, optimizer: AdamW(lr: 5e-4)";
    let graph = graph(dir.path(), scan, ", views: 6, pick: All", PER_CLASS, "");
    let weights = |runs: &Path| std::fs::read(runs.join("tiny/scan/model.safetensors")).unwrap();
    let (first, second) = (dir.path().join("a"), dir.path().join("b"));
    succeed(&graph, &first);
    succeed(&graph, &second);
    assert!(
        weights(&first) == weights(&second),
        "two runs gave different weights"
    );
    let history = json_lines(&first.join("tiny/scan/history.jsonl"));
    let head = &history[0]["heads"][0];
    let (c, h, t) = (
        head["consistency"].as_f64().unwrap(),
        head["entropy"].as_f64().unwrap(),
        head["total"].as_f64().unwrap(),
    );
    // Keras: total = consistency + ln 4 − H, consistency within [log(1 + e⁻¹), ln 2].
    assert!((t - (c + 4f64.ln() - h)).abs() < 1e-4, "{head}");
    assert!((0.3132..=0.6932).contains(&c), "{head}");
}

#[test]
fn bad_settings_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    // One runs folder: the pretext, features and neighbours are cached after the first run.
    let runs = dir.path().join("runs");
    let one = graph(dir.path(), ", clusters: 1", PAIRS, PER_CLASS, "");
    let message = fail(&one, &runs);
    assert!(
        message.contains("clusters") && message.contains("at least 2"),
        "{message}"
    );
    let fewer = graph(dir.path(), ", clusters: 3", PAIRS, ", per_class: 5", "");
    let message = fail(&fewer, &runs);
    assert!(
        message.contains("neighbour table holds 100 images") && message.contains("50 per epoch"),
        "{message}"
    );
    let unpacked = graph(
        dir.path(),
        ", clusters: 3",
        PAIRS,
        ", per_class: 10, store: false",
        "",
    );
    let message = fail(&unpacked, &runs);
    assert!(message.contains("store: true"), "{message}");
    let all = graph(
        dir.path(),
        ", clusters: 3",
        ", views: 2, pick: All",
        PER_CLASS,
        "",
    );
    let message = fail(&all, &runs);
    assert!(message.contains("views: 6"), "{message}");
    let top = graph(dir.path(), ", clusters: 3", ", views: 2", PER_CLASS, "");
    let message = fail(&top, &runs);
    assert!(
        message.contains("Random(top: 20)") && message.contains("k = 5"),
        "{message}"
    );
}
