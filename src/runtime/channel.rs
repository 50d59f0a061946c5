//! The two ends of a node's edges: [`Input`] receives from one bounded channel, [`Output`]
//! sends to every consumer (fan-out clones an `Arc`, never the data). Both count items,
//! time spent blocked, and queue occupancy, and both give up at once when the run is
//! cancelled. The fast path (a ready message, free space) takes no timestamp.

use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::{select, Receiver, Sender, TryRecvError, TrySendError};

use super::cancel::CancelToken;
use super::stats::{bump, EdgeStats, NodeStats};
use super::OpError;
use crate::payload::Payload;

/// The receiving end of one input edge.
pub struct Input {
    pub(crate) receiver: Receiver<Payload>,
    pub(crate) cancel: CancelToken,
    pub(crate) stats: Arc<NodeStats>,
}

impl Input {
    /// The next payload; `Ok(None)` at end of stream; `Err(Cancelled)` when the run stops.
    pub fn recv(&self) -> Result<Option<Payload>, OpError> {
        if self.cancel.is_cancelled() {
            return Err(OpError::Cancelled);
        }
        let received = match self.receiver.try_recv() {
            Ok(payload) => Some(payload),
            Err(TryRecvError::Disconnected) => None,
            Err(TryRecvError::Empty) => self.recv_blocking()?,
        };
        if let Some(payload) = &received {
            bump(&self.stats.messages_in, 1);
            bump(&self.stats.items_in, payload.items());
        }
        Ok(received)
    }

    fn recv_blocking(&self) -> Result<Option<Payload>, OpError> {
        let start = Instant::now();
        let result = select! {
            recv(self.receiver) -> message => Ok(message.ok()),
            recv(self.cancel.receiver()) -> _ => Err(OpError::Cancelled),
        };
        bump(&self.stats.blocked_in_ns, start.elapsed().as_nanos() as u64);
        result
    }
}

struct Target {
    sender: Sender<Payload>,
    edge: Arc<EdgeStats>,
    open: bool,
}

/// The sending end of a node: one bounded channel per consumer.
pub struct Output {
    targets: Vec<Target>,
    cancel: CancelToken,
    stats: Arc<NodeStats>,
    kept: Option<Vec<Payload>>,
}

impl Output {
    pub(crate) fn new(cancel: CancelToken, stats: Arc<NodeStats>, keep: bool) -> Self {
        Output {
            targets: Vec::new(),
            cancel,
            stats,
            kept: keep.then(Vec::new),
        }
    }

    pub(crate) fn connect(&mut self, sender: Sender<Payload>, edge: Arc<EdgeStats>) {
        self.targets.push(Target {
            sender,
            edge,
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
        for index in 0..last {
            if self.targets[index].open {
                self.send_to(index, payload.clone())?;
            }
        }
        self.send_to(last, payload)
    }

    fn send_to(&mut self, index: usize, payload: Payload) -> Result<(), OpError> {
        let target = &mut self.targets[index];
        target.edge.record_send(target.sender.len());
        let payload = match target.sender.try_send(payload) {
            Ok(()) => return Ok(()),
            Err(TrySendError::Disconnected(_)) => {
                target.open = false;
                return Ok(());
            }
            Err(TrySendError::Full(payload)) => payload,
        };
        let start = Instant::now();
        let result = select! {
            send(target.sender, payload) -> sent => {
                target.open &= sent.is_ok();
                Ok(())
            }
            recv(self.cancel.receiver()) -> _ => Err(OpError::Cancelled),
        };
        bump(
            &self.stats.blocked_out_ns,
            start.elapsed().as_nanos() as u64,
        );
        result
    }
}
