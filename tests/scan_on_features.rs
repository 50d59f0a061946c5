//! `Scan` on precomputed features, end to end through the binary on the tiny real CIFAR-10
//! graph: the heads train on an `Encode(output: Features)` stream (or the projections the
//! neighbours were mined on) and the neighbour table, the cluster model it sends reproduces
//! those heads on its own encoder (and projection head; features scaled to unit length),
//! and miswired graphs are refused with the fix in the message.

mod tiny_scan;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::Device;
use scanflow::data::{read_npy_ids, read_npy_matrix};
use tiny_scan::{fail, graph, json_lines, source, succeed, PAIRS, PER_CLASS};

/// `scan-f` on the encoder features of the 100 mined images, `f-clusters` its cluster
/// probabilities of the same images (from their own Images node, `test`); `scan` is the
/// `Scan` parameter list after `model`.
fn nodes(features: &str, scan: &str) -> String {
    format!(
        r#"
        "encoder-features": Encode(input: "eval-views", model: "pretext", output: Features),
        "scan-f": Scan(features: "{features}", neighbours: "neighbours", model: "pretext"{scan}),
        "f-clusters": Encode(input: "test-views", model: "scan-f", output: Clusters),"#
    )
}

const HEADS: &str = ", clusters: 4, heads: 3, update_encoder: false, epochs: 3";

/// `averaged`: the projections of the mined images as the mean of two views of each.
const AVERAGED_VIEWS: &str = r#"
        "averaged-views": Augment(input: "eval", views: 2, recipe: EvalViews(size: (32, 32), scaled: (36, 36))),
        "averaged": Encode(input: "averaged-views", model: "pretext"),"#;

/// `aug`: two SimCLR views of each of the images of `aug-images` (`images` its parameters
/// after `batch`) embedded by the pretext model as `output`, side by side.
fn augmented_views(images: &str, output: &str) -> String {
    format!(
        r#"
        "aug-images": Images({}, batch: 50{images}),
        "aug-views": Augment(input: "aug-images", views: 2, recipe: SimClr(size: (32, 32))),
        "aug": Encode(input: "aug-views", model: "pretext", output: {output}, views: Keep),"#,
        source()
    )
}

/// Runs the tiny graph with `scan-f` training heads of `heads` on the node `features` into
/// a temporary folder; returns it (keep it alive), the graph's run folder and `scan-f`'s
/// `model.json`.
fn scan_on(features: &str, heads: &str) -> (tempfile::TempDir, PathBuf, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let extra = nodes(features, heads);
    succeed(
        &graph(dir.path(), ", clusters: 3", PAIRS, PER_CLASS, &extra),
        &runs,
    );
    let tiny = runs.join("tiny");
    let model = std::fs::read(tiny.join("scan-f/model.json")).unwrap();
    (dir, tiny, serde_json::from_slice(&model).unwrap())
}

#[test]
fn heads_trained_on_fixed_features_become_the_cluster_models_heads() {
    let (_dir, tiny, model) = scan_on("encoder-features", HEADS);
    let history = json_lines(&tiny.join("scan-f/history.jsonl"));
    assert_eq!(history.len(), 4, "3 epochs and the selection: {history:?}");
    let last = &history[3];
    assert_eq!(last["epochs"], 3, "{last}");
    let arch = &model["architecture"];
    assert_eq!(arch["normalize_features"], true, "{model}");
    assert_eq!(arch["selected_head"], last["selected_head"], "{model}");
    assert_eq!(
        (arch["clusters"].as_u64(), arch["heads"].as_u64()),
        (Some(4), Some(3))
    );
    assert!(arch.get("projection").is_none(), "{model}");
    let head = arch["selected_head"].as_u64().unwrap() as usize;
    check_heads_reproduced(&tiny, head, "encoder-features");
}

#[test]
fn heads_trained_on_projections_keep_the_projection_head() {
    let (_dir, tiny, model) = scan_on("features", HEADS);
    let arch = &model["architecture"];
    assert_eq!(arch["projection"]["Mlp"]["out"], 16, "{model}");
    let head = arch["selected_head"].as_u64().unwrap() as usize;
    check_heads_reproduced(&tiny, head, "features");
}

#[test]
fn heads_with_a_hidden_layer_become_the_cluster_models_heads() {
    let (_dir, tiny, model) = scan_on("features", &format!("{HEADS}, hidden: 5"));
    let arch = &model["architecture"];
    assert_eq!(arch["hidden"], 5, "{model}");
    let head = arch["selected_head"].as_u64().unwrap() as usize;
    check_heads_reproduced(&tiny, head, "features");
}

#[test]
fn the_consensus_of_heads_predicts_by_their_renumbered_mean() {
    let consensus = format!("{HEADS}, hidden: 5, consensus: true");
    let (_dir, tiny, model) = scan_on("features", &consensus);
    let perms: Vec<Vec<usize>> =
        serde_json::from_value(model["architecture"]["consensus"].clone()).unwrap();
    let history = json_lines(&tiny.join("scan-f/history.jsonl"));
    let record = &history.last().unwrap()["consensus"];
    assert_eq!(
        record["perms"], model["architecture"]["consensus"],
        "{record}"
    );
    assert_eq!(perms.len(), 3, "{record}");
    let heads: Vec<_> = (0..3)
        .map(|h| head_probabilities(&tiny, h, "features"))
        .collect();
    let probabilities = rows_by_index(&tiny.join("f-clusters"));
    for (index, got) in &probabilities {
        for (c, value) in got.iter().enumerate() {
            let mean = heads.iter().zip(&perms).map(|(p, perm)| p[index][perm[c]]);
            let expected = mean.sum::<f32>() / 3.0;
            assert!((value - expected).abs() < 1e-4, "image {index}: {got:?}");
        }
    }
}

#[test]
fn heads_draw_anchors_and_neighbours_from_augmented_views_too() {
    let (_plain_dir, plain, _) = scan_on("features", HEADS);
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let extra = augmented_views(PER_CLASS, "Projection")
        + &nodes("features", &format!("{HEADS}, augmented: \"aug\""));
    succeed(
        &graph(dir.path(), ", clusters: 3", PAIRS, PER_CLASS, &extra),
        &runs,
    );
    let tiny = runs.join("tiny");
    let kept = read_npy_matrix(&tiny.join("aug/features.npy")).unwrap();
    assert_eq!((kept.rows, kept.cols), (100, 2 * 16));
    for view in kept.data.chunks(16) {
        let norm = view.iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!(
            (norm - 1.0).abs() < 1e-4,
            "each view is unit length: {norm}"
        );
    }
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tiny.join("aug/encoder.json")).unwrap()).unwrap();
    assert_eq!(record["kept_views"], 2, "{record}");
    let first = |tiny: &Path| json_lines(&tiny.join("scan-f/history.jsonl"))[0]["heads"].clone();
    assert_ne!(
        first(&tiny),
        first(&plain),
        "the augmented views change what the heads see"
    );
    let model = std::fs::read(tiny.join("scan-f/model.json")).unwrap();
    let model: serde_json::Value = serde_json::from_slice(&model).unwrap();
    let head = model["architecture"]["selected_head"].as_u64().unwrap() as usize;
    check_heads_reproduced(&tiny, head, "features");
}

/// `f-clusters` (the model run on the images) equals the selected head applied by hand to
/// the unit-length rows the node `features` emitted for the same images.
fn check_heads_reproduced(tiny: &Path, head: usize, features: &str) {
    let expected = head_probabilities(tiny, head, features);
    let probabilities = rows_by_index(&tiny.join("f-clusters"));
    assert_eq!(expected.len(), 100);
    for (index, want) in &expected {
        let got = &probabilities[index];
        for (g, w) in got.iter().zip(want) {
            assert!(
                (g - w).abs() < 1e-4,
                "image {index}: {got:?} against {want:?}"
            );
        }
    }
}

/// Head `head` of `scan-f`'s saved model applied by hand to the rows of the node `features`:
/// the softmax of `W·x + b`, or of `W₂·max(W₁·x + b₁, 0) + b₂` for a head with a hidden
/// layer, keyed by dataset index.
fn head_probabilities(tiny: &Path, head: usize, features: &str) -> HashMap<u32, Vec<f32>> {
    let tensors =
        candle_core::safetensors::load(tiny.join("scan-f/model.safetensors"), &Device::Cpu)
            .unwrap();
    let flat = |name: &str| -> Option<Vec<f32>> {
        let tensor = tensors.get(&format!("cluster_head.{head}.{name}"))?;
        Some(tensor.flatten_all().unwrap().to_vec1().unwrap())
    };
    let hidden = flat("0.weight").map(|w| (w, flat("0.bias").unwrap()));
    let (weight, bias) = match hidden {
        Some(_) => (flat("2.weight").unwrap(), flat("2.bias").unwrap()),
        None => (flat("weight").unwrap(), flat("bias").unwrap()),
    };
    let softmax = |x: &Vec<f32>| {
        let x = match &hidden {
            Some((w, b)) => affine(w, b, x).iter().map(|v| v.max(0.0)).collect(),
            None => x.clone(),
        };
        let logits = affine(&weight, &bias, &x);
        let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let total: f32 = logits.iter().map(|l| (l - max).exp()).sum();
        logits.iter().map(|l| (l - max).exp() / total).collect()
    };
    let features = rows_by_index(&tiny.join(features));
    features.iter().map(|(&i, x)| (i, softmax(x))).collect()
}

/// `W·x + b` for a row-major `W` of `b.len()` rows.
fn affine(weight: &[f32], bias: &[f32], x: &[f32]) -> Vec<f32> {
    let rows = weight.chunks_exact(x.len());
    let dot = |row: &[f32]| row.iter().zip(x).map(|(w, v)| w * v).sum::<f32>();
    rows.zip(bias).map(|(row, b)| b + dot(row)).collect()
}

/// A node's `features.npy` rows keyed by the dataset index in its `indices.npy`.
fn rows_by_index(node: &Path) -> HashMap<u32, Vec<f32>> {
    let matrix = read_npy_matrix(&node.join("features.npy")).unwrap();
    let indices = read_npy_ids(&node.join("indices.npy")).unwrap();
    let rows = matrix.data.chunks(matrix.cols).map(<[f32]>::to_vec);
    indices.into_iter().zip(rows).collect()
}

#[test]
fn miswired_feature_scans_are_refused_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let cases = [
        (
            nodes("encoder-features", ", clusters: 4, epochs: 1"),
            "set `update_encoder: false`",
        ),
        (
            nodes("clusters", HEADS),
            "`output: Features` or `Projection`",
        ),
        (
            AVERAGED_VIEWS.to_string() + &nodes("averaged", HEADS),
            "averages 2 views of each image (`EvalViews`)",
        ),
        (
            augmented_views(PER_CLASS, "Features")
                + &nodes("features", &format!("{HEADS}, augmented: \"aug\"")),
            "`augmented` (node `aug`) must be an Encode of the same `model` with the same `output`",
        ),
        (
            augmented_views(", per_class: 5", "Projection")
                + &nodes("features", &format!("{HEADS}, augmented: \"aug\"")),
            "`augmented` (node `aug`) sent 50 rows of 32 values, but `features` has 100 rows of 16",
        ),
    ];
    for (extra, expected) in cases {
        let path = graph(dir.path(), ", clusters: 3", PAIRS, PER_CLASS, &extra);
        let message = fail(&path, &runs);
        assert!(
            message.contains("node `scan-f`") && message.contains(expected),
            "{message}"
        );
    }
    let pairs_augmented = r#", clusters: 3, augmented: "aug""#;
    let extra = augmented_views(PER_CLASS, "Projection");
    let path = graph(dir.path(), pairs_augmented, PAIRS, PER_CLASS, &extra);
    let message = fail(&path, &runs);
    assert!(
        message.contains("`augmented` views feed heads trained on fixed vectors"),
        "{message}"
    );
    let pairs_consensus = ", clusters: 3, consensus: true";
    let path = graph(dir.path(), pairs_consensus, PAIRS, PER_CLASS, "");
    let message = fail(&path, &runs);
    assert!(
        message.contains("`consensus: true` matches the heads on fixed features"),
        "{message}"
    );
}
