//! [`GraphBuilder`]: builds a graph in code. It writes the same RON a user would and sends
//! it through the same parser and validator, so a graph built in code is checked exactly
//! like a file.

use std::fmt::Write;

use super::Graph;
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::ops::{Operator, Registry};
use crate::spec::{DeviceSpec, SourceText};

/// Builds a [`Graph`] in code.
///
/// ```
/// use scanflow::ops::{ImageGrid, ImageGridParams, Images, ImagesParams, ImageSource};
/// use scanflow::{GraphBuilder, Registry};
///
/// let source = ImagesParams {
///     source: ImageSource::Folder { path: "../shared/data/cifar10-jpg.tar.gz".into(), split: Some("test".into()) },
///     ..ImagesParams::default()
/// };
/// let builder = GraphBuilder::new("preview")
///     .node::<Images>("test", &source, &[])
///     .node::<ImageGrid>("grid", &ImageGridParams::default(), &[("input", "test")]);
/// let graph = builder.build(&Registry::builtin());
/// # let _ = graph;
/// ```
#[derive(Clone, Debug)]
pub struct GraphBuilder {
    name: String,
    seed: u64,
    device: DeviceSpec,
    capacity: usize,
    nodes: Vec<String>,
    errors: Vec<Diagnostic>,
}

impl GraphBuilder {
    /// A graph called `name` (its run folder is `runs/<name>/`).
    pub fn new(name: impl Into<String>) -> Self {
        GraphBuilder {
            name: name.into(),
            seed: 0,
            device: DeviceSpec::Auto,
            capacity: 4,
            nodes: Vec::new(),
            errors: Vec::new(),
        }
    }

    /// Sets the graph seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Sets the default channel capacity.
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }

    /// Sets the device.
    pub fn device(mut self, device: DeviceSpec) -> Self {
        self.device = device;
        self
    }

    /// Adds node `id` running operator `O` with `params`; `inputs` pairs each input field
    /// with the id of the node feeding it.
    pub fn node<O: Operator>(
        mut self,
        id: &str,
        params: &O::Params,
        inputs: &[(&str, &str)],
    ) -> Self {
        let body = match ron::to_string(params) {
            Ok(body) => body,
            Err(e) => {
                let message = format!("cannot serialise parameters: {e}");
                self.errors
                    .push(Diagnostic::error("<builder>", message).node(id));
                return self;
            }
        };
        let mut fields = body.trim_end_matches(')').to_string();
        for (field, from) in inputs {
            let sep = if fields.ends_with('(') { "" } else { "," };
            let _ = write!(fields, "{sep}{field}:{}", quote(from));
        }
        self.nodes
            .push(format!("{}: {}{fields})", quote(id), O::NAME));
        self
    }

    /// The RON text of the graph built so far.
    pub fn to_ron(&self) -> String {
        format!(
            "Graph(name: {}, seed: {}, device: {:?}, capacity: {}, nodes: {{\n    {},\n}})\n",
            quote(&self.name),
            self.seed,
            self.device,
            self.capacity,
            self.nodes.join(",\n    ")
        )
    }

    /// Validates and wires the graph against `registry`.
    pub fn build(self, registry: &Registry) -> Result<Graph, Diagnostics> {
        if !self.errors.is_empty() {
            return Err(Diagnostics(self.errors));
        }
        let source = SourceText::new(format!("<builder:{}>", self.name), self.to_ron());
        Graph::from_source(source, registry, &[])
    }
}

fn quote(text: &str) -> String {
    ron::to_string(text).unwrap_or_else(|_| format!("{text:?}"))
}
