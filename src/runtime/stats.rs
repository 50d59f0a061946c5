//! Live counters of nodes and edges, written by the one thread that owns each figure and
//! read by the progress display and the end-of-run report.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::Duration;

use super::deadlock::Wait;

/// Adds to a counter that only one thread writes: a plain load and store, cheaper than an
/// atomic read-modify-write on the per-message hot path.
pub(crate) fn bump(counter: &AtomicU64, by: u64) {
    counter.store(counter.load(Relaxed) + by, Relaxed);
}

/// Counters of one node.
#[derive(Default, Debug)]
pub struct NodeStats {
    pub(crate) messages_in: AtomicU64,
    pub(crate) items_in: AtomicU64,
    pub(crate) messages_out: AtomicU64,
    pub(crate) items_out: AtomicU64,
    pub(crate) blocked_in_ns: AtomicU64,
    pub(crate) blocked_out_ns: AtomicU64,
    pub(crate) total: AtomicU64,
    pub(crate) status: Mutex<String>,
    /// The wait the node is blocked in right now, packed by [`Wait::encode`]; 0 when not.
    wait: AtomicU64,
    /// Blocking episodes so far.
    episodes: AtomicU64,
}

impl NodeStats {
    /// Items received so far.
    pub fn items_in(&self) -> u64 {
        self.items_in.load(Relaxed)
    }

    /// Items sent so far.
    pub fn items_out(&self) -> u64 {
        self.items_out.load(Relaxed)
    }

    /// The expected number of items, when the node announced it (0 = unknown).
    pub fn total(&self) -> u64 {
        self.total.load(Relaxed)
    }

    /// The node's latest status line.
    pub fn status(&self) -> String {
        self.status.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Records that the node blocks on edge `edge` (sending into it, or receiving from it).
    pub(crate) fn begin_wait(&self, edge: usize, sending: bool) {
        let episode = self.episodes.load(Relaxed) + 1;
        self.episodes.store(episode, Relaxed);
        let wait = Wait {
            episode,
            edge,
            sending,
        };
        self.wait.store(wait.encode(), Relaxed);
    }

    /// Records that the node is no longer blocked.
    pub(crate) fn end_wait(&self) {
        self.wait.store(0, Relaxed);
    }

    /// The wait the node is blocked in right now.
    pub(crate) fn current_wait(&self) -> Option<Wait> {
        Wait::decode(self.wait.load(Relaxed))
    }

    pub(crate) fn blocked_in(&self) -> Duration {
        Duration::from_nanos(self.blocked_in_ns.load(Relaxed))
    }

    pub(crate) fn blocked_out(&self) -> Duration {
        Duration::from_nanos(self.blocked_out_ns.load(Relaxed))
    }
}

/// Counters of one edge (a channel from a producer to one consumer field).
#[derive(Debug)]
pub struct EdgeStats {
    /// Producer node id.
    pub from: String,
    /// Consumer node id.
    pub to: String,
    /// Consumer field.
    pub field: &'static str,
    /// Channel capacity.
    pub capacity: usize,
    pub(crate) messages: AtomicU64,
    pub(crate) chunks: AtomicU64,
    pub(crate) occupancy_sum: AtomicU64,
    pub(crate) occupancy_max: AtomicU64,
}

impl EdgeStats {
    /// New counters for an edge.
    pub fn new(from: &str, to: &str, field: &'static str, capacity: usize) -> Self {
        EdgeStats {
            from: from.to_string(),
            to: to.to_string(),
            field,
            capacity,
            messages: AtomicU64::new(0),
            chunks: AtomicU64::new(0),
            occupancy_sum: AtomicU64::new(0),
            occupancy_max: AtomicU64::new(0),
        }
    }

    /// Records one chunk of `payloads` sent, which found `queued` chunks already waiting.
    pub(crate) fn record_send(&self, queued: usize, payloads: usize) {
        bump(&self.messages, payloads as u64);
        bump(&self.chunks, 1);
        bump(&self.occupancy_sum, queued as u64);
        if queued as u64 > self.occupancy_max.load(Relaxed) {
            self.occupancy_max.store(queued as u64, Relaxed);
        }
    }

    /// Payloads sent along the edge.
    pub fn messages(&self) -> u64 {
        self.messages.load(Relaxed)
    }

    /// Chunks sent along the edge (a chunk carries one or more payloads).
    pub fn chunks(&self) -> u64 {
        self.chunks.load(Relaxed)
    }

    /// Mean number of queued chunks seen by each send.
    pub fn mean_occupancy(&self) -> f64 {
        let n = self.chunks();
        if n == 0 {
            0.0
        } else {
            self.occupancy_sum.load(Relaxed) as f64 / n as f64
        }
    }

    /// Largest number of queued chunks seen by a send.
    pub fn max_occupancy(&self) -> u64 {
        self.occupancy_max.load(Relaxed)
    }
}
