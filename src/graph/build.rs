//! First validation pass: resolve each node's operator, sort its fields into engine options,
//! input references and parameters, and let the operator parse and check its parameters.

use std::path::Path;

use ron::error::Error as RonError;

use super::Node;
use crate::diagnostic::{did_you_mean, Diagnostic};
use crate::ops::{BuildContext, ConfigureError, ErasedOperator, InputPort, Registry};
use crate::spec::{
    describe_ron_error, offset_in, parse_string, ron_options, FieldSpec, GraphSpec, NodeSpec,
};

/// Field names every node accepts, handled by the engine.
pub const ENGINE_FIELDS: [&str; 2] = ["capacity", "workers"];

/// A node built but not yet wired: its input references are still node ids.
pub struct Draft {
    /// The node, with `inputs` still empty.
    pub node: Node,
    /// Input ports and the id each names.
    pub refs: Vec<(InputPort, String)>,
    /// Index of the node in the spec.
    pub spec_index: usize,
}

/// Builds every node it can, collecting every error.
pub fn build_nodes(
    spec: &GraphSpec,
    registry: &Registry,
    base_dir: &Path,
) -> (Vec<Draft>, Vec<Diagnostic>) {
    let mut drafts = Vec::new();
    let mut errors = spec.errors.clone();
    for (spec_index, node) in spec.nodes.iter().enumerate() {
        if node.operator.is_empty() {
            continue; // its body did not parse; already reported
        }
        match build_node(spec, node, registry, base_dir) {
            Ok(mut draft) => {
                draft.spec_index = spec_index;
                drafts.push(draft);
            }
            Err(mut e) => errors.append(&mut e),
        }
    }
    (drafts, errors)
}

struct Sorted<'a> {
    capacity: Option<usize>,
    workers: Option<usize>,
    refs: Vec<(InputPort, String)>,
    /// Input fields written, even with a bad value (so they are not also reported missing).
    given_inputs: Vec<&'static str>,
    params: Vec<&'a FieldSpec>,
}

fn build_node(
    spec: &GraphSpec,
    node: &NodeSpec,
    registry: &Registry,
    base_dir: &Path,
) -> Result<Draft, Vec<Diagnostic>> {
    let Some(operator) = registry.get(&node.operator) else {
        let hint = did_you_mean(&node.operator, registry.names());
        let message = format!("unknown operator `{}`", node.operator);
        let error = Diagnostic::error(spec.location(node, None), message).node(&node.id);
        return Err(vec![error.hint(hint)]);
    };
    let mut errors = Vec::new();
    let sorted = sort_fields(spec, node, operator.as_ref(), &mut errors);
    check_required_inputs(
        spec,
        node,
        operator.as_ref(),
        &sorted.given_inputs,
        &mut errors,
    );
    let ctx = BuildContext {
        node_id: node.id.clone(),
        base_dir: base_dir.to_path_buf(),
    };
    let configured = configure(spec, node, operator.as_ref(), &sorted.params, &ctx);
    let configured = match configured {
        Ok(c) if errors.is_empty() => c,
        Ok(_) => return Err(errors),
        Err(mut e) => {
            errors.append(&mut e);
            return Err(errors);
        }
    };
    let built = Node {
        id: node.id.clone(),
        operator: operator.clone(),
        params: configured.canonical,
        inputs: Vec::new(),
        capacity: sorted.capacity,
        workers: sorted.workers,
        runnable: Some(configured.node),
    };
    Ok(Draft {
        node: built,
        refs: sorted.refs,
        spec_index: 0,
    })
}

fn sort_fields<'a>(
    spec: &GraphSpec,
    node: &'a NodeSpec,
    operator: &dyn ErasedOperator,
    errors: &mut Vec<Diagnostic>,
) -> Sorted<'a> {
    let mut sorted = Sorted {
        capacity: None,
        workers: None,
        refs: Vec::new(),
        given_inputs: Vec::new(),
        params: Vec::new(),
    };
    for field in &node.fields {
        let error = |message: String| {
            let location = spec.location(node, Some(&field.name));
            Diagnostic::error(location, message)
                .node(&node.id)
                .field(&field.name)
        };
        let port = operator.inputs().iter().find(|p| p.field == field.name);
        if let Some(slot) = engine_slot(&mut sorted, &field.name) {
            match field.value.parse::<usize>() {
                Ok(n) if n >= 1 => *slot = Some(n),
                _ => errors.push(error(format!(
                    "expected a whole number ≥ 1, found `{}`",
                    field.value
                ))),
            }
        } else if let Some(port) = port {
            sorted.given_inputs.push(port.field);
            match parse_string(&field.value) {
                Some(id) => sorted.refs.push((*port, id)),
                None => errors.push(error(format!(
                    "expected the id of the node feeding this input, as a string (e.g. `\"train\"`), found `{}`",
                    field.value
                ))),
            }
        } else if operator.params().iter().any(|p| p.name == field.name) {
            sorted.params.push(field);
        } else {
            let known = operator.params().iter().map(|p| p.name);
            let known = known.chain(operator.inputs().iter().map(|p| p.field));
            let hint = did_you_mean(&field.name, known.chain(ENGINE_FIELDS));
            let message = format!(
                "unknown parameter `{}` for operator `{}`",
                field.name,
                operator.name()
            );
            errors.push(error(message).hint(hint));
        }
    }
    sorted
}

fn engine_slot<'s>(sorted: &'s mut Sorted, name: &str) -> Option<&'s mut Option<usize>> {
    match name {
        "capacity" => Some(&mut sorted.capacity),
        "workers" => Some(&mut sorted.workers),
        _ => None,
    }
}

fn check_required_inputs(
    spec: &GraphSpec,
    node: &NodeSpec,
    operator: &dyn ErasedOperator,
    given: &[&'static str],
    errors: &mut Vec<Diagnostic>,
) {
    for port in operator.inputs().iter().filter(|p| p.required) {
        if !given.contains(&port.field) {
            let message = format!(
                "missing required input `{}` ({}), e.g. `{}: \"train\"`",
                port.field, port.payload, port.field
            );
            let d = Diagnostic::error(spec.location(node, None), message).node(&node.id);
            errors.push(d.field(port.field));
        }
    }
}

/// The parameter fields re-assembled as one RON struct body, remembering where each field
/// came from so a parse error inside it can be located in the file.
struct ParamsText<'a> {
    text: String,
    /// Per field: where its name starts and where its value starts in `text`.
    segments: Vec<(usize, usize, &'a FieldSpec)>,
}

impl<'a> ParamsText<'a> {
    fn new(params: &[&'a FieldSpec]) -> Self {
        let mut text = String::from("(");
        let mut segments = Vec::new();
        for field in params {
            let name_start = text.len();
            text.push_str(&field.name);
            text.push_str(": ");
            segments.push((name_start, text.len(), *field));
            text.push_str(&field.value);
            text.push_str(", ");
        }
        text.push(')');
        ParamsText { text, segments }
    }

    /// The field whose `name: value` holds byte `at` of the text, and the offset of `at`
    /// within its value (0 when `at` falls before the value).
    fn locate(&self, at: usize) -> Option<(&'a FieldSpec, usize)> {
        self.segments
            .iter()
            .find(|(name_start, value_start, field)| {
                *name_start <= at && at <= value_start + field.value.len()
            })
            .map(|(_, value_start, field)| (*field, at.saturating_sub(*value_start)))
    }
}

fn configure(
    spec: &GraphSpec,
    node: &NodeSpec,
    operator: &dyn ErasedOperator,
    params: &[&FieldSpec],
    ctx: &BuildContext,
) -> Result<crate::ops::Configured, Vec<Diagnostic>> {
    let text = ParamsText::new(params);
    operator
        .configure(&text.text, &ron_options(), ctx)
        .map_err(|error| match error {
            ConfigureError::Parse(e) => vec![parse_error(spec, node, &text, &e)],
            ConfigureError::Invalid(list) => list
                .into_iter()
                .map(|p| {
                    let field = (!p.field.is_empty()).then_some(p.field.as_str());
                    let d = Diagnostic::error(spec.location(node, field), p.message).node(&node.id);
                    if p.field.is_empty() {
                        d
                    } else {
                        d.field(p.field)
                    }
                })
                .collect(),
        })
}

fn parse_error(
    spec: &GraphSpec,
    node: &NodeSpec,
    text: &ParamsText,
    error: &ron::error::SpannedError,
) -> Diagnostic {
    let (message, hint) = describe_ron_error(&error.code);
    if let RonError::MissingStructField { field, .. } = &error.code {
        let message = format!("missing required parameter `{field}`");
        return Diagnostic::error(spec.location(node, None), message)
            .node(&node.id)
            .field(*field);
    }
    let at = offset_in(&text.text, error.span.start);
    let diagnostic = match text.locate(at) {
        Some((field, delta)) => {
            let location = match field.offset {
                Some(offset) => spec.source.location(Some(offset + delta)),
                None => spec.location(node, Some(&field.name)),
            };
            Diagnostic::error(location, message)
                .node(&node.id)
                .field(&field.name)
        }
        None => Diagnostic::error(spec.location(node, None), message).node(&node.id),
    };
    diagnostic.hint(hint)
}
