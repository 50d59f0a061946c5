//! [`RunReport`]: per-node and per-edge figures of a finished (or failed) run, printed as
//! a table at the end and written to `runs/<graph>/metrics.json`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use super::stats::{EdgeStats, NodeStats};
use crate::payload::Payload;

/// What happened to a node in a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeState {
    /// It ran to completion.
    Ran,
    /// Its saved output from an earlier run was replayed.
    Cached,
    /// Nothing needed it (its results were already up to date).
    Skipped,
    /// It failed or panicked.
    Failed,
    /// It was stopped because the run was cancelled.
    Cancelled,
}

/// Figures of one node.
#[derive(Clone, Debug, Serialize)]
pub struct NodeReport {
    /// Node id.
    pub id: String,
    /// Operator name.
    pub operator: String,
    /// What happened to it.
    pub state: NodeState,
    /// Messages received.
    pub messages_in: u64,
    /// Items (images, vectors…) received.
    pub items_in: u64,
    /// Messages sent.
    pub messages_out: u64,
    /// Items sent.
    pub items_out: u64,
    /// Seconds from its start to its end.
    pub wall_s: f64,
    /// Seconds not spent waiting on channels.
    pub busy_s: f64,
    /// Seconds waiting for input.
    pub blocked_in_s: f64,
    /// Seconds waiting for output space (backpressure).
    pub blocked_out_s: f64,
    /// Items processed (sent, or received for a sink) per second of wall time.
    pub items_per_s: f64,
    /// The error, when it failed.
    pub error: Option<String>,
}

impl NodeReport {
    pub(crate) fn new(
        id: &str,
        operator: &str,
        state: NodeState,
        stats: &NodeStats,
        wall: Duration,
    ) -> Self {
        let blocked_in = stats.blocked_in().as_secs_f64();
        let blocked_out = stats.blocked_out().as_secs_f64();
        let wall_s = wall.as_secs_f64();
        let processed = stats.items_out().max(stats.items_in());
        NodeReport {
            id: id.to_string(),
            operator: operator.to_string(),
            state,
            messages_in: stats.messages_in.load(std::sync::atomic::Ordering::Relaxed),
            items_in: stats.items_in(),
            messages_out: stats
                .messages_out
                .load(std::sync::atomic::Ordering::Relaxed),
            items_out: stats.items_out(),
            wall_s,
            busy_s: (wall_s - blocked_in - blocked_out).max(0.0),
            blocked_in_s: blocked_in,
            blocked_out_s: blocked_out,
            items_per_s: if wall_s > 0.0 {
                processed as f64 / wall_s
            } else {
                0.0
            },
            error: None,
        }
    }
}

/// Figures of one edge.
#[derive(Clone, Debug, Serialize)]
pub struct EdgeReport {
    /// Producer id.
    pub from: String,
    /// Consumer id.
    pub to: String,
    /// Consumer field.
    pub field: String,
    /// Channel capacity.
    pub capacity: usize,
    /// Payloads sent along it.
    pub messages: u64,
    /// Chunks those payloads travelled in (small payloads share chunks).
    pub chunks: u64,
    /// Mean queue length, in chunks, seen by a send.
    pub mean_occupancy: f64,
    /// Longest queue, in chunks, seen by a send.
    pub max_occupancy: u64,
}

impl From<&EdgeStats> for EdgeReport {
    fn from(edge: &EdgeStats) -> Self {
        EdgeReport {
            from: edge.from.clone(),
            to: edge.to.clone(),
            field: edge.field.to_string(),
            capacity: edge.capacity,
            messages: edge.messages(),
            chunks: edge.chunks(),
            mean_occupancy: edge.mean_occupancy(),
            max_occupancy: edge.max_occupancy(),
        }
    }
}

/// The figures of a whole run.
#[derive(Clone, Debug, Serialize)]
pub struct RunReport {
    /// Graph name.
    pub graph: String,
    /// `ok`, or the error that ended the run.
    pub status: String,
    /// Seconds from start to end.
    pub wall_s: f64,
    /// The run folder, `runs/<graph>/`.
    pub run_dir: PathBuf,
    /// One entry per node, in graph order.
    pub nodes: Vec<NodeReport>,
    /// One entry per edge.
    pub edges: Vec<EdgeReport>,
    /// Payloads sent by the nodes named in `RunOptions::collect`.
    #[serde(skip)]
    pub outputs: BTreeMap<String, Vec<Payload>>,
}

impl RunReport {
    /// The report of node `id`.
    pub fn node(&self, id: &str) -> Option<&NodeReport> {
        self.nodes.iter().find(|n| n.id == id)
    }

    /// The payloads node `id` sent (only for nodes asked for in `RunOptions::collect`).
    pub fn outputs(&self, id: &str) -> &[Payload] {
        self.outputs.get(id).map_or(&[], Vec::as_slice)
    }

    /// The node that was busy for the largest share of the run: the stage to speed up.
    pub fn bottleneck(&self) -> Option<&NodeReport> {
        self.nodes
            .iter()
            .filter(|n| n.state == NodeState::Ran)
            .max_by(|a, b| a.busy_s.total_cmp(&b.busy_s))
    }

    /// The end-of-run table.
    pub fn table(&self) -> String {
        let mut out = format!(
            "{:<14} {:<13} {:<9} {:>10} {:>10} {:>11} {:>8} {:>8} {:>8} {:>8}\n",
            "node",
            "operator",
            "state",
            "items in",
            "items out",
            "items/s",
            "wall s",
            "busy s",
            "wait in",
            "wait out"
        );
        for n in &self.nodes {
            let _ = writeln!(
                out,
                "{:<14} {:<13} {:<9} {:>10} {:>10} {:>11.1} {:>8.2} {:>8.2} {:>8.2} {:>8.2}",
                n.id,
                n.operator,
                format!("{:?}", n.state).to_lowercase(),
                n.items_in,
                n.items_out,
                n.items_per_s,
                n.wall_s,
                n.busy_s,
                n.blocked_in_s,
                n.blocked_out_s
            );
        }
        if !self.edges.is_empty() {
            let _ = writeln!(
                out,
                "\n{:<32} {:>8} {:>9} {:>9} {:>10} {:>9}",
                "edge", "capacity", "messages", "chunks", "mean fill", "max fill"
            );
        }
        for e in &self.edges {
            let name = format!("{} → {}.{}", e.from, e.to, e.field);
            let _ = writeln!(
                out,
                "{name:<32} {:>8} {:>9} {:>9} {:>10.2} {:>9}",
                e.capacity, e.messages, e.chunks, e.mean_occupancy, e.max_occupancy
            );
        }
        if let Some(b) = self.bottleneck() {
            let share = if self.wall_s > 0.0 {
                100.0 * b.busy_s / self.wall_s
            } else {
                0.0
            };
            let _ = writeln!(
                out,
                "\nbottleneck: `{}` ({}), busy {share:.0}% of the run's {:.2} s",
                b.id, b.operator, self.wall_s
            );
        }
        out
    }
}
