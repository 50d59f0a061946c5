//! The run cache. A node's key hashes its operator, canonical parameters, the graph seed,
//! its inputs' keys and the operator's own salt (e.g. a fingerprint of files it reads).
//! A node whose key matches the `done.json` of an earlier run is not run again: a sink is
//! skipped, an artifact producer replays its saved output. Streams are never stored, so a
//! stream producer runs only when some consumer runs.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::fsutil::write_atomic;
use crate::graph::Graph;
use crate::hash::StableHasher;
use crate::payload::{Payload, PortType};

/// Bumped when the engine changes what a key means.
const KEY_VERSION: &str = "scanflow-cache-1";
const DONE_FILE: &str = "done.json";
const OUTPUT_FILE: &str = "output.json";

/// What the runtime does with a node.
pub(crate) enum Action {
    /// Run it.
    Run,
    /// Send its saved outputs instead of running it.
    Replay(Vec<Payload>),
    /// Nothing needs it.
    Skip,
}

#[derive(Serialize, Deserialize)]
struct Done {
    key: String,
    operator: String,
    params: String,
}

/// Whether a node's output can be stored and replayed (sinks trivially can).
pub(crate) fn cacheable(output: Option<PortType>) -> bool {
    matches!(
        output,
        None | Some(PortType::Metrics) | Some(PortType::Neighbours) | Some(PortType::Model)
    )
}

/// Each node's cache key, in graph order.
pub(crate) fn keys(graph: &Graph, salts: &[String]) -> Vec<String> {
    let mut keys: Vec<String> = Vec::with_capacity(graph.nodes.len());
    for (node, salt) in graph.nodes.iter().zip(salts) {
        let mut hasher = StableHasher::default();
        hasher
            .write_str(KEY_VERSION)
            .write_str(node.operator.name());
        hasher
            .write_str(&node.params)
            .write(&graph.seed.to_le_bytes());
        for edge in &node.inputs {
            hasher.write_str(edge.field).write_str(&keys[edge.from]);
        }
        keys.push(hasher.write_str(salt).hex());
    }
    keys
}

/// Decides each node's action: cached results are reused unless `fresh`.
pub(crate) fn plan(graph: &Graph, keys: &[String], graph_dir: &Path, fresh: bool) -> Vec<Action> {
    let n = graph.nodes.len();
    let mut cached: Vec<Option<Vec<Payload>>> = (0..n)
        .map(|i| {
            let node = &graph.nodes[i];
            let dir = graph_dir.join(&node.id);
            (!fresh && cacheable(node.output()) && is_done(&dir, &keys[i]))
                .then(|| load_output(&dir, node.output()))
                .flatten()
        })
        .collect();
    let mut needed = vec![false; n];
    for i in (0..n).rev() {
        let consumers = graph.consumers(i);
        needed[i] = cached[i].is_none()
            && (consumers.is_empty() || consumers.iter().any(|(c, _)| needed[*c]));
    }
    (0..n)
        .map(|i| match cached[i].take() {
            _ if needed[i] => Action::Run,
            Some(saved) if graph.consumers(i).iter().any(|(c, _)| needed[*c]) => {
                Action::Replay(saved)
            }
            _ => Action::Skip,
        })
        .collect()
}

fn is_done(dir: &Path, key: &str) -> bool {
    std::fs::read(dir.join(DONE_FILE))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Done>(&bytes).ok())
        .is_some_and(|done| done.key == key)
}

fn load_output(dir: &Path, output: Option<PortType>) -> Option<Vec<Payload>> {
    match output {
        None => Some(Vec::new()),
        Some(PortType::Metrics) => {
            let bytes = std::fs::read(dir.join(OUTPUT_FILE)).ok()?;
            let docs: Vec<serde_json::Value> = serde_json::from_slice(&bytes).ok()?;
            Some(
                docs.into_iter()
                    .map(|d| Payload::Metrics(d.into()))
                    .collect(),
            )
        }
        Some(PortType::Neighbours) => {
            let table = crate::knn::load_table(dir).ok()?;
            Some(vec![Payload::Neighbours(table.into())])
        }
        Some(PortType::Model) => {
            let model = crate::model::ModelArtifact::load(dir)?;
            Some(vec![Payload::Model(model.into())])
        }
        Some(_) => None,
    }
}

/// Removes a node's completion marker before it runs, so a crash cannot leave a stale one.
pub(crate) fn invalidate(dir: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(dir.join(DONE_FILE)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Stores a finished node's outputs, then its completion marker (in that order, atomically).
pub(crate) fn save(
    dir: &Path,
    key: &str,
    operator: &str,
    params: &str,
    outputs: &[Payload],
) -> std::io::Result<()> {
    let docs: Vec<&serde_json::Value> = outputs.iter().filter_map(Payload::as_metrics).collect();
    if !docs.is_empty() {
        write_atomic(&dir.join(OUTPUT_FILE), &serde_json::to_vec_pretty(&docs)?)?;
    }
    if let Some(table) = outputs.iter().find_map(Payload::as_neighbours) {
        crate::knn::save_table(dir, table)?;
    }
    if let Some(model) = outputs.iter().find_map(Payload::as_model) {
        model.save(dir)?;
    }
    let done = Done {
        key: key.to_string(),
        operator: operator.to_string(),
        params: params.to_string(),
    };
    write_atomic(&dir.join(DONE_FILE), &serde_json::to_vec_pretty(&done)?)
}
