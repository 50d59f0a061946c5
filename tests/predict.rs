//! `scanflow predict` through the binary: a run folder without a model, and one holding a
//! model that is not a cluster model, exit with code 2 and a message naming the folder; a
//! trained Scan model predicts what `Encode(output: Clusters)` gave the same images, and a
//! `Knn` node's folder (exact, or its saved HNSW index) finds each image among the images it
//! indexed, followed by that image's own mined neighbours.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use scanflow::data::{read_npy_ids, read_npy_matrix, read_npy_u32, ImageFolder};

#[test]
fn predict_refuses_folders_without_a_cluster_model() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("runs/g/pretext");
    fs::create_dir_all(&run).unwrap();
    let predict = || {
        Command::new(env!("CARGO_BIN_EXE_scanflow"))
            .args(["predict", "--run", "runs/g/pretext", "--images", "new"])
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    let out = predict();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: `runs/g/pretext` has no model.json: --run takes the run folder of a node that \
         trained a cluster model, runs/<graph>/<node> (a node of kind Scan or SelfLabel)\n"
    );
    let model = r#"{"weights": "w.safetensors", "architecture": {}, "producer": "SimClr"}"#;
    fs::write(run.join("model.json"), model).unwrap();
    let out = predict();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: `runs/g/pretext` holds a SimClr model, not a cluster model: predict needs the \
         run folder of a node of kind Scan or SelfLabel\n"
    );
    assert!(!dir.path().join("predictions.csv").exists());
}

/// A tiny SCAN run on 50 CIFAR-10 test images (5 per class): pretext, mining on the
/// central 24×24 of each 32×32 image, one Scan epoch on pairs and two of heads alone on the
/// mined projections, and `Encode(output: Clusters)` of both models over the same views.
fn tiny_scan_graph(dir: &Path) -> PathBuf {
    let source = format!(
        r#"source: Folder(path: "{}", split: "test")"#,
        archive().display()
    );
    let text = format!(
        r#"Graph(
    name: "tiny",
    seed: 3,
    nodes: {{
        "train": Images({source}, batch: 25, per_class: 5, order: Shuffled),
        "views": Augment(input: "train", views: 2, recipe: SimClr(size: (32, 32))),
        "pretext": SimClr(input: "views", encoder: SmallCnn(widths: [8, 8, 16, 16]), head: Mlp(out: 8), epochs: 1),
        "eval": Images({source}, batch: 25, per_class: 5),
        "eval-views": Augment(input: "eval", views: 1, recipe: Eval(size: (24, 24))),
        "features": Encode(input: "eval-views", model: "pretext"),
        "neighbours": Knn(input: "features", k: 3, index: Exact),
        "hnsw": Knn(input: "features", k: 3, index: Hnsw(m: 8, ef_construction: 64, ef_search: 64)),
        "tta-images": Images({source}, batch: 25, per_class: 5),
        "tta-views": Augment(input: "tta-images", views: 4, recipe: EvalViews(size: (24, 24), scaled: (28, 28))),
        "tta-features": Encode(input: "tta-views", model: "pretext"),
        "tta": Knn(input: "tta-features", k: 3, index: Exact),
        "pair-images": Images({source}, batch: 25, per_class: 5, order: Shuffled),
        "pairs": Augment(input: "pair-images", neighbours: "neighbours", views: 2, pick: Random(top: 3), recipe: ScanStrong(size: (24, 24))),
        "scan": Scan(input: "pairs", model: "pretext", clusters: 4, epochs: 1),
        "clusters": Encode(input: "eval-views", model: "scan", output: Clusters),
        "heads": Scan(features: "features", neighbours: "neighbours", model: "pretext", clusters: 4, update_encoder: false, epochs: 2),
        "head-clusters": Encode(input: "eval-views", model: "heads", output: Clusters),
    }},
)"#
    );
    let path = dir.join("tiny.ron");
    fs::write(&path, text).unwrap();
    path
}

fn archive() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/cifar10-jpg.tar.gz")
}

/// Predictions for images a graph clustered equal what `Encode(output: Clusters)` gave them,
/// and their neighbours are the images themselves, then what `Knn` mined for them: 12 of the
/// 50 images are copied out of the archive as JPEG files named by dataset index. The heads
/// trained on mined features and the `Knn` nodes record that their views were cut from
/// 32×32 images; the pair-trained model cannot know, so it is told (`--source-size`). The
/// `tta` node mined the mean of four views of each image, and predict averages the same four.
#[test]
fn predict_matches_what_the_graph_computed_for_the_same_images() {
    let dir = tempfile::tempdir().unwrap();
    let graph = tiny_scan_graph(dir.path());
    let runs = dir.path().join("runs");
    let out = Command::new(env!("CARGO_BIN_EXE_scanflow"))
        .args(["run", "-q", "--runs-dir"])
        .arg(&runs)
        .arg(&graph)
        .env("RAYON_NUM_THREADS", "2")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let encoded = read_npy_matrix(&runs.join("tiny/clusters/features.npy")).unwrap();
    let indices = read_npy_ids(&runs.join("tiny/clusters/indices.npy")).unwrap();
    assert_eq!((encoded.rows, encoded.cols, indices.len()), (50, 4, 50));
    // `per_class` keeps the full split's dataset indices, so they index the whole folder.
    let folder = ImageFolder::open(&archive(), Some("test")).unwrap();
    let new = dir.path().join("new");
    fs::create_dir_all(&new).unwrap();
    let chosen: Vec<usize> = (0..50).step_by(4).take(12).collect();
    for &row in &chosen {
        let index = indices[row] as usize;
        let bytes = folder.read(index).unwrap();
        fs::write(new.join(format!("{index:05}.jpg")), &bytes).unwrap();
    }
    let mut rows_by_index = chosen.clone();
    rows_by_index.sort_by_key(|&row| indices[row]);
    check_clusters(
        &predict(&runs.join("tiny/scan"), &new, &["--source-size", "32x32"]),
        &encoded.data,
        &rows_by_index,
        &indices,
    );
    let heads = read_npy_matrix(&runs.join("tiny/head-clusters/features.npy")).unwrap();
    check_clusters(
        &predict(&runs.join("tiny/heads"), &new, &[]),
        &heads.data,
        &rows_by_index,
        &indices,
    );
    for knn in ["neighbours", "hnsw", "tta"] {
        let csv = predict(&runs.join("tiny").join(knn), &new, &[]);
        check_neighbours(&csv, &runs.join("tiny").join(knn), &indices, &rows_by_index);
    }
}

/// Runs `scanflow predict` on `new` against `run` with `extra` arguments; returns the CSV.
fn predict(run: &Path, new: &Path, extra: &[&str]) -> String {
    let csv = new.with_extension("csv");
    let out = Command::new(env!("CARGO_BIN_EXE_scanflow"))
        .args(["predict", "--run"])
        .arg(run)
        .arg("--images")
        .arg(new)
        .arg("--out")
        .arg(&csv)
        .args(["--batch", "5"])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    fs::read_to_string(&csv).unwrap()
}

/// Each line's probabilities are row `row` of `encoded` (4 clusters), to the CSV's decimals.
fn check_clusters(text: &str, encoded: &[f32], rows_by_index: &[usize], indices: &[u32]) {
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "file,cluster,confidence,p0,p1,p2,p3");
    assert_eq!(lines.len(), 13);
    for (line, &row) in lines[1..].iter().zip(rows_by_index) {
        let fields: Vec<&str> = line.split(',').collect();
        assert_eq!(fields.len(), 7, "{line}");
        assert!(
            fields[0].ends_with(&format!("{:05}.jpg", indices[row])),
            "{line}"
        );
        let probs: Vec<f32> = fields[3..].iter().map(|p| p.parse().unwrap()).collect();
        assert!((probs.iter().sum::<f32>() - 1.0).abs() < 1e-4, "{line}");
        let expected = &encoded[row * 4..(row + 1) * 4];
        // The CSV keeps 6 decimals; the same pixels through the same model agree to f32 noise.
        for (p, e) in probs.iter().zip(expected) {
            assert!((p - e).abs() < 2e-6, "{line} against {expected:?}");
        }
        let best = (0..4).fold(0, |b, c| if expected[c] > expected[b] { c } else { b });
        assert_eq!(fields[1], best.to_string(), "{line}");
    }
}

/// Each image's first neighbour is itself (similarity 1), then the two `Knn` mined for it.
fn check_neighbours(text: &str, knn: &Path, indices: &[u32], rows_by_index: &[usize]) {
    let lines: Vec<&str> = text.lines().collect();
    let header = "file,neighbour_1,similarity_1,neighbour_2,similarity_2,neighbour_3,similarity_3";
    assert_eq!(lines[0], header);
    assert_eq!(lines.len(), 13);
    // The table's rows are the 50 dataset indices in ascending order (`ids.npy`).
    let (points, k, mined) = read_npy_u32(&knn.join("neighbours.npy")).unwrap();
    assert_eq!((points, k), (50, 3));
    let mut ids: Vec<u32> = indices.to_vec();
    ids.sort();
    for (line, &row) in lines[1..].iter().zip(rows_by_index) {
        let fields: Vec<&str> = line.split(',').collect();
        let index = indices[row];
        let line = format!("{}: {line}", knn.display());
        assert_eq!(fields[1], index.to_string(), "{line}");
        let own: f32 = fields[2].parse().unwrap();
        assert!((own - 1.0).abs() < 1e-5, "{line}");
        let rank = ids.binary_search(&index).unwrap();
        let expected: Vec<String> = mined[rank * 3..rank * 3 + 2]
            .iter()
            .map(|&r| ids[r as usize].to_string())
            .collect();
        assert_eq!(
            [fields[3], fields[5]],
            [&expected[0][..], &expected[1][..]],
            "{line}"
        );
    }
}
