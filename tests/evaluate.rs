//! `Evaluate` end to end on a real CIFAR-10 subset: a test-only operator turns each image's
//! label into cluster probabilities with a known error pattern, and the files the node
//! writes are checked against scores worked out by hand. Also: no labels, an empty
//! cluster, and rows that are not probabilities.

use std::fs;
use std::path::{Path, PathBuf};

use scanflow::data::{first_per_class, Dataset, ImageFolder};
use scanflow::runtime::ProgressMode;
use scanflow::{Graph, RunOptions, RunReport};
use serde_json::{json, Value};

fn archive() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/cifar10-jpg.tar.gz")
}

fn run(text: &str, runs: &Path) -> Result<RunReport, scanflow::RunFailure> {
    let mut registry = scanflow::Registry::builtin();
    registry.register::<fake::FakeClusters>();
    let source = scanflow::spec::SourceText::new("eval.ron", text);
    let graph = Graph::from_source(source, &registry, &[]).unwrap();
    let options = RunOptions {
        runs_dir: runs.to_path_buf(),
        progress: ProgressMode::Quiet,
        collect: vec!["evaluate".into()],
        ..RunOptions::default()
    };
    scanflow::run(graph, &options)
}

/// 10 test images of each CIFAR-10 class → FakeClusters → Evaluate (with the images).
fn cifar_graph(clusters: usize) -> String {
    format!(
        r#"Graph(name: "eval", nodes: {{
            "images": Images(source: Folder(path: "{}", split: "test"), batch: 16, per_class: 10, store: false),
            "probs": FakeClusters(input: "images", clusters: {clusters}),
            "evaluate": Evaluate(input: "probs", images: "images", prototypes: 3, scale: 1),
        }})"#,
        archive().display()
    )
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
}

fn close(value: &Value, expected: f64) -> bool {
    value.as_f64().is_some_and(|v| (v - expected).abs() < 1e-4)
}

#[test]
fn cifar_subset_scores_and_reports() {
    let dir = tempfile::tempdir().unwrap();
    let report = run(&cifar_graph(10), dir.path()).unwrap();
    let out = dir.path().join("eval/evaluate");
    let metrics = read_json(&out.join("metrics.json"));
    // Class k goes to cluster (3k + 1) % 10, except the 1st and 6th image of each class,
    // which go to class k + 1's cluster: every cluster holds 8 of its class and 2 of the
    // previous one. ACC = 80/100. NMI = 1 − H(class | cluster) / ln 10 with H = −(0.8 ln 0.8
    // + 0.2 ln 0.2) = 0.500402: 0.782673. ARI: Σ C(n_ij, 2) = 10·(28 + 1) = 290, row and
    // column sums 10·C(10, 2) = 450 each, expected 450²/C(100, 2) = 40.9091:
    // (290 − 40.9091)/(450 − 40.9091) = 0.608889. The right cluster is always the first or
    // second choice, so top-5 = 1.
    assert!(close(&metrics["acc_hungarian"], 0.8), "{metrics}");
    assert!(close(&metrics["acc_majority"], 0.8));
    assert!(close(&metrics["nmi"], 0.782673), "{}", metrics["nmi"]);
    assert!(close(&metrics["ari"], 0.608889), "{}", metrics["ari"]);
    assert!(close(&metrics["top5"], 1.0));
    assert_eq!(metrics["labelled"], json!(true));
    assert_eq!(metrics["empty_clusters"], json!([]));
    for k in 0..10 {
        let mut row = vec![0u64; 10];
        row[(3 * k + 1) % 10] = 8;
        row[(3 * k + 4) % 10] = 2;
        assert_eq!(metrics["confusion"][k], json!(row), "class {k}");
        let cluster = &metrics["per_cluster"][(3 * k + 1) % 10];
        assert_eq!(cluster["size"], json!(10));
        assert!(close(&cluster["purity"], 0.8));
        assert_eq!(cluster["matched_class"], json!(k));
    }
    let sent = report.outputs("evaluate");
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].as_metrics(), Some(&metrics));
    check_files(&out);
}

/// assignments.csv, prototypes.png, confusion.png and summary.txt of the 10-cluster run.
fn check_files(out: &Path) {
    let folder = ImageFolder::open(&archive(), Some("test")).unwrap();
    let chosen = first_per_class(&folder, 10).unwrap();
    // Cluster 0 is class 3's (cat): its most confident member is the 10th cat (p 0.86).
    let top = chosen[3 * 10 + 9];
    let csv = fs::read_to_string(out.join("assignments.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 101);
    assert_eq!(lines[0], "index,source,cluster,confidence,label,class");
    // The source column names the image as the archive lists it (the Images node's names).
    let expected = format!("{top},{},0,0.860000,3,cat", folder.name(top));
    assert!(
        lines.contains(&expected.as_str()),
        "no `{expected}` in\n{csv}"
    );
    let indices: Vec<u64> = lines[1..]
        .iter()
        .map(|l| l.split(',').next().unwrap().parse().unwrap())
        .collect();
    assert!(indices.windows(2).all(|w| w[0] < w[1]));

    let grid = image::open(out.join("prototypes.png")).unwrap().to_rgb8();
    // 3 columns and 10 rows of 32-px images, 2-px padding.
    assert_eq!(grid.dimensions(), (3 * 32 + 4 * 2, 10 * 32 + 11 * 2));
    let mut pixels = vec![0u8; 32 * 32 * 3];
    folder.read_rgb(top, 32, 32, &mut pixels).unwrap();
    for (x, y) in [(0, 0), (31, 0), (5, 17), (31, 31)] {
        let i = (y * 32 + x) as usize * 3;
        assert_eq!(
            grid.get_pixel(2 + x, 2 + y).0,
            pixels[i..i + 3],
            "({x},{y})"
        );
    }
    let heat = image::open(out.join("confusion.png")).unwrap();
    assert_eq!((heat.width(), heat.height()), (10 * 25 + 1, 10 * 25 + 1));
    let summary = fs::read_to_string(out.join("summary.txt")).unwrap();
    assert!(summary.starts_with("samples 100, clusters 10, classes 10\nACC (one-to-one)  0.8000\n"));
}

#[test]
fn more_clusters_than_classes_leave_an_empty_one() {
    let dir = tempfile::tempdir().unwrap();
    run(&cifar_graph(11), dir.path()).unwrap();
    let metrics = read_json(&dir.path().join("eval/evaluate/metrics.json"));
    // The same assignments with an 11th cluster nobody gets: the same ACC, no top-5.
    assert!(close(&metrics["acc_hungarian"], 0.8));
    assert!(close(&metrics["acc_majority"], 0.8));
    assert_eq!(metrics["clusters"], json!(11));
    assert_eq!(metrics["empty_clusters"], json!([10]));
    assert_eq!(metrics["top5"], Value::Null);
    assert_eq!(metrics["per_cluster"][10]["purity"], Value::Null);
    let notes = metrics["notes"].to_string();
    assert!(notes.contains("cluster 10 is empty"), "{notes}");
    assert!(notes.contains("top-5 skipped"), "{notes}");
}

/// A Features → Evaluate graph on an (N, C) probabilities .npy.
fn npy_graph(dir: &Path, rows: &[[f32; 4]]) -> String {
    let path = dir.join("probs.npy");
    scanflow::data::write_npy_f32(&path, rows.len(), 4, &rows.concat()).unwrap();
    format!(
        r#"Graph(name: "eval", nodes: {{
            "probs": Features(source: Npy(path: "{}"), batch: 2),
            "evaluate": Evaluate(input: "probs"),
        }})"#,
        path.display()
    )
}

#[test]
fn without_labels_metrics_are_skipped_and_assignments_written() {
    let dir = tempfile::tempdir().unwrap();
    let rows = [
        [0.7, 0.1, 0.1, 0.1],
        [0.1, 0.6, 0.2, 0.1],
        [0.25, 0.25, 0.25, 0.25],
        [0.0, 0.0, 0.0, 1.0],
        [0.1, 0.2, 0.3, 0.4],
    ];
    run(&npy_graph(dir.path(), &rows), &dir.path().join("runs")).unwrap();
    let out = dir.path().join("runs/eval/evaluate");
    let metrics = read_json(&out.join("metrics.json"));
    assert_eq!(metrics["labelled"], json!(false));
    assert_eq!(metrics["samples"], json!(5));
    // Row 2 ties: the lowest cluster id (0) wins; nobody is in cluster 2.
    assert_eq!(metrics["empty_clusters"], json!([2]));
    let sizes: Vec<u64> = (0..4)
        .map(|c| metrics["per_cluster"][c]["size"].as_u64().unwrap())
        .collect();
    assert_eq!(sizes, vec![2, 1, 0, 2]);
    let notes = metrics["notes"].to_string();
    assert!(notes.contains("labels missing"), "{notes}");
    assert!(notes.contains("no prototypes.png"), "{notes}");
    assert!(metrics.get("acc_hungarian").is_none());
    let csv = fs::read_to_string(out.join("assignments.csv")).unwrap();
    assert_eq!(
        csv,
        "index,source,cluster,confidence,label,class\n0,0,0,0.700000,,\n1,1,1,0.600000,,\n\
         2,2,0,0.250000,,\n3,3,3,1.000000,,\n4,4,3,0.400000,,\n"
    );
    assert!(!out.join("confusion.png").exists());
    assert!(!out.join("prototypes.png").exists());
    assert!(fs::read_to_string(out.join("summary.txt"))
        .unwrap()
        .starts_with("samples 5, clusters 4\n"));
}

#[test]
fn logits_are_refused_naming_node_and_row() {
    let dir = tempfile::tempdir().unwrap();
    let rows = [[0.7, 0.1, 0.1, 0.1], [2.0, -1.0, 0.5, 0.1]];
    let failure = run(&npy_graph(dir.path(), &rows), &dir.path().join("runs")).unwrap_err();
    assert_eq!(
        failure.error.to_string(),
        "node `evaluate` (Evaluate) failed: row 1 (dataset index 1) of `input` is not a \
         probability distribution: column 1 is negative (-1) (Evaluate expects each image's \
         C cluster probabilities, e.g. from `Encode(output: Clusters)`)"
    );
}

mod fake {
    use std::sync::Arc;

    use scanflow::data::FeatureBatch;
    use scanflow::ops::{BuildContext, InputPort, ParamDoc, ParamError};
    use scanflow::rng::SplitMix64;
    use scanflow::{Context, OpError, Operator, Payload, PortType};
    use serde::{Deserialize, Serialize};

    /// Parameters of [`FakeClusters`].
    #[derive(Clone, Debug, Default, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct FakeParams {
        /// C (at least 10).
        pub clusters: usize,
    }

    /// Turns labelled images into cluster probabilities: the j-th image of class k (in
    /// arrival order) goes to cluster (3k + 1) % 10 with confidence 0.5 + 0.04·(j % 10) —
    /// or, when j % 5 == 0, to class k + 1's cluster with class k's second; the rest of the
    /// mass is spread with seeded noise over the other clusters.
    pub struct FakeClusters(FakeParams);

    impl Operator for FakeClusters {
        type Params = FakeParams;
        const NAME: &'static str = "FakeClusters";
        const SUMMARY: &'static str = "test: cluster probabilities from labels";
        const PARAMS: &'static [ParamDoc] = &[ParamDoc {
            name: "clusters",
            ty: "usize",
            doc: "C",
        }];
        const INPUTS: &'static [InputPort] = &[InputPort {
            field: "input",
            payload: PortType::Images,
            required: true,
            doc: "labelled images",
        }];
        const OUTPUT: Option<PortType> = Some(PortType::Features);
        fn build(params: FakeParams, _: &BuildContext) -> Result<Self, Vec<ParamError>> {
            Ok(FakeClusters(params))
        }
        fn run(self, ctx: &mut Context) -> Result<(), OpError> {
            let mut seen = [0usize; 10];
            while let Some(batch) = ctx.recv_images("input")? {
                let labels = batch
                    .labels
                    .clone()
                    .ok_or(OpError::Failed("no labels".into()))?;
                let mut data = Vec::new();
                for (&label, &index) in labels.iter().zip(&batch.indices) {
                    let j = seen[label as usize];
                    seen[label as usize] += 1;
                    data.extend(row(label as usize, j, index, self.0.clusters));
                }
                let features = FeatureBatch {
                    dim: self.0.clusters,
                    data,
                    indices: batch.indices.clone(),
                    labels: Some(labels),
                    names: batch.names.clone(),
                };
                ctx.send(Payload::Features(Arc::new(features)))?;
            }
            Ok(())
        }
    }

    fn row(k: usize, j: usize, index: u64, clusters: usize) -> Vec<f32> {
        let own = (3 * k + 1) % 10;
        let next = (3 * (k + 1) + 1) % 10;
        let (first, second) = if j.is_multiple_of(5) {
            (next, own)
        } else {
            (own, next)
        };
        let p = 0.5 + 0.04 * (j % 10) as f32;
        let mut rng = SplitMix64::new(index);
        let mut rest: Vec<f32> = (0..clusters).map(|_| rng.uniform_f32(1.0, 2.0)).collect();
        rest[first] = 0.0;
        rest[second] = 0.0;
        let total: f32 = rest.iter().sum();
        let mut out: Vec<f32> = rest.iter().map(|w| w / total * (1.0 - p) * 0.5).collect();
        out[first] = p;
        out[second] = (1.0 - p) * 0.5;
        out
    }
}

#[test]
fn scanflow_run_prints_the_summary_table() {
    let dir = tempfile::tempdir().unwrap();
    let rows = [[0.7, 0.1, 0.1, 0.1], [0.1, 0.2, 0.3, 0.4]];
    let graph = dir.path().join("eval.ron");
    fs::write(&graph, npy_graph(dir.path(), &rows)).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_scanflow"))
        .arg("run")
        .arg(&graph)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("evaluate (Evaluate):\nsamples 2, clusters 4\n"),
        "{stdout}"
    );
}
