//! The runtime: one thread per node, one bounded crossbeam channel per edge, end-of-stream
//! by closing channels, first-error cancellation, per-node and per-edge metrics, progress,
//! the run folder and its cache.
//!
//! ```text
//! Graph ──plan (cache)──> actions ──wire──> channels + contexts ──spawn──> node threads
//!                                                   main thread: wait, progress, cancel, report
//! ```

mod cache;
mod cancel;
mod channel;
mod context;
mod deadlock;
mod error;
mod executor;
mod node_thread;
mod progress;
mod report;
mod stats;
mod supervise;

use std::path::PathBuf;
use std::time::Duration;

pub use cancel::CancelToken;
pub use channel::{Input, Output};
pub use context::{Context, Polled};
pub use error::{OpError, RunError};
pub use executor::run;
pub use progress::ProgressMode;
pub use report::{EdgeReport, NodeReport, NodeState, RunReport};
pub use stats::{EdgeStats, NodeStats};

/// How to run a graph.
#[derive(Clone)]
pub struct RunOptions {
    /// Parent of every graph's run folder (`runs`): the graph writes to `<runs_dir>/<name>/`.
    pub runs_dir: PathBuf,
    /// Ignore cached results and run every node.
    pub fresh: bool,
    /// How progress is displayed.
    pub progress: ProgressMode,
    /// Node ids whose sent payloads are kept in [`RunReport::outputs`].
    pub collect: Vec<String>,
    /// Cancelling this token (e.g. from a Ctrl-C handler) stops the run.
    pub cancel: CancelToken,
    /// How long to wait for nodes to stop after cancellation before giving up on them.
    pub stop_grace: Duration,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            runs_dir: PathBuf::from("runs"),
            fresh: false,
            progress: ProgressMode::Auto,
            collect: Vec::new(),
            cancel: CancelToken::new(),
            stop_grace: Duration::from_secs(10),
        }
    }
}

/// A failed run: the error, and the figures of everything up to it.
#[derive(Debug)]
pub struct RunFailure {
    /// Why the run failed.
    pub error: RunError,
    /// The figures of the run up to the failure.
    pub report: Box<RunReport>,
}

impl std::fmt::Display for RunFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for RunFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}
