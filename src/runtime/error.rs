//! Errors of a node while it runs ([`OpError`]) and of a whole run ([`RunError`]).

use std::path::PathBuf;

/// Why an operator's `run` stopped early.
#[derive(Debug, thiserror::Error)]
pub enum OpError {
    /// The run is being cancelled (another node failed, or Ctrl-C). Not a failure of this node.
    #[error("cancelled")]
    Cancelled,
    /// Every consumer of this node's output has finished; the node may stop. Not a failure.
    #[error("every consumer of this node's output has stopped")]
    OutputClosed,
    /// Reading or decoding data failed.
    #[error(transparent)]
    Data(#[from] crate::data::DataError),
    /// A file could not be written or read.
    #[error("`{path}`: {source}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The operator asked for an input it did not declare.
    #[error("no input port named `{0}`")]
    NoSuchInput(String),
    /// An input delivered a payload of an unexpected type.
    #[error("input `{field}` delivered {found} where {expected} was expected")]
    WrongPayload {
        /// The input field.
        field: String,
        /// What arrived.
        found: String,
        /// What the operator wanted.
        expected: String,
    },
    /// Any other failure, described.
    #[error("{0}")]
    Failed(String),
    /// Neighbour mining failed.
    #[error(transparent)]
    Knn(#[from] crate::knn::KnnError),
    /// Evaluating a clustering failed.
    #[error(transparent)]
    Evaluate(#[from] crate::ops::EvaluateError),
}

impl OpError {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        OpError::Io {
            path: path.into(),
            source,
        }
    }

    /// True for the two ways a node stops that are not failures.
    pub fn is_benign(&self) -> bool {
        matches!(self, OpError::Cancelled | OpError::OutputClosed)
    }
}

/// Why a run failed. Whatever nodes had already written stays on disk.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A node returned an error.
    #[error("node `{node}` ({operator}) failed: {message}")]
    NodeFailed {
        /// The node id.
        node: String,
        /// Its operator.
        operator: String,
        /// The error.
        message: String,
    },
    /// A node panicked.
    #[error("node `{node}` ({operator}) panicked: {message}")]
    NodePanicked {
        /// The node id.
        node: String,
        /// Its operator.
        operator: String,
        /// The panic message.
        message: String,
    },
    /// The run was cancelled from outside (Ctrl-C).
    #[error("interrupted; finished nodes keep their results")]
    Interrupted,
    /// A cycle of nodes blocked on one another's channels: none of them can move again.
    #[error(
        "deadlock: {cycle}. None of these nodes can move again, so the run stopped; finished \
         nodes keep their results. A node that holds one input back until another arrives \
         cannot share a stream with the nodes that compute that other input: give it its own \
         source node (as graphs/keras-example.ron does for its evaluation), or raise its \
         `capacity` so that the whole stream fits"
    )]
    Deadlock {
        /// Who waits for whom, in words.
        cycle: String,
    },
    /// Some nodes did not stop within the grace period after cancellation.
    #[error("nodes {nodes:?} did not stop within {seconds} s of cancellation: {cause}")]
    Stuck {
        /// The nodes still running.
        nodes: Vec<String>,
        /// The grace period.
        seconds: u64,
        /// Why the run was being cancelled.
        cause: Box<RunError>,
    },
    /// The run folder could not be prepared or written.
    #[error("run folder `{path}`: {source}")]
    Io {
        /// The file or folder concerned.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}
