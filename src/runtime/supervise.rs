//! The supervisor loop: wait for node threads to end while drawing progress; on the first
//! failure, or an outside cancel, cancel every node; give up on nodes that ignore
//! cancellation past the grace period; store finished nodes' results in the cache.

use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};

use super::cache;
use super::deadlock::{self, Watch};
use super::executor::{Collected, Run};
use super::node_thread::{Finished, Outcome};
use super::progress::Progress;
use super::report::NodeState;
use super::{OpError, RunError, RunOptions};
use crate::payload::Payload;

const TICK: Duration = Duration::from_millis(100);

impl Run<'_> {
    pub(super) fn supervise(
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
        let mut deadlocks = Watch::default();
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
            if !self.cancel.is_cancelled() {
                self.watch_deadlock(&mut deadlocks);
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

    /// Stops the run when a cycle of blocked nodes has held for [`deadlock::HOLD`].
    fn watch_deadlock(&mut self, watch: &mut Watch) {
        let waits: Vec<_> = self.stats.iter().map(|s| s.current_wait()).collect();
        if let Some(cycle) = watch.check(&waits, &self.edge_nodes) {
            let cycle = deadlock::describe(&cycle, &self.edges);
            self.first_error.get_or_insert(RunError::Deadlock { cycle });
            self.cancel.cancel();
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
}
