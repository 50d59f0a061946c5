//! The graph file as written: the serde/RON schema ([`GraphSpec`], [`NodeSpec`],
//! [`FieldSpec`]) and its parser. Nothing here knows operators; `graph` validates.
//!
//! Node bodies are kept as text with their offsets so that every later error can point
//! at the line and column of the node or field concerned.

mod raw;
mod ron_error;
mod source;

use ron::extensions::Extensions;
use serde::{Deserialize, Serialize};

use crate::diagnostic::{did_you_mean, Diagnostic};
pub use raw::parse_string;
use raw::{RawFields, RawMap};
pub use ron_error::{describe_ron_error, ron_error};
pub use source::{offset_in, SourceText};

/// The RON options every graph file (and every node body) is read with.
pub fn ron_options() -> ron::Options {
    ron::Options::default().with_default_extension(Extensions::IMPLICIT_SOME)
}

/// Where operators run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeviceSpec {
    /// The GPU when built with CUDA and one is present, else the CPU.
    #[default]
    Auto,
    /// The CPU.
    Cpu,
    /// The CUDA device with this ordinal.
    Cuda(usize),
}

fn default_capacity() -> usize {
    4
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename = "Graph")]
struct RawGraph<'a> {
    name: String,
    #[serde(default)]
    seed: u64,
    #[serde(default)]
    device: DeviceSpec,
    #[serde(default = "default_capacity")]
    capacity: usize,
    #[serde(borrow)]
    nodes: RawMap<'a>,
}

/// A whole graph file, parsed but not validated.
#[derive(Clone, Debug)]
pub struct GraphSpec {
    /// The graph's name; its run folder is `runs/<name>/`.
    pub name: String,
    /// Seed from which every node's random stream derives.
    pub seed: u64,
    /// Where compute operators run.
    pub device: DeviceSpec,
    /// Default capacity of every edge's channel.
    pub capacity: usize,
    /// The nodes in file order.
    pub nodes: Vec<NodeSpec>,
    /// The file's text, for locating errors.
    pub source: SourceText,
    /// Problems found in node bodies while parsing; such nodes are kept (so references to
    /// them resolve) with an empty `operator`.
    pub errors: Vec<Diagnostic>,
}

/// One node: its id, operator name and fields, with where each was written.
#[derive(Clone, Debug)]
pub struct NodeSpec {
    /// The node id (the key in `nodes`).
    pub id: String,
    /// Offset of the id in the file.
    pub offset: Option<usize>,
    /// The operator name, e.g. `Images`; empty when the node's body did not parse.
    pub operator: String,
    /// The fields inside the operator's parentheses, in file order.
    pub fields: Vec<FieldSpec>,
}

/// One `name: value` field of a node, the value kept as RON text.
#[derive(Clone, Debug)]
pub struct FieldSpec {
    /// Field name.
    pub name: String,
    /// The value's RON text.
    pub value: String,
    /// Offset of the value in the file; `None` when it came from `--set`.
    pub offset: Option<usize>,
}

impl GraphSpec {
    /// Parses a graph file. Node-level problems are all collected in [`GraphSpec::errors`];
    /// a file whose overall shape is wrong yields one error at the position RON reports.
    pub fn parse(source: SourceText) -> Result<GraphSpec, Vec<Diagnostic>> {
        let raw: RawGraph = ron_options()
            .from_str(&source.text)
            .map_err(|e| vec![ron_error(&source, 0, &source.text, &e)])?;
        let mut nodes = Vec::new();
        let mut errors = Vec::new();
        for (id, value) in raw.nodes.0 {
            if nodes.iter().any(|n: &NodeSpec| n.id == id) {
                let offset = source.offset_of(value.get_ron());
                errors
                    .push(Diagnostic::error(source.location(offset), "duplicate node id").node(id));
                continue;
            }
            match parse_node(&source, id.clone(), value.get_ron()) {
                Ok(node) => nodes.push(node),
                Err(e) => {
                    errors.push(e);
                    let offset = source.offset_of(value.get_ron());
                    nodes.push(NodeSpec {
                        id,
                        offset,
                        operator: String::new(),
                        fields: Vec::new(),
                    });
                }
            }
        }
        Ok(GraphSpec {
            errors,
            name: raw.name,
            seed: raw.seed,
            device: raw.device,
            capacity: raw.capacity,
            nodes,
            source,
        })
    }

    /// Applies `--set node.param=value` (the value is RON text, e.g. `64` or `"train"`).
    pub fn apply_override(&mut self, assignment: &str) -> Result<(), Diagnostic> {
        let location = format!("--set {assignment}");
        let Some((path, value)) = assignment.split_once('=') else {
            return Err(Diagnostic::error(location, "expected `node.param=value`"));
        };
        let Some((node_id, field)) = path.trim().split_once('.') else {
            return Err(Diagnostic::error(location, "expected `node.param=value`"));
        };
        let Some(node) = self.nodes.iter_mut().find(|n| n.id == node_id) else {
            let hint = did_you_mean(node_id, self.nodes.iter().map(|n| n.id.as_str()));
            return Err(
                Diagnostic::error(location, format!("no node named `{node_id}`")).hint(hint),
            );
        };
        node.fields.retain(|f| f.name != field);
        node.fields.push(FieldSpec {
            name: field.to_string(),
            value: value.trim().to_string(),
            offset: None,
        });
        Ok(())
    }

    /// `file:line:col` of a node (or of one of its fields when `field` is given and was written in the file).
    pub fn location(&self, node: &NodeSpec, field: Option<&str>) -> String {
        let field = field.and_then(|name| node.fields.iter().find(|f| f.name == name));
        match field {
            Some(FieldSpec {
                offset: None,
                name,
                value,
            }) => {
                format!("--set {}.{name}={value}", node.id)
            }
            Some(f) => self.source.location(f.offset),
            None => self.source.location(node.offset),
        }
    }
}

fn parse_node(source: &SourceText, id: String, text: &str) -> Result<NodeSpec, Diagnostic> {
    let base = source.offset_of(text).unwrap_or(0);
    let id_offset = source.text[..base]
        .rfind(&format!("\"{id}\""))
        .or(Some(base));
    let name_len = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    let (operator, body) = text.split_at(name_len);
    if operator.is_empty() || operator.starts_with(|c: char| c.is_ascii_digit()) {
        let message = "expected an operator, e.g. `Images(source: Folder(path: \"data/x\"))`";
        return Err(Diagnostic::error(source.location(Some(base)), message).node(id));
    }
    let fields = if body.trim().is_empty() {
        Vec::new()
    } else {
        parse_fields(source, body).map_err(|e| e.node(id.clone()))?
    };
    Ok(NodeSpec {
        id,
        offset: id_offset,
        operator: operator.to_string(),
        fields,
    })
}

fn parse_fields(source: &SourceText, body: &str) -> Result<Vec<FieldSpec>, Diagnostic> {
    let base = source.offset_of(body).unwrap_or(0);
    let raw: RawFields = ron_options()
        .from_str(body)
        .map_err(|e| ron_error(source, base, body, &e))?;
    let mut fields: Vec<FieldSpec> = Vec::new();
    for (name, value) in raw.0 {
        let offset = source.offset_of(value.get_ron());
        if fields.iter().any(|f| f.name == name) {
            let d = Diagnostic::error(source.location(offset), "field given twice");
            return Err(d.field(name));
        }
        let value = value.get_ron().to_string();
        fields.push(FieldSpec {
            name,
            value,
            offset,
        });
    }
    Ok(fields)
}

/// The `(name, value text)` pairs of a RON struct body such as `(a: 1, b: "x")`.
pub fn struct_fields(body: &str) -> Option<Vec<(String, String)>> {
    let raw: RawFields = ron_options().from_str(body).ok()?;
    Some(
        raw.0
            .into_iter()
            .map(|(name, value)| (name, value.get_ron().to_string()))
            .collect(),
    )
}

#[cfg(test)]
mod tests;
