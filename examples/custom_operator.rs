//! Embedding scanflow: define an operator in your own crate, register it, name it in a
//! RON graph like a built-in one, run the graph and read its outputs.
//!
//! ```sh
//! cargo run --release --example custom_operator -- ../shared/data/cifar10-jpg.tar.gz
//! ```

use std::sync::Arc;

use scanflow::data::ImageBatch;
use scanflow::ops::{BuildContext, InputPort, ParamDoc, ParamError};
use scanflow::runtime::ProgressMode;
use scanflow::{Context, Graph, OpError, Operator, Payload, PortType, Registry, RunOptions};
use serde::{Deserialize, Serialize};

/// Parameters of [`Invert`].
#[derive(Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InvertParams {
    /// Also swap the red and blue channels.
    pub swap_rb: bool,
}

/// Inverts every pixel (255 − v) of the image batches flowing through it.
pub struct Invert(InvertParams);

impl Operator for Invert {
    type Params = InvertParams;
    const NAME: &'static str = "Invert";
    const SUMMARY: &'static str = "Inverts every pixel of the images flowing through.";
    const PARAMS: &'static [ParamDoc] = &[ParamDoc {
        name: "swap_rb",
        ty: "bool",
        doc: "also swap red and blue",
    }];
    const INPUTS: &'static [InputPort] = &[InputPort {
        field: "input",
        payload: PortType::Images,
        required: true,
        doc: "images to invert",
    }];
    const OUTPUT: Option<PortType> = Some(PortType::Images);

    fn build(params: InvertParams, _ctx: &BuildContext) -> Result<Self, Vec<ParamError>> {
        Ok(Invert(params))
    }

    fn run(self, ctx: &mut Context) -> Result<(), OpError> {
        while let Some(batch) = ctx.recv_images("input")? {
            let mut out = ImageBatch::clone(&batch);
            out.pixels.iter_mut().for_each(|v| *v = 255 - *v);
            if self.0.swap_rb {
                out.pixels.chunks_exact_mut(3).for_each(|p| p.swap(0, 2));
            }
            ctx.send(Payload::Images(Arc::new(out)))?;
        }
        Ok(())
    }
}

fn main() -> anyhow::Result<()> {
    let archive = std::env::args()
        .nth(1)
        .unwrap_or("../shared/data/cifar10-jpg.tar.gz".into());
    let mut registry = Registry::builtin();
    registry.register::<Invert>();
    let text = format!(
        r#"Graph(name: "inverted", nodes: {{
            "test": Images(source: Folder(path: {archive:?}, split: "test"), per_class: 10),
            "invert": Invert(input: "test"),
            "grid": ImageGrid(input: "invert", columns: 10, images: 100),
        }})"#
    );
    let graph = Graph::from_source(
        scanflow::spec::SourceText::new("<example>", text),
        &registry,
        &[],
    )?;
    let options = RunOptions {
        progress: ProgressMode::Quiet,
        collect: vec!["invert".into()],
        ..RunOptions::default()
    };
    let report = scanflow::run(graph, &options)?;
    let images: usize = report
        .outputs("invert")
        .iter()
        .filter_map(|p| p.as_images())
        .map(|b| b.len())
        .sum();
    println!(
        "{}inverted {images} images; grid in {}",
        report.table(),
        report.run_dir.join("grid").display()
    );
    Ok(())
}
