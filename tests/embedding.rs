//! scanflow as a library: a graph built in code, a graph file naming an operator defined
//! outside the crate, and outputs read back from the run.

mod common;

use std::sync::Arc;

use scanflow::data::ImageBatch;
use scanflow::ops::{
    BuildContext, ChannelStats, ChannelStatsParams, ImageGrid, ImageGridParams, ImageSource,
    Images, ImagesParams, InputPort, ParamDoc, ParamError,
};
use scanflow::runtime::{NodeState, ProgressMode};
use scanflow::{
    Context, Graph, GraphBuilder, OpError, Operator, Payload, PortType, Registry, RunOptions,
};

const ARCHIVE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/data/cifar10-jpg.tar.gz"
);

/// A user's operator: keeps only the red channel.
struct RedOnly;

impl Operator for RedOnly {
    type Params = ChannelStatsParams;
    const NAME: &'static str = "RedOnly";
    const SUMMARY: &'static str = "Zeroes green and blue.";
    const PARAMS: &'static [ParamDoc] = &[];
    const INPUTS: &'static [InputPort] = &[InputPort {
        field: "input",
        payload: PortType::Images,
        required: true,
        doc: "images",
    }];
    const OUTPUT: Option<PortType> = Some(PortType::Images);

    fn build(_: Self::Params, _: &BuildContext) -> Result<Self, Vec<ParamError>> {
        Ok(RedOnly)
    }

    fn run(self, ctx: &mut Context) -> Result<(), OpError> {
        while let Some(batch) = ctx.recv_images("input")? {
            let mut out = ImageBatch::clone(&batch);
            out.pixels
                .chunks_exact_mut(3)
                .for_each(|p| (p[1], p[2]) = (0, 0));
            ctx.send(Payload::Images(Arc::new(out)))?;
        }
        Ok(())
    }
}

fn options(dir: &tempfile::TempDir, collect: &[&str]) -> RunOptions {
    RunOptions {
        runs_dir: dir.path().to_path_buf(),
        progress: ProgressMode::Quiet,
        collect: collect.iter().map(|s| s.to_string()).collect(),
        ..RunOptions::default()
    }
}

#[test]
fn a_user_operator_is_named_in_ron_like_a_built_in() {
    let mut registry = Registry::builtin();
    registry.register::<RedOnly>();
    let text = format!(
        r#"Graph(name: "red", nodes: {{
            "test": Images(source: Folder(path: "{ARCHIVE}", split: "test"), per_class: 5, batch: 16),
            "red": RedOnly(input: "test"),
            "stats": ChannelStats(input: "red"),
        }})"#
    );
    let graph = Graph::from_source(
        scanflow::spec::SourceText::new("red.ron", text),
        &registry,
        &[],
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let report = scanflow::run(graph, &options(&dir, &["red", "stats"])).unwrap();
    let batches: Vec<_> = report
        .outputs("red")
        .iter()
        .filter_map(|p| p.as_images())
        .collect();
    assert_eq!(batches.iter().map(|b| b.len()).sum::<usize>(), 50);
    assert!(batches
        .iter()
        .all(|b| b.pixels.chunks(3).all(|p| p[1] == 0 && p[2] == 0)));
    let stats = report.outputs("stats")[0].as_metrics().unwrap().clone();
    assert_eq!(stats["mean"][1], 0.0);
    assert!(stats["mean"][0].as_f64().unwrap() > 0.2);
}

#[test]
fn a_graph_built_in_code_runs_and_is_validated_like_a_file() {
    let source = ImagesParams {
        source: ImageSource::Folder {
            path: ARCHIVE.into(),
            split: Some("test".into()),
        },
        per_class: Some(3),
        ..ImagesParams::default()
    };
    let grid = ImageGridParams {
        columns: 10,
        images: 30,
        ..ImageGridParams::default()
    };
    let graph = GraphBuilder::new("built")
        .seed(5)
        .node::<Images>("test", &source, &[])
        .node::<ChannelStats>("stats", &ChannelStatsParams {}, &[("input", "test")])
        .node::<ImageGrid>("grid", &grid, &[("input", "test")])
        .build(&Registry::builtin())
        .unwrap();
    assert_eq!(graph.seed, 5);
    let dir = tempfile::tempdir().unwrap();
    let report = scanflow::run(graph, &options(&dir, &[])).unwrap();
    assert!(report.nodes.iter().all(|n| n.state == NodeState::Ran));
    assert!(dir.path().join("built/grid/grid.png").is_file());

    let broken =
        GraphBuilder::new("broken").node::<ImageGrid>("grid", &grid, &[("input", "nowhere")]);
    let errors = broken.build(&Registry::builtin()).err().unwrap();
    assert!(
        errors.to_string().contains("no node named `nowhere`"),
        "{errors}"
    );
}

#[test]
fn test_operators_use_the_same_registry_mechanism() {
    let text = r#"Graph(name: "count", nodes: { "f": Flood(count: 5), "c": Count(input: "f") })"#;
    let dir = tempfile::tempdir().unwrap();
    let report = scanflow::run(common::graph(text), &options(&dir, &[])).unwrap();
    assert_eq!(report.node("c").unwrap().items_in, 5);
}
