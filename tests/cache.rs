//! The run cache: a node whose key (operator, parameters, seed, inputs' keys, a fingerprint
//! of the data's bytes) matches a finished earlier run is not run again; sinks are skipped,
//! artifacts replayed to consumers that do run; `--fresh` recomputes everything.

mod common;

use std::path::{Path, PathBuf};

use scanflow::runtime::{NodeState, ProgressMode};
use scanflow::{Graph, RunOptions, RunReport};

/// A tiny ImageFolder: 2 classes × 3 generated 8×8 PNGs.
fn make_folder(root: &Path) {
    for (class, shade) in [("dark", 40u8), ("light", 200u8)] {
        std::fs::create_dir_all(root.join(class)).unwrap();
        for i in 0..3u8 {
            let image = image::RgbImage::from_pixel(8, 8, image::Rgb([shade, shade + i, 10]));
            image
                .save(root.join(class).join(format!("{i}.png")))
                .unwrap();
        }
    }
}

fn graph_text(data: &Path) -> String {
    format!(
        r#"Graph(name: "cached", nodes: {{
            "images": Images(source: Folder(path: "{}"), batch: 4),
            "stats": ChannelStats(input: "images"),
            "grid": ImageGrid(input: "images", columns: 3),
        }})"#,
        data.display()
    )
}

fn run(text: &str, runs: &Path, overrides: &[&str], fresh: bool) -> RunReport {
    let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    let source = scanflow::spec::SourceText::new("cached.ron", text);
    let graph = Graph::from_source(source, &common::registry(), &overrides).unwrap();
    let options = RunOptions {
        runs_dir: runs.to_path_buf(),
        progress: ProgressMode::Quiet,
        fresh,
        ..RunOptions::default()
    };
    scanflow::run(graph, &options).unwrap()
}

fn states(report: &RunReport) -> Vec<(String, NodeState)> {
    report
        .nodes
        .iter()
        .map(|n| (n.id.clone(), n.state))
        .collect()
}

fn state(report: &RunReport, id: &str) -> NodeState {
    report.node(id).unwrap().state
}

/// Asserts that every node of `report` ended in `expected`.
fn assert_all(report: &RunReport, expected: NodeState) {
    assert!(
        report.nodes.iter().all(|n| n.state == expected),
        "{:?}",
        states(report)
    );
}

/// A generated data folder with the graph text reading it, and a runs folder in which the
/// graph has run once.
fn after_one_run(dir: &Path) -> (PathBuf, String, PathBuf) {
    let data = dir.join("data");
    make_folder(&data);
    let text = graph_text(&data);
    let runs = dir.join("runs");
    assert_all(&run(&text, &runs, &[], false), NodeState::Ran);
    (data, text, runs)
}

#[test]
fn a_finished_run_is_not_repeated() {
    let dir = tempfile::tempdir().unwrap();
    let (_, text, runs) = after_one_run(dir.path());
    assert_all(&run(&text, &runs, &[], false), NodeState::Skipped);
    assert_all(&run(&text, &runs, &[], true), NodeState::Ran);
}

#[test]
fn editing_one_sink_reruns_it_and_only_what_feeds_it() {
    let dir = tempfile::tempdir().unwrap();
    let (_, text, runs) = after_one_run(dir.path());
    let edited = run(&text, &runs, &["grid.columns=2"], false);
    assert_eq!(state(&edited, "grid"), NodeState::Ran);
    assert_eq!(
        state(&edited, "images"),
        NodeState::Ran,
        "the stream feeding it must run"
    );
    assert_eq!(state(&edited, "stats"), NodeState::Skipped);
}

#[test]
fn changed_data_invalidates_everything_downstream() {
    let dir = tempfile::tempdir().unwrap();
    let (data, text, runs) = after_one_run(dir.path());
    let image = image::RgbImage::from_pixel(8, 8, image::Rgb([201, 200, 10]));
    image.save(data.join("light/0.png")).unwrap();
    assert_all(&run(&text, &runs, &[], false), NodeState::Ran);
}

#[test]
fn data_written_again_with_the_same_bytes_keeps_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let (data, text, runs) = after_one_run(dir.path());
    std::thread::sleep(std::time::Duration::from_millis(20));
    make_folder(&data); // new modification times, as after a copy or a fresh checkout
    assert_all(&run(&text, &runs, &[], false), NodeState::Skipped);
}

#[test]
fn a_cached_artifact_is_replayed_to_a_new_consumer() {
    let dir = tempfile::tempdir().unwrap();
    let (_, text, runs) = after_one_run(dir.path());
    let saved = std::fs::read_to_string(runs.join("cached/stats/output.json")).unwrap();
    assert!(saved.contains("\"images\": 6"), "{saved}");
    // A second graph of the same name reading the cached stats through a custom consumer.
    let with_reader = text.replace(
        "\"grid\":",
        "\"reader\": MetricsCount(input: \"stats\"),\n            \"grid\":",
    );
    let report = run_with_reader(&with_reader, &runs);
    assert_eq!(state(&report, "stats"), NodeState::Cached);
    assert_eq!(state(&report, "images"), NodeState::Skipped);
    assert_eq!(report.node("reader").unwrap().items_in, 1);
}

fn run_with_reader(text: &str, runs: &Path) -> RunReport {
    let mut registry = common::registry();
    registry.register::<metrics_count::MetricsCount>();
    let source = scanflow::spec::SourceText::new("cached.ron", text);
    let graph = Graph::from_source(source, &registry, &[]).unwrap();
    let options = RunOptions {
        runs_dir: runs.to_path_buf(),
        progress: ProgressMode::Quiet,
        ..RunOptions::default()
    };
    scanflow::run(graph, &options).unwrap()
}

mod metrics_count {
    use scanflow::ops::{BuildContext, InputPort, ParamDoc, ParamError};
    use scanflow::{Context, OpError, Operator, PortType};

    /// Reads metrics documents and checks each has an `images` figure.
    pub struct MetricsCount;

    impl Operator for MetricsCount {
        type Params = scanflow::ops::ChannelStatsParams;
        const NAME: &'static str = "MetricsCount";
        const SUMMARY: &'static str = "test: reads metrics";
        const PARAMS: &'static [ParamDoc] = &[];
        const INPUTS: &'static [InputPort] = &[InputPort {
            field: "input",
            payload: PortType::Metrics,
            required: true,
            doc: "metrics",
        }];
        const OUTPUT: Option<PortType> = None;
        fn build(_: Self::Params, _: &BuildContext) -> Result<Self, Vec<ParamError>> {
            Ok(MetricsCount)
        }
        fn run(self, ctx: &mut Context) -> Result<(), OpError> {
            while let Some(payload) = ctx.recv("input")? {
                let doc = payload
                    .as_metrics()
                    .ok_or(OpError::Failed("not metrics".into()))?;
                doc.get("images")
                    .ok_or(OpError::Failed("no images figure".into()))?;
            }
            Ok(())
        }
    }
}
