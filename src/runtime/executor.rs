//! Executing a graph: plan against the cache, prepare run folders, wire one bounded
//! channel per live edge, start one thread per node, hand over to the supervisor, and
//! assemble the report (also written to `metrics.json`).

use std::path::Path;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use super::cache::{self, Action};
use super::channel::{Input, Output};
use super::node_thread::{self, Replay};
use super::report::{EdgeReport, NodeReport, NodeState, RunReport};
use super::stats::{EdgeStats, NodeStats};
use super::{CancelToken, Context, RunError, RunFailure, RunOptions};
use crate::fsutil::write_atomic;
use crate::graph::Graph;
use crate::hash::node_seed;
use crate::model::checkpoint::{checkpoints_in, remove_checkpoints};
use crate::ops::Runnable;
use crate::payload::Payload;

/// Everything the supervisor tracks while a run is under way.
pub(super) struct Run<'g> {
    pub(super) graph: &'g Graph,
    pub(super) graph_dir: std::path::PathBuf,
    pub(super) keys: Vec<String>,
    pub(super) states: Vec<NodeState>,
    pub(super) walls: Vec<Duration>,
    pub(super) errors: Vec<Option<String>>,
    pub(super) stats: Vec<Arc<NodeStats>>,
    pub(super) edges: Vec<Arc<EdgeStats>>,
    /// (producer, consumer) node indices of each edge in `edges`.
    pub(super) edge_nodes: Vec<(usize, usize)>,
    pub(super) cancel: CancelToken,
    pub(super) first_error: Option<RunError>,
}

/// Runs a validated graph to completion. Nodes write under `<runs_dir>/<graph name>/`;
/// the figures go to `metrics.json` there, also when the run fails.
pub fn run(mut graph: Graph, options: &RunOptions) -> Result<RunReport, RunFailure> {
    let started = Instant::now();
    let graph_dir = options.runs_dir.join(&graph.name);
    let mut runnables: Vec<Option<Box<dyn Runnable>>> =
        graph.nodes.iter_mut().map(|n| n.runnable.take()).collect();
    let salts: Vec<String> = runnables
        .iter()
        .map(|r| r.as_ref().map(|r| r.cache_salt()).unwrap_or_default())
        .collect();
    let keys = cache::keys(&graph, &salts);
    let actions = cache::plan(&graph, &keys, &graph_dir, options.fresh);
    let mut run = Run::new(&graph, graph_dir, keys, &actions);
    let result = run.execute(&mut runnables, actions, options);
    let report = run.report(started.elapsed(), &result, options);
    match result {
        Ok(outputs) => Ok(RunReport { outputs, ..report }),
        Err(error) => Err(RunFailure {
            error,
            report: Box::new(report),
        }),
    }
}

pub(super) type Collected = std::collections::BTreeMap<String, Vec<Payload>>;

impl<'g> Run<'g> {
    fn new(
        graph: &'g Graph,
        graph_dir: std::path::PathBuf,
        keys: Vec<String>,
        actions: &[Action],
    ) -> Self {
        let n = graph.nodes.len();
        Run {
            graph,
            graph_dir,
            keys,
            states: actions
                .iter()
                .map(|a| match a {
                    Action::Run => NodeState::Ran,
                    Action::Replay(_) => NodeState::Cached,
                    Action::Skip => NodeState::Skipped,
                })
                .collect(),
            walls: vec![Duration::ZERO; n],
            errors: vec![None; n],
            stats: (0..n).map(|_| Arc::new(NodeStats::default())).collect(),
            edges: Vec::new(),
            edge_nodes: Vec::new(),
            cancel: CancelToken::new(),
            first_error: None,
        }
    }

    fn execute(
        &mut self,
        runnables: &mut [Option<Box<dyn Runnable>>],
        actions: Vec<Action>,
        options: &RunOptions,
    ) -> Result<Collected, RunError> {
        self.prepare_dirs(&actions, options.fresh)?;
        let mut contexts = self.wire(&actions, options);
        let (done_tx, done_rx) = crossbeam_channel::unbounded();
        let mut running = 0;
        for (index, action) in actions.into_iter().enumerate() {
            let runnable: Box<dyn Runnable> = match action {
                Action::Skip => continue,
                Action::Replay(saved) => Box::new(Replay(saved)),
                Action::Run => match runnables[index].take() {
                    Some(r) => r,
                    None => continue,
                },
            };
            if let Some(ctx) = contexts[index].take() {
                node_thread::spawn(index, runnable, ctx, done_tx.clone()).map_err(|source| {
                    RunError::Io {
                        path: self.graph_dir.clone(),
                        source,
                    }
                })?;
                running += 1;
            }
        }
        drop(done_tx);
        self.supervise(running, &done_rx, options)
    }

    /// Creates the folder of every node that runs and removes its completion marker; under
    /// `fresh` also its checkpoints, so that training starts over instead of resuming.
    fn prepare_dirs(&self, actions: &[Action], fresh: bool) -> Result<(), RunError> {
        for (node, action) in self.graph.nodes.iter().zip(actions) {
            if matches!(action, Action::Run) {
                let dir = self.graph_dir.join(&node.id);
                let io = |source| RunError::Io {
                    path: dir.clone(),
                    source,
                };
                std::fs::create_dir_all(&dir).map_err(io)?;
                cache::invalidate(&dir).map_err(io)?;
                if fresh {
                    remove_checkpoints(&checkpoints_in(&dir)).map_err(io)?;
                }
            }
        }
        Ok(())
    }

    /// Creates a context per node that will run, and a bounded channel per live edge.
    fn wire(&mut self, actions: &[Action], options: &RunOptions) -> Vec<Option<Context>> {
        let graph = self.graph;
        let default_workers = thread::available_parallelism().map_or(1, |n| n.get());
        let mut contexts: Vec<Option<Context>> = graph
            .nodes
            .iter()
            .enumerate()
            .map(|(i, node)| {
                (!matches!(actions[i], Action::Skip)).then(|| Context {
                    id: node.id.clone(),
                    seed: node_seed(graph.seed, &node.id),
                    workers: node.workers.unwrap_or(default_workers),
                    device: graph.device,
                    run_dir: self.graph_dir.join(&node.id),
                    cache_key: self.keys[i].clone(),
                    runs_root: options.runs_dir.clone(),
                    inputs: Vec::new(),
                    sources: Vec::new(),
                    output: Output::new(
                        self.cancel.clone(),
                        self.stats[i].clone(),
                        self.keeps(i, options),
                    ),
                    cancel: self.cancel.clone(),
                    stats: self.stats[i].clone(),
                })
            })
            .collect();
        for (to, node) in graph.nodes.iter().enumerate() {
            if !matches!(actions[to], Action::Run) {
                continue;
            }
            for edge in &node.inputs {
                let capacity = node.capacity.unwrap_or(graph.capacity);
                let (sender, receiver) = crossbeam_channel::bounded(capacity);
                let stats = Arc::new(EdgeStats::new(
                    &graph.nodes[edge.from].id,
                    &node.id,
                    edge.field,
                    capacity,
                ));
                let index = self.edges.len();
                self.edges.push(stats.clone());
                self.edge_nodes.push((edge.from, to));
                if let Some(producer) = contexts[edge.from].as_mut() {
                    producer.output.connect(sender, stats, index);
                }
                if let Some(consumer) = contexts[to].as_mut() {
                    let (cancel, stats) = (self.cancel.clone(), self.stats[to].clone());
                    let input = Input::new(receiver, index, cancel, stats);
                    consumer.inputs.push((edge.field, input));
                    let from = graph.nodes[edge.from].id.clone();
                    consumer.sources.push((edge.field, from));
                }
            }
        }
        contexts
    }

    /// Whether node `i`'s sent payloads must be kept: to cache them, or because the caller asked.
    fn keeps(&self, i: usize, options: &RunOptions) -> bool {
        let node = &self.graph.nodes[i];
        let artifact = node.output().is_some_and(|p| p.is_artifact());
        (artifact && cache::cacheable(node.output())) || options.collect.contains(&node.id)
    }

    fn report(
        &self,
        wall: Duration,
        result: &Result<Collected, RunError>,
        options: &RunOptions,
    ) -> RunReport {
        let nodes = self
            .graph
            .nodes
            .iter()
            .enumerate()
            .map(|(i, node)| NodeReport {
                error: self.errors[i].clone(),
                ..NodeReport::new(
                    &node.id,
                    node.operator.name(),
                    self.states[i],
                    &self.stats[i],
                    self.walls[i],
                )
            })
            .collect();
        let report = RunReport {
            graph: self.graph.name.clone(),
            status: result
                .as_ref()
                .err()
                .map_or("ok".to_string(), ToString::to_string),
            wall_s: wall.as_secs_f64(),
            run_dir: self.graph_dir.clone(),
            nodes,
            edges: self
                .edges
                .iter()
                .map(|e| EdgeReport::from(e.as_ref()))
                .collect(),
            outputs: Default::default(),
        };
        write_metrics(&options.runs_dir.join(&self.graph.name), &report);
        report
    }
}

fn write_metrics(dir: &Path, report: &RunReport) {
    if let Ok(json) = serde_json::to_vec_pretty(report) {
        let _ = write_atomic(&dir.join("metrics.json"), &json);
    }
}
