//! The tiny SCAN graph the end-to-end tests share (Images → Augment → SimClr → Encode → Knn
//! → Augment(neighbours) → Scan → Encode(Clusters) on 100 real CIFAR-10 test images, plus
//! whatever nodes a test adds) and running it through the binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The graph with `scan` as the Scan node's extra parameters, `pairs` as the pair Augment's,
/// `pair_images` as its Images node's (which must say `per_class`) and `extra` nodes.
pub fn graph(dir: &Path, scan: &str, pairs: &str, pair_images: &str, extra: &str) -> PathBuf {
    let source = source();
    let text = format!(
        r#"Graph(
    name: "tiny",
    seed: 5,
    nodes: {{
        "train": Images({source}, batch: 50, per_class: 10, order: Shuffled),
        "views": Augment(input: "train", views: 2, recipe: SimClr(size: (32, 32))),
        "pretext": SimClr(input: "views", encoder: SmallCnn(widths: [8, 16, 16, 16]), head: Mlp(out: 16)),
        "eval": Images({source}, batch: 50, per_class: 10),
        "eval-views": Augment(input: "eval", views: 1, recipe: Eval(size: (32, 32))),
        "features": Encode(input: "eval-views", model: "pretext"),
        "neighbours": Knn(input: "features", k: 5, index: Exact),
        "pair-images": Images({source}, batch: 50, order: Shuffled, epochs: 2{pair_images}),
        "pairs": Augment(input: "pair-images", neighbours: "neighbours", recipe: ScanStrong(size: (32, 32)){pairs}),
        "scan": Scan(input: "pairs", model: "pretext", epochs: 2{scan}),
        "test": Images({source}, batch: 50, per_class: 10),
        "test-views": Augment(input: "test", views: 1, recipe: Eval(size: (32, 32))),
        "clusters": Encode(input: "test-views", model: "scan", output: Clusters),{extra}
    }},
)"#
    );
    let path = dir.join(format!("tiny-{}.ron", text.len()));
    std::fs::write(&path, text).unwrap();
    path
}

/// The `source` parameter of every Images node: the shared archive's test split.
pub fn source() -> String {
    let archive = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/cifar10-jpg.tar.gz");
    format!(
        r#"source: Folder(path: "{}", split: "test")"#,
        archive.display()
    )
}

/// Anchor + one neighbour drawn from the table's 5.
pub const PAIRS: &str = ", views: 2, pick: Random(top: 5)";

/// The pair images: the same 100 images the neighbours were mined on.
pub const PER_CLASS: &str = ", per_class: 10";

pub fn run(graph: &Path, runs: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_scanflow"))
        .args(["run", "-q", "--runs-dir"])
        .arg(runs)
        .arg(graph)
        .env("RAYON_NUM_THREADS", "2")
        .output()
        .unwrap()
}

pub fn succeed(graph: &Path, runs: &Path) {
    let out = run(graph, runs);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn fail(graph: &Path, runs: &Path) -> String {
    let out = run(graph, runs);
    assert!(!out.status.success(), "the run should have failed");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn json_lines(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}
