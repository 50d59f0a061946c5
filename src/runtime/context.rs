//! [`Context`]: everything a running operator may use — its inputs and output, seed,
//! worker count, run folder, cancellation and progress reporting.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::cancel::CancelToken;
use super::channel::{Input, Output};
use super::stats::{bump, NodeStats};
use super::OpError;
use crate::data::{ImageBatch, NeighbourTable};
use crate::model::ModelArtifact;
use crate::payload::Payload;
use crate::spec::DeviceSpec;

/// What [`Context::poll`] found on an input.
#[derive(Debug)]
pub enum Polled {
    /// A payload.
    Ready(Payload),
    /// The stream has ended.
    Ended,
    /// Nothing yet; the producer is still working.
    Empty,
}

/// The running node's view of the world.
pub struct Context {
    pub(crate) id: String,
    pub(crate) seed: u64,
    pub(crate) workers: usize,
    pub(crate) device: DeviceSpec,
    pub(crate) run_dir: PathBuf,
    pub(crate) cache_key: String,
    pub(crate) runs_root: PathBuf,
    pub(crate) inputs: Vec<(&'static str, Input)>,
    pub(crate) sources: Vec<(&'static str, String)>,
    pub(crate) output: Output,
    pub(crate) cancel: CancelToken,
    pub(crate) stats: Arc<NodeStats>,
}

impl Context {
    /// The node id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// This node's seed, derived from the graph seed and the node id.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Worker threads the node may use internally (the node's `workers`, else the core count).
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// The graph's device choice.
    pub fn device(&self) -> DeviceSpec {
        self.device
    }

    /// The node's own folder, `runs/<graph>/<node>/` (created before `run`).
    pub fn run_dir(&self) -> &Path {
        &self.run_dir
    }

    /// The node's cache key: a hash of its operator, parameters, seed and inputs' keys. A
    /// checkpoint left in the run folder may be resumed only when it carries the same key.
    pub fn cache_key(&self) -> &str {
        &self.cache_key
    }

    /// A folder shared by every graph under the same runs folder (`<runs>/.shared/`), for
    /// caches worth reusing across graphs, such as packed image stores.
    pub fn shared_dir(&self) -> PathBuf {
        self.runs_root.join(".shared")
    }

    /// The next payload on input `field`; `Ok(None)` at end of stream. Before waiting for
    /// input, the node's pending output is flushed, so consumers are never kept waiting.
    pub fn recv(&mut self, field: &str) -> Result<Option<Payload>, OpError> {
        let index = self
            .inputs
            .iter()
            .position(|(name, _)| *name == field)
            .ok_or_else(|| OpError::NoSuchInput(field.to_string()))?;
        let received = match self.inputs[index].1.try_recv() {
            Ok(payload) => payload,
            Err(Some(error)) => return Err(error),
            Err(None) => {
                self.output.flush()?;
                self.inputs[index].1.recv_blocking()?
            }
        };
        self.output.defer = self.inputs[index].1.has_buffered();
        Ok(received)
    }

    /// The next payload on input `field` if one is ready, without waiting — for a node that
    /// reads a side input while its main input keeps it busy.
    pub fn poll(&mut self, field: &str) -> Result<Polled, OpError> {
        let index = self
            .inputs
            .iter()
            .position(|(name, _)| *name == field)
            .ok_or_else(|| OpError::NoSuchInput(field.to_string()))?;
        match self.inputs[index].1.try_recv() {
            Ok(Some(payload)) => Ok(Polled::Ready(payload)),
            Ok(None) => Ok(Polled::Ended),
            Err(None) => Ok(Polled::Empty),
            Err(Some(error)) => Err(error),
        }
    }

    /// The next image batch on input `field`; `Ok(None)` at end of stream.
    pub fn recv_images(&mut self, field: &str) -> Result<Option<Arc<ImageBatch>>, OpError> {
        match self.recv(field)? {
            None => Ok(None),
            Some(Payload::Images(batch)) => Ok(Some(batch)),
            Some(other) => Err(OpError::WrongPayload {
                field: field.to_string(),
                found: other.port_type().describe(),
                expected: "image batches".into(),
            }),
        }
    }

    /// The trained model input `field` carries (models travel one per stream); an error
    /// naming `field` when the stream ends without one or carries something else.
    pub fn recv_model(&mut self, field: &str) -> Result<Arc<ModelArtifact>, OpError> {
        match self.recv(field)? {
            Some(Payload::Model(model)) => Ok(model),
            _ => Err(OpError::Failed(format!("`{field}` sent no trained model"))),
        }
    }

    /// The neighbour table input `field` carries (tables travel one per stream); an error
    /// naming `field` when the stream ends without one or carries something else.
    pub fn recv_table(&mut self, field: &str) -> Result<Arc<NeighbourTable>, OpError> {
        match self.recv(field)? {
            Some(Payload::Neighbours(table)) => Ok(table),
            _ => Err(OpError::Failed(format!(
                "`{field}` sent no neighbour table"
            ))),
        }
    }

    /// The id of the node feeding input `field`, when it is connected.
    pub fn source(&self, field: &str) -> Option<&str> {
        let mut sources = self.sources.iter();
        sources
            .find(|(name, _)| *name == field)
            .map(|(_, id)| id.as_str())
    }

    /// True when input `field` is connected.
    pub fn has_input(&self, field: &str) -> bool {
        self.inputs.iter().any(|(name, _)| *name == field)
    }

    /// Sends a payload to every consumer (blocking while they are full; see
    /// [`Output`] for how small payloads travel in chunks).
    pub fn send(&mut self, payload: Payload) -> Result<(), OpError> {
        self.output.send(payload)
    }

    /// Sends every pending chunk now; call before a long computation that sends nothing.
    pub fn flush(&mut self) -> Result<(), OpError> {
        self.output.flush()
    }

    /// `Err(Cancelled)` once the run is being cancelled; call it in long loops.
    pub fn check_cancelled(&self) -> Result<(), OpError> {
        if self.cancel.is_cancelled() {
            Err(OpError::Cancelled)
        } else {
            Ok(())
        }
    }

    /// Flushes pending output, then sleeps up to `duration`, returning `Err(Cancelled)`
    /// early if the run stops. For a node polling inputs that have nothing ready: the
    /// sleep counts as waiting for input in the run report, not as busy time.
    pub fn sleep(&mut self, duration: Duration) -> Result<(), OpError> {
        self.output.flush()?;
        let start = std::time::Instant::now();
        let cancelled = self.cancel.wait(duration);
        bump(&self.stats.blocked_in_ns, start.elapsed().as_nanos() as u64);
        if cancelled {
            Err(OpError::Cancelled)
        } else {
            Ok(())
        }
    }

    /// Announces how many items the node expects to process (for progress bars).
    pub fn set_total(&self, items: u64) {
        self.stats
            .total
            .store(items, std::sync::atomic::Ordering::Relaxed);
    }

    /// Sets the node's status line (e.g. `epoch 3/10 loss 4.21`), shown beside its progress.
    pub fn set_status(&self, status: impl Into<String>) {
        if let Ok(mut line) = self.stats.status.lock() {
            *line = status.into();
        }
    }
}
