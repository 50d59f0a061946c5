//! Determinism of the whole pipeline: `graphs/demo.ron`, shrunk with `--set` to 20 images
//! per class and 2 epochs a stage without a time budget, run twice with the same seed and
//! thread count gives byte-identical assignments and metrics; a third run whose Augment
//! nodes use one worker instead of the default gives them too. With an HNSW index of small
//! width (approximate on 200 points), one `Knn` worker and three give the same neighbour
//! table and results byte for byte. (The augmented tensors
//! themselves across worker counts: `tests/augment.rs`,
//! `views_are_identical_whatever_the_worker_count`.)

use std::path::Path;
use std::process::Command;

/// The overrides that shrink the demo to about ten seconds (most of it reading the archive).
const SMALL: [&str; 11] = [
    "train.per_class=20",
    "train-eval.per_class=20",
    "pair-images.per_class=20",
    "test.per_class=20",
    "train.epochs=2",
    "pretext.epochs=2",
    "pretext.budget_minutes=None",
    "pair-images.epochs=2",
    "scan.epochs=2",
    "neighbours.k=5",
    "pairs.pick=Random(top: 5)",
];

/// Runs the shrunk demo from the crate root (its data path is relative to it) into `runs`,
/// every node afresh (only the packed image stores are reused).
fn run_demo(runs: &Path, extra: &[&str]) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_scanflow"));
    command
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["run", "-q", "--fresh", "--runs-dir"])
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

/// The bytes of the scoring node's assignments and metrics.
fn results(runs: &Path) -> [Vec<u8>; 2] {
    ["assignments.csv", "metrics.json"]
        .map(|f| std::fs::read(runs.join("demo/evaluate").join(f)).unwrap())
}

#[test]
fn the_demo_gives_identical_assignments_and_metrics_run_after_run() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        dir.path().join("a"),
        dir.path().join("b"),
        dir.path().join("c"),
    );
    run_demo(&a, &[]);
    run_demo(&b, &[]);
    let first = results(&a);
    assert_eq!(String::from_utf8_lossy(&first[0]).lines().count(), 201);
    assert!(first == results(&b), "two runs with the same seed differ");
    run_demo(&c, &["views.workers=1", "pairs.workers=1"]);
    assert!(
        first == results(&c),
        "the augmentation worker count changed the results"
    );
}

/// The bytes of the neighbour table and the scoring node's results.
fn table_and_results(runs: &Path) -> (Vec<u8>, [Vec<u8>; 2]) {
    let table = std::fs::read(runs.join("demo/neighbours/neighbours.npy")).unwrap();
    (table, results(runs))
}

#[test]
fn an_hnsw_table_does_not_depend_on_the_worker_count() {
    let dir = tempfile::tempdir().unwrap();
    let hnsw = "neighbours.index=Hnsw(m: 4, ef_construction: 8, ef_search: 8)";
    let (one, three) = (dir.path().join("one"), dir.path().join("three"));
    run_demo(&one, &[hnsw, "neighbours.workers=1"]);
    run_demo(&three, &[hnsw, "neighbours.workers=3"]);
    assert!(
        table_and_results(&one) == table_and_results(&three),
        "the HNSW worker count changed the neighbours or the results"
    );
}
