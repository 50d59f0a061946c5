//! Spawning and supervising node threads: wire channels for the nodes that must run,
//! start one thread per node, wait while drawing progress, cancel everything on the first
//! failure or on request, and assemble the report.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use super::cache::{self, Action};
use super::channel::{Input, Output};
use super::progress::Progress;
use super::report::{EdgeReport, NodeReport, NodeState, RunReport};
use super::stats::{EdgeStats, NodeStats};
use super::{CancelToken, Context, OpError, RunError, RunFailure, RunOptions};
use crate::fsutil::write_atomic;
use crate::graph::Graph;
use crate::hash::node_seed;
use crate::ops::Runnable;
use crate::payload::Payload;

const TICK: Duration = Duration::from_millis(100);

/// How a node's thread ended.
enum Outcome {
    Finished,
    Stopped(OpError),
    Failed(String),
    Panicked(String),
}

struct Finished {
    index: usize,
    outcome: Outcome,
    kept: Vec<Payload>,
    wall: Duration,
}

/// A node standing in for a cached one: sends its saved outputs.
struct Replay(Vec<Payload>);

impl Runnable for Replay {
    fn cache_salt(&self) -> String {
        String::new()
    }
    fn run(self: Box<Self>, ctx: &mut Context) -> Result<(), OpError> {
        self.0.into_iter().try_for_each(|p| ctx.send(p))
    }
}

/// Everything the supervisor tracks while a run is under way.
struct Run<'g> {
    graph: &'g Graph,
    graph_dir: std::path::PathBuf,
    keys: Vec<String>,
    states: Vec<NodeState>,
    walls: Vec<Duration>,
    errors: Vec<Option<String>>,
    stats: Vec<Arc<NodeStats>>,
    edges: Vec<Arc<EdgeStats>>,
    cancel: CancelToken,
    first_error: Option<RunError>,
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

type Collected = std::collections::BTreeMap<String, Vec<Payload>>;

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
        self.prepare_dirs(&actions)?;
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
                self.spawn(index, runnable, ctx, done_tx.clone())?;
                running += 1;
            }
        }
        drop(done_tx);
        self.supervise(running, &done_rx, options)
    }

    fn prepare_dirs(&self, actions: &[Action]) -> Result<(), RunError> {
        for (node, action) in self.graph.nodes.iter().zip(actions) {
            if matches!(action, Action::Run) {
                let dir = self.graph_dir.join(&node.id);
                let io = |source| RunError::Io {
                    path: dir.clone(),
                    source,
                };
                std::fs::create_dir_all(&dir).map_err(io)?;
                cache::invalidate(&dir).map_err(io)?;
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
                    inputs: Vec::new(),
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
                self.edges.push(stats.clone());
                if let Some(producer) = contexts[edge.from].as_mut() {
                    producer.output.connect(sender, stats);
                }
                if let Some(consumer) = contexts[to].as_mut() {
                    let input = Input {
                        receiver,
                        cancel: self.cancel.clone(),
                        stats: self.stats[to].clone(),
                    };
                    consumer.inputs.push((edge.field, input));
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

    fn spawn(
        &self,
        index: usize,
        runnable: Box<dyn Runnable>,
        mut ctx: Context,
        done: Sender<Finished>,
    ) -> Result<(), RunError> {
        let name = format!("sf:{}", self.graph.nodes[index].id);
        let body = move || {
            let start = Instant::now();
            let outcome = match catch_unwind(AssertUnwindSafe(|| runnable.run(&mut ctx))) {
                Ok(Ok(())) => Outcome::Finished,
                Ok(Err(e)) if e.is_benign() => Outcome::Stopped(e),
                Ok(Err(e)) => Outcome::Failed(e.to_string()),
                Err(panic) => Outcome::Panicked(panic_message(panic.as_ref())),
            };
            let kept = ctx.output.take_kept();
            drop(ctx);
            let _ = done.send(Finished {
                index,
                outcome,
                kept,
                wall: start.elapsed(),
            });
        };
        thread::Builder::new()
            .name(name)
            .spawn(body)
            .map(drop)
            .map_err(|source| RunError::Io {
                path: self.graph_dir.clone(),
                source,
            })
    }

    fn supervise(
        &mut self,
        mut running: usize,
        done: &Receiver<Finished>,
        options: &RunOptions,
    ) -> Result<Collected, RunError> {
        let nodes: Vec<_> = self
            .graph
            .nodes
            .iter()
            .map(|n| n.id.clone())
            .zip(self.stats.iter().cloned())
            .collect();
        let mut progress = Progress::new(options.progress, nodes);
        let mut collected = Collected::new();
        let mut finished = vec![false; self.graph.nodes.len()];
        let mut cancelled_at: Option<Instant> = None;
        let mut interrupted = false;
        while running > 0 {
            match done.recv_timeout(TICK) {
                Ok(f) => {
                    running -= 1;
                    finished[f.index] = true;
                    self.finish(f, options, &mut collected);
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            if options.cancel.is_cancelled() && !self.cancel.is_cancelled() {
                interrupted = true;
                self.cancel.cancel();
            }
            if self.cancel.is_cancelled() {
                let since = *cancelled_at.get_or_insert_with(Instant::now);
                if since.elapsed() > options.stop_grace {
                    progress.finish();
                    return Err(self.stuck(&finished, options.stop_grace));
                }
            }
            progress.tick();
        }
        progress.finish();
        match self.first_error.take() {
            Some(error) => Err(error),
            None if interrupted => Err(RunError::Interrupted),
            None => Ok(collected),
        }
    }

    fn finish(&mut self, f: Finished, options: &RunOptions, collected: &mut Collected) {
        let node = &self.graph.nodes[f.index];
        self.walls[f.index] = f.wall;
        let failure = match f.outcome {
            Outcome::Finished => {
                self.store(f.index, &f.kept);
                None
            }
            Outcome::Stopped(OpError::OutputClosed) => None,
            Outcome::Stopped(_) => {
                self.states[f.index] = NodeState::Cancelled;
                None
            }
            Outcome::Failed(message) => Some(RunError::NodeFailed {
                node: node.id.clone(),
                operator: node.operator.name().to_string(),
                message,
            }),
            Outcome::Panicked(message) => Some(RunError::NodePanicked {
                node: node.id.clone(),
                operator: node.operator.name().to_string(),
                message,
            }),
        };
        if options.collect.contains(&node.id) {
            collected.insert(node.id.clone(), f.kept);
        }
        if let Some(error) = failure {
            self.states[f.index] = NodeState::Failed;
            self.errors[f.index] = Some(error.to_string());
            self.first_error.get_or_insert(error);
            self.cancel.cancel();
        }
    }

    /// Saves a finished node's outputs and completion marker, when its kind can be cached.
    fn store(&mut self, index: usize, kept: &[Payload]) {
        let node = &self.graph.nodes[index];
        if self.states[index] != NodeState::Ran || !cache::cacheable(node.output()) {
            return;
        }
        let dir = self.graph_dir.join(&node.id);
        if let Err(e) = cache::save(
            &dir,
            &self.keys[index],
            node.operator.name(),
            &node.params,
            kept,
        ) {
            self.errors[index] = Some(format!("results not cached: {e}"));
        }
    }

    fn stuck(&mut self, finished: &[bool], grace: Duration) -> RunError {
        let nodes: Vec<String> = (0..finished.len())
            .filter(|&i| {
                !finished[i]
                    && self.states[i] != NodeState::Skipped
                    && self.states[i] != NodeState::Cached
            })
            .map(|i| self.graph.nodes[i].id.clone())
            .collect();
        for (i, _) in finished.iter().enumerate().filter(|(_, done)| !**done) {
            if self.states[i] == NodeState::Ran {
                self.states[i] = NodeState::Cancelled;
                self.errors[i] = Some("did not stop after cancellation".into());
            }
        }
        let cause = self.first_error.take().unwrap_or(RunError::Interrupted);
        RunError::Stuck {
            nodes,
            seconds: grace.as_secs(),
            cause: Box::new(cause),
        }
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

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string panic payload)".to_string()
    }
}
