//! The validated, typed DAG: every operator resolved and built, every input wired to a
//! producer of the right payload type, no cycle. Built from a [`GraphSpec`] in one pass
//! that collects every error of the file.

mod build;
mod builder;
mod dot;
mod wire;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::ops::{ErasedOperator, Registry, Runnable};
use crate::payload::PortType;
use crate::spec::{DeviceSpec, GraphSpec, SourceText};

pub use builder::GraphBuilder;

/// A wired, validated graph, ready to run (once).
pub struct Graph {
    /// The graph's name; its run folder is `runs/<name>/`.
    pub name: String,
    /// Seed from which every node's random stream derives.
    pub seed: u64,
    /// Where compute operators run.
    pub device: DeviceSpec,
    /// Default channel capacity.
    pub capacity: usize,
    /// Nodes in topological order (producers before consumers).
    pub nodes: Vec<Node>,
    /// Non-fatal findings, e.g. outputs nobody reads.
    pub warnings: Vec<Diagnostic>,
}

/// One node of a [`Graph`].
pub struct Node {
    /// The node id.
    pub id: String,
    /// Its operator.
    pub operator: Arc<dyn ErasedOperator>,
    /// Its parameters in canonical RON (defaults filled in).
    pub params: String,
    /// Its wired inputs.
    pub inputs: Vec<Edge>,
    /// Capacity of its input channels, overriding the graph's.
    pub capacity: Option<usize>,
    /// Worker threads it may use internally.
    pub workers: Option<usize>,
    pub(crate) runnable: Option<Box<dyn Runnable>>,
}

/// An input of a node, wired to the producing node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edge {
    /// The consumer's field naming the producer.
    pub field: &'static str,
    /// Index of the producer in [`Graph::nodes`].
    pub from: usize,
    /// The payload type carried.
    pub payload: PortType,
}

impl Node {
    /// The output payload type, or `None` for a sink.
    pub fn output(&self) -> Option<PortType> {
        self.operator.output()
    }
}

impl Graph {
    /// Reads, parses and validates a graph file; `overrides` are `node.param=value` strings.
    /// Relative paths inside the graph resolve against the current directory.
    pub fn from_file(
        path: &Path,
        registry: &Registry,
        overrides: &[String],
    ) -> Result<Graph, Diagnostics> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            Diagnostics(vec![Diagnostic::error(
                &name,
                format!("cannot read the graph file: {e}"),
            )])
        })?;
        Graph::from_source(SourceText::new(name, text), registry, overrides)
    }

    /// Parses and validates graph text (`source.name` is used in errors).
    pub fn from_source(
        source: SourceText,
        registry: &Registry,
        overrides: &[String],
    ) -> Result<Graph, Diagnostics> {
        let mut spec = GraphSpec::parse(source).map_err(Diagnostics)?;
        let errors: Vec<_> = overrides
            .iter()
            .filter_map(|o| spec.apply_override(o).err())
            .collect();
        if !errors.is_empty() {
            return Err(Diagnostics(errors));
        }
        Graph::from_spec(&spec, registry, &current_dir())
    }

    /// Validates a parsed spec; relative paths resolve against `base_dir`.
    pub fn from_spec(
        spec: &GraphSpec,
        registry: &Registry,
        base_dir: &Path,
    ) -> Result<Graph, Diagnostics> {
        let (drafts, mut diagnostics) = build::build_nodes(spec, registry, base_dir);
        let wired = wire::wire(spec, drafts, &mut diagnostics);
        if diagnostics
            .iter()
            .any(|d| d.severity == crate::diagnostic::Severity::Error)
        {
            return Err(Diagnostics(diagnostics));
        }
        Ok(Graph {
            name: spec.name.clone(),
            seed: spec.seed,
            device: spec.device,
            capacity: spec.capacity,
            nodes: wired,
            warnings: diagnostics,
        })
    }

    /// Index of the node called `id`.
    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.id == id)
    }

    /// Indices of the nodes reading node `index`'s output, with the field they read it on.
    pub fn consumers(&self, index: usize) -> Vec<(usize, &'static str)> {
        let mut found = Vec::new();
        for (i, node) in self.nodes.iter().enumerate() {
            for edge in node.inputs.iter().filter(|e| e.from == index) {
                found.push((i, edge.field));
            }
        }
        found
    }
}

fn current_dir() -> PathBuf {
    std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."))
}

#[cfg(test)]
mod tests;
