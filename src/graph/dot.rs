//! Two renderings of a wired graph: Graphviz DOT (`scanflow graph`) and a plain-text
//! listing of nodes and edges (`scanflow check`).

use std::fmt::Write;

use super::Graph;

impl Graph {
    /// The graph in Graphviz DOT: one box per node (id and operator), one arrow per edge
    /// labelled with the consumer's field and the payload type.
    pub fn to_dot(&self) -> String {
        let mut dot = format!(
            "digraph \"{}\" {{\n  rankdir=LR;\n  node [shape=box, fontname=\"monospace\"];\n",
            escape(&self.name)
        );
        for node in &self.nodes {
            let shape = if node.output().is_none() {
                ", style=rounded"
            } else {
                ""
            };
            let _ = writeln!(
                dot,
                "  \"{}\" [label=\"{}\\n{}\"{shape}];",
                escape(&node.id),
                escape(&node.id),
                node.operator.name()
            );
        }
        for node in &self.nodes {
            for edge in &node.inputs {
                let _ = writeln!(
                    dot,
                    "  \"{}\" -> \"{}\" [label=\"{}: {}\"];",
                    escape(&self.nodes[edge.from].id),
                    escape(&node.id),
                    edge.field,
                    edge.payload
                );
            }
        }
        dot.push_str("}\n");
        dot
    }

    /// A listing of the wired graph: each node with its operator, inputs, output type,
    /// channel capacity and canonical parameters.
    pub fn describe(&self) -> String {
        let mut text = format!(
            "graph `{}`: {} nodes, seed {}, device {:?}, channel capacity {}\n",
            self.name,
            self.nodes.len(),
            self.seed,
            self.device,
            self.capacity
        );
        for node in &self.nodes {
            let output = node
                .output()
                .map_or("nothing (sink)".to_string(), |p| p.describe());
            let _ = writeln!(text, "  {} = {}  → {output}", node.id, node.operator.name());
            for edge in &node.inputs {
                let capacity = node.capacity.unwrap_or(self.capacity);
                let from = &self.nodes[edge.from].id;
                let _ = writeln!(
                    text,
                    "      {}: ← {from} ({}, capacity {capacity})",
                    edge.field, edge.payload
                );
            }
            let _ = writeln!(text, "      params: {}", node.params);
        }
        text
    }
}

fn escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}
