//! The two ends of a node's edges. [`Output`] sends to every consumer (fan-out clones an
//! `Arc`, never the data); [`Input`] receives from one bounded channel. Both count items,
//! time spent blocked and queue occupancy, and both give up at once when the run is
//! cancelled.
//!
//! Channels carry *chunks* of payloads. A payload is handed over at once when its consumer
//! has nothing queued (it may be waiting) — unless the node is still working through a
//! chunk it received, so chunks travel down a chain intact. Otherwise it joins a small local chunk (at most [`CHUNK_PAYLOADS`] payloads or
//! [`CHUNK_BYTES`] bytes) that is handed over as one message when full or when the
//! consumer's queue runs dry. Small messages thus cross threads in
//! bulk — without it, two cores spend their time switching between the threads of a chain —
//! while big payloads (image batches) still go one by one, and backpressure stays real: an
//! edge holds at most its capacity in chunks plus one chunk. Pending chunks are also flushed
//! before the node blocks on input, sleeps, or ends.

use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::{select, Receiver, Sender, TryRecvError, TrySendError};

use super::cancel::CancelToken;
use super::stats::{bump, EdgeStats, NodeStats};
use super::OpError;
use crate::payload::Payload;

/// Most payloads a chunk holds.
pub const CHUNK_PAYLOADS: usize = 64;
/// Most bytes (as estimated by [`Payload::bytes`]) a chunk holds before it must be sent.
pub const CHUNK_BYTES: usize = 1 << 20;

/// What a channel carries: one or more payloads.
pub(crate) type Chunk = Vec<Payload>;

/// The receiving end of one input edge.
pub struct Input {
    receiver: Receiver<Chunk>,
    /// Index of the edge in the run's edge list (what a blocked receive waits on).
    edge: usize,
    local: std::vec::IntoIter<Payload>,
    cancel: CancelToken,
    stats: Arc<NodeStats>,
}

impl Input {
    pub(crate) fn new(
        receiver: Receiver<Chunk>,
        edge: usize,
        cancel: CancelToken,
        stats: Arc<NodeStats>,
    ) -> Self {
        Input {
            receiver,
            edge,
            local: Vec::new().into_iter(),
            cancel,
            stats,
        }
    }

    /// The next payload if one is ready now: `Ok(Some)`, `Ok(None)` at end of stream,
    /// `Err(None)` when the node would have to wait.
    pub(crate) fn try_recv(&mut self) -> Result<Option<Payload>, Option<OpError>> {
        if self.cancel.is_cancelled() {
            return Err(Some(OpError::Cancelled));
        }
        if let Some(payload) = self.local.next() {
            return Ok(Some(self.count(payload)));
        }
        match self.receiver.try_recv() {
            Ok(chunk) => Ok(self.take(chunk)),
            Err(TryRecvError::Disconnected) => Ok(None),
            Err(TryRecvError::Empty) => Err(None),
        }
    }

    /// Waits for the next payload; `Ok(None)` at end of stream.
    pub(crate) fn recv_blocking(&mut self) -> Result<Option<Payload>, OpError> {
        let start = Instant::now();
        self.stats.begin_wait(self.edge, false);
        let result = select! {
            recv(self.receiver) -> chunk => Ok(chunk.ok()),
            recv(self.cancel.receiver()) -> _ => Err(OpError::Cancelled),
        };
        self.stats.end_wait();
        bump(&self.stats.blocked_in_ns, start.elapsed().as_nanos() as u64);
        Ok(result?.and_then(|chunk| self.take(chunk)))
    }

    /// True while payloads of the last chunk received are still waiting to be read.
    pub(crate) fn has_buffered(&self) -> bool {
        self.local.len() > 0
    }

    fn take(&mut self, chunk: Chunk) -> Option<Payload> {
        self.local = chunk.into_iter();
        self.local.next().map(|p| self.count(p))
    }

    fn count(&self, payload: Payload) -> Payload {
        bump(&self.stats.messages_in, 1);
        bump(&self.stats.items_in, payload.items());
        payload
    }
}

struct Target {
    sender: Sender<Chunk>,
    edge: Arc<EdgeStats>,
    /// Index of the edge in the run's edge list (what a blocked send waits on).
    index: usize,
    pending: Chunk,
    pending_bytes: usize,
    open: bool,
}

/// The sending end of a node: one bounded channel per consumer.
pub struct Output {
    targets: Vec<Target>,
    /// Set while the node is still working through a chunk it received: what it sends
    /// then waits to leave as a chunk too, instead of crossing threads payload by payload.
    pub(crate) defer: bool,
    cancel: CancelToken,
    stats: Arc<NodeStats>,
    kept: Option<Vec<Payload>>,
}

impl Output {
    pub(crate) fn new(cancel: CancelToken, stats: Arc<NodeStats>, keep: bool) -> Self {
        Output {
            targets: Vec::new(),
            defer: false,
            cancel,
            stats,
            kept: keep.then(Vec::new),
        }
    }

    pub(crate) fn connect(&mut self, sender: Sender<Chunk>, edge: Arc<EdgeStats>, index: usize) {
        self.targets.push(Target {
            sender,
            edge,
            index,
            pending: Vec::new(),
            pending_bytes: 0,
            open: true,
        });
    }

    /// The payloads sent so far, when the runtime asked to keep them.
    pub(crate) fn take_kept(&mut self) -> Vec<Payload> {
        self.kept.take().unwrap_or_default()
    }

    /// Sends to every consumer, blocking while a channel is full (backpressure).
    /// `Err(OutputClosed)` once every consumer has gone; `Err(Cancelled)` when the run stops.
    pub fn send(&mut self, payload: Payload) -> Result<(), OpError> {
        if self.cancel.is_cancelled() {
            return Err(OpError::Cancelled);
        }
        bump(&self.stats.messages_out, 1);
        bump(&self.stats.items_out, payload.items());
        if let Some(kept) = &mut self.kept {
            kept.push(payload.clone());
        }
        if self.targets.is_empty() {
            return Ok(());
        }
        let last = self
            .targets
            .iter()
            .rposition(|t| t.open)
            .ok_or(OpError::OutputClosed)?;
        let bytes = payload.bytes();
        for index in 0..last {
            if self.targets[index].open {
                self.queue(index, payload.clone(), bytes)?;
            }
        }
        self.queue(last, payload, bytes)
    }

    /// Sends every pending chunk, blocking while channels are full.
    pub fn flush(&mut self) -> Result<(), OpError> {
        for index in 0..self.targets.len() {
            if !self.targets[index].pending.is_empty() {
                self.flush_target(index, true)?;
            }
        }
        Ok(())
    }

    fn queue(&mut self, index: usize, payload: Payload, bytes: usize) -> Result<(), OpError> {
        let target = &mut self.targets[index];
        target.pending.push(payload);
        target.pending_bytes += bytes;
        let must = target.pending.len() >= CHUNK_PAYLOADS || target.pending_bytes >= CHUNK_BYTES;
        if must || (!self.defer && target.sender.is_empty()) {
            self.flush_target(index, must)
        } else {
            Ok(())
        }
    }

    /// Hands the pending chunk over if the channel has room; when `block`, waits for room.
    fn flush_target(&mut self, index: usize, block: bool) -> Result<(), OpError> {
        let target = &mut self.targets[index];
        let chunk = std::mem::replace(&mut target.pending, Vec::with_capacity(CHUNK_PAYLOADS));
        let bytes = std::mem::take(&mut target.pending_bytes);
        let queued = target.sender.len();
        let payloads = chunk.len();
        let chunk = match target.sender.try_send(chunk) {
            Ok(()) => {
                target.edge.record_send(queued, payloads);
                return Ok(());
            }
            Err(TrySendError::Disconnected(_)) => {
                target.open = false;
                return Ok(());
            }
            Err(TrySendError::Full(chunk)) if !block => {
                target.pending = chunk;
                target.pending_bytes = bytes;
                return Ok(());
            }
            Err(TrySendError::Full(chunk)) => chunk,
        };
        target.edge.record_send(target.edge.capacity, payloads);
        let start = Instant::now();
        self.stats.begin_wait(target.index, true);
        let result = select! {
            send(target.sender, chunk) -> sent => {
                target.open &= sent.is_ok();
                Ok(())
            }
            recv(self.cancel.receiver()) -> _ => Err(OpError::Cancelled),
        };
        self.stats.end_wait();
        bump(
            &self.stats.blocked_out_ns,
            start.elapsed().as_nanos() as u64,
        );
        result
    }
}
