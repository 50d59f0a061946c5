//! Neighbour mining end to end: a RON graph `Features(source: Npy(...)) → Knn(...)` on a
//! generated `.npy`, its files, the cached table replayed to a consumer added later, and
//! the saved HNSW index reused by an edited node.

mod common;

use std::path::Path;

use scanflow::data::{read_npy_matrix, read_npy_u32, write_npy_f32};
use scanflow::knn::synthetic::clustered;
use scanflow::runtime::{NodeState, ProgressMode};
use scanflow::{Graph, RunOptions, RunReport};

fn graph_text(npy: &Path, reader: bool) -> String {
    let reader = if reader {
        r#""reader": NeighbourCheck(input: "exact"),"#
    } else {
        ""
    };
    format!(
        r#"Graph(name: "mine", nodes: {{
            "features": Features(source: Npy(path: "{}"), batch: 64),
            "exact": Knn(input: "features", k: 5, index: Exact),
            "approx": Knn(input: "features", k: 5, index: Hnsw(m: 8, ef_construction: 100, ef_search: 64)),
            {reader}
        }})"#,
        npy.display()
    )
}

fn run(text: &str, runs: &Path) -> RunReport {
    let mut registry = common::registry();
    registry.register::<check::NeighbourCheck>();
    let source = scanflow::spec::SourceText::new("mine.ron", text);
    let graph = Graph::from_source(source, &registry, &[]).unwrap();
    let options = RunOptions {
        runs_dir: runs.to_path_buf(),
        progress: ProgressMode::Quiet,
        ..RunOptions::default()
    };
    scanflow::run(graph, &options).unwrap()
}

#[test]
fn features_to_knn_writes_tables_and_replays_them() {
    let dir = tempfile::tempdir().unwrap();
    let npy = dir.path().join("features.npy");
    let (data, _) = clustered(300, 16, 6, 0.3, 5);
    write_npy_f32(&npy, 300, 16, &data).unwrap();
    let runs = dir.path().join("runs");
    let first = run(&graph_text(&npy, false), &runs);
    assert!(first.nodes.iter().all(|n| n.state == NodeState::Ran));
    let exact = runs.join("mine/exact");
    let (n, k, indices) = read_npy_u32(&exact.join("neighbours.npy")).unwrap();
    assert_eq!((n, k), (300, 5));
    assert!(indices
        .chunks(5)
        .enumerate()
        .all(|(i, r)| !r.contains(&(i as u32))));
    let sims = read_npy_matrix(&exact.join("similarities.npy")).unwrap();
    assert_eq!((sims.rows, sims.cols), (300, 5));
    assert!(sims
        .data
        .chunks(5)
        .all(|r| r.windows(2).all(|w| w[0] >= w[1])));
    let quality = std::fs::read_to_string(runs.join("mine/approx/quality.json")).unwrap();
    let quality: serde_json::Value = serde_json::from_str(&quality).unwrap();
    assert!(quality["recall_at_k"].as_f64().unwrap() >= 0.9, "{quality}");
    assert!(runs.join("mine/approx/hnsw.json").exists());

    let second = run(&graph_text(&npy, true), &runs);
    assert_eq!(second.node("exact").unwrap().state, NodeState::Cached);
    assert_eq!(second.node("features").unwrap().state, NodeState::Skipped);
    assert_eq!(second.node("reader").unwrap().state, NodeState::Ran);
    assert_eq!(second.node("reader").unwrap().items_in, 300);
}

fn quality(runs: &Path, node: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(runs.join("mine").join(node).join("quality.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn an_edited_knn_node_reuses_its_saved_hnsw_index_when_the_construction_is_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let npy = dir.path().join("features.npy");
    let (data, _) = clustered(300, 16, 6, 0.3, 5);
    write_npy_f32(&npy, 300, 16, &data).unwrap();
    let runs = dir.path().join("runs");
    let text = graph_text(&npy, false);
    run(&text, &runs);
    assert_eq!(quality(&runs, "approx")["index_reused"], false);
    let graph_file = runs.join("mine/approx/hnsw.graph");
    let built = std::fs::read(&graph_file).unwrap();

    let wider = text.replace(
        "k: 5, index: Hnsw(m: 8, ef_construction: 100, ef_search: 64)",
        "k: 7, index: Hnsw(m: 8, ef_construction: 100, ef_search: 80)",
    );
    let second = run(&wider, &runs);
    assert_eq!(second.node("approx").unwrap().state, NodeState::Ran);
    let report = quality(&runs, "approx");
    assert_eq!(report["index_reused"], true, "{report}");
    assert!(report["recall_at_k"].as_f64().unwrap() >= 0.9, "{report}");
    let (n, k, _) = read_npy_u32(&runs.join("mine/approx/neighbours.npy")).unwrap();
    assert_eq!((n, k), (300, 7));
    assert_eq!(std::fs::read(&graph_file).unwrap(), built);

    let rebuilt = text.replace("Hnsw(m: 8,", "Hnsw(m: 12,");
    run(&rebuilt, &runs);
    let report = quality(&runs, "approx");
    assert_eq!(report["index_reused"], false, "{report}");
    let why = report["index_rebuilt_because"].as_str().unwrap();
    assert!(why.contains("m 8, ef_construction 100"), "{why}");
}

mod check {
    use scanflow::data::read_npy_u32;
    use scanflow::ops::{BuildContext, InputPort, ParamDoc, ParamError};
    use scanflow::{Context, OpError, Operator, PortType};

    /// Checks a received neighbour table equals the `neighbours.npy` the Knn node wrote.
    pub struct NeighbourCheck;

    impl Operator for NeighbourCheck {
        type Params = scanflow::ops::ChannelStatsParams;
        const NAME: &'static str = "NeighbourCheck";
        const SUMMARY: &'static str = "test: checks a neighbour table";
        const PARAMS: &'static [ParamDoc] = &[];
        const INPUTS: &'static [InputPort] = &[InputPort {
            field: "input",
            payload: PortType::Neighbours,
            required: true,
            doc: "the table",
        }];
        const OUTPUT: Option<PortType> = None;
        fn build(_: Self::Params, _: &BuildContext) -> Result<Self, Vec<ParamError>> {
            Ok(NeighbourCheck)
        }
        fn run(self, ctx: &mut Context) -> Result<(), OpError> {
            let saved = ctx.run_dir().join("../exact/neighbours.npy");
            let (_, _, indices) = read_npy_u32(&saved)?;
            while let Some(payload) = ctx.recv("input")? {
                let table = payload
                    .as_neighbours()
                    .ok_or(OpError::Failed("not a table".into()))?;
                if table.indices != indices || table.k != 5 {
                    return Err(OpError::Failed("replayed table differs".into()));
                }
            }
            Ok(())
        }
    }
}
