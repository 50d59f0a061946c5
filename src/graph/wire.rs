//! Second validation pass: resolve input references to producers, check payload types,
//! reject cycles, order nodes topologically and warn about outputs nobody reads.

use std::collections::HashMap;

use super::build::Draft;
use super::{Edge, Node};
use crate::diagnostic::{did_you_mean, Diagnostic};
use crate::spec::GraphSpec;

/// Wires the drafts; problems are appended to `diagnostics`. Returns the nodes in
/// topological order (empty when the graph has a cycle).
pub fn wire(spec: &GraphSpec, drafts: Vec<Draft>, diagnostics: &mut Vec<Diagnostic>) -> Vec<Node> {
    let index: HashMap<&str, usize> = drafts
        .iter()
        .enumerate()
        .map(|(i, d)| (d.node.id.as_str(), i))
        .collect();
    let mut inputs: Vec<Vec<Edge>> = Vec::with_capacity(drafts.len());
    for draft in &drafts {
        inputs.push(resolve(spec, draft, &drafts, &index, diagnostics));
    }
    let order = match topological_order(&inputs) {
        Ok(order) => order,
        Err(done) => {
            diagnostics.push(cycle_error(spec, &drafts, &inputs, &done));
            return Vec::new();
        }
    };
    let mut nodes = reorder(drafts, inputs, &order);
    warn_unused(spec, &mut nodes, diagnostics);
    nodes
}

fn resolve(
    spec: &GraphSpec,
    draft: &Draft,
    drafts: &[Draft],
    index: &HashMap<&str, usize>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<Edge> {
    let node_spec = &spec.nodes[draft.spec_index];
    let mut edges = Vec::new();
    for (port, target) in &draft.refs {
        let location = spec.location(node_spec, Some(port.field));
        let error = |message: String| {
            Diagnostic::error(location.clone(), message)
                .node(&draft.node.id)
                .field(port.field)
        };
        let Some(&from) = index.get(target.as_str()) else {
            if spec.nodes.iter().any(|n| &n.id == target) {
                continue; // the producer itself failed to build and was already reported
            }
            let hint = did_you_mean(target, spec.nodes.iter().map(|n| n.id.as_str()));
            diagnostics.push(error(format!("no node named `{target}`")).hint(hint));
            continue;
        };
        match drafts[from].node.output() {
            Some(payload) if payload == port.payload => {}
            Some(payload) => diagnostics.push(error(format!(
                "expects {} but `{target}` ({}) emits {payload}",
                port.payload,
                drafts[from].node.operator.name()
            ))),
            None => diagnostics.push(error(format!(
                "expects {} but `{target}` ({}) is a sink and emits nothing",
                port.payload,
                drafts[from].node.operator.name()
            ))),
        }
        // Kept even when mistyped, so a cycle is still found and reported with it.
        edges.push(Edge {
            field: port.field,
            from,
            payload: port.payload,
        });
    }
    edges
}

/// Kahn's algorithm, keeping file order among ready nodes. On a cycle, returns which nodes
/// were ordered (the others lie on or downstream of a cycle).
fn topological_order(inputs: &[Vec<Edge>]) -> Result<Vec<usize>, Vec<bool>> {
    let mut pending: Vec<usize> = inputs.iter().map(Vec::len).collect();
    let mut order = Vec::with_capacity(inputs.len());
    let mut done = vec![false; inputs.len()];
    while order.len() < inputs.len() {
        let Some(next) = (0..inputs.len()).find(|&i| !done[i] && pending[i] == 0) else {
            return Err(done);
        };
        done[next] = true;
        order.push(next);
        for (i, edges) in inputs.iter().enumerate() {
            pending[i] -= edges.iter().filter(|e| e.from == next).count();
        }
    }
    Ok(order)
}

fn cycle_error(
    spec: &GraphSpec,
    drafts: &[Draft],
    inputs: &[Vec<Edge>],
    done: &[bool],
) -> Diagnostic {
    let path = find_cycle(inputs, done);
    let names: Vec<&str> = path.iter().map(|&i| drafts[i].node.id.as_str()).collect();
    let first = &drafts[path[0]];
    let location = spec.location(&spec.nodes[first.spec_index], None);
    let message = format!("the graph has a cycle: {}", names.join(" → "));
    Diagnostic::error(location, message).node(&first.node.id)
}

/// A cycle as node indices in data-flow order, the first node repeated at the end.
/// Every unordered node has an input from another unordered node, so walking those
/// inputs must come back to a node already visited.
fn find_cycle(inputs: &[Vec<Edge>], done: &[bool]) -> Vec<usize> {
    let start = (0..inputs.len()).find(|&i| !done[i]).unwrap_or(0);
    let mut path = vec![start];
    let mut current = start;
    while let Some(edge) = inputs[current].iter().find(|e| !done[e.from]) {
        current = edge.from;
        if let Some(at) = path.iter().position(|&n| n == current) {
            let mut cycle = path[at..].to_vec();
            cycle.push(current);
            cycle.reverse();
            return cycle;
        }
        path.push(current);
    }
    path
}

fn reorder(drafts: Vec<Draft>, inputs: Vec<Vec<Edge>>, order: &[usize]) -> Vec<Node> {
    let mut position = vec![0; order.len()];
    for (new, &old) in order.iter().enumerate() {
        position[old] = new;
    }
    let mut slots: Vec<Option<(Node, Vec<Edge>)>> = drafts
        .into_iter()
        .zip(inputs)
        .map(|(d, edges)| Some((d.node, edges)))
        .collect();
    order
        .iter()
        .filter_map(|&old| slots[old].take())
        .map(|(mut node, edges)| {
            node.inputs = edges
                .into_iter()
                .map(|e| Edge {
                    from: position[e.from],
                    ..e
                })
                .collect();
            node
        })
        .collect()
}

fn warn_unused(spec: &GraphSpec, nodes: &mut [Node], diagnostics: &mut Vec<Diagnostic>) {
    for (i, node) in nodes.iter().enumerate() {
        let Some(payload) = node.output() else {
            continue;
        };
        let used = nodes.iter().any(|n| n.inputs.iter().any(|e| e.from == i));
        if !used && !payload.is_artifact() {
            let Some(node_spec) = spec.nodes.iter().find(|n| n.id == node.id) else {
                continue;
            };
            let message = format!("its output ({payload}) is not read by any node");
            diagnostics
                .push(Diagnostic::warning(spec.location(node_spec, None), message).node(&node.id));
        }
    }
}
