//! Errors of neighbour mining: bad feature matrices, bad requests and foreign or unreadable
//! saved indices. Every variant names the row, file or figure that is wrong.

use std::path::PathBuf;

/// Why neighbours could not be mined.
#[derive(Debug, thiserror::Error)]
pub enum KnnError {
    /// A feature row holds NaN or ±Inf.
    #[error("feature row {row} holds a non-finite value ({value}) at column {column}")]
    NonFinite {
        /// The row (dataset index).
        row: usize,
        /// The column.
        column: usize,
        /// The value found.
        value: f32,
    },
    /// A feature row is all zeros, so it has no direction.
    #[error("feature row {row} has zero norm; it cannot be L2-normalised")]
    ZeroNorm {
        /// The row (dataset index).
        row: usize,
    },
    /// More neighbours were asked for than other points exist.
    #[error("k = {k} neighbours asked for but there are only {points} points (k must be below N)")]
    TooFewPoints {
        /// Neighbours asked for.
        k: usize,
        /// Points available.
        points: usize,
    },
    /// Feature batches (or a matrix and a query) disagree on the vector length.
    #[error("feature dimension mismatch: expected {expected}, found {found}")]
    DimMismatch {
        /// The dimension seen first.
        expected: usize,
        /// The disagreeing dimension.
        found: usize,
    },
    /// The gathered feature batches do not cover indices 0..N exactly once.
    #[error("feature indices are not 0..{points} exactly once: index {index} is {problem}")]
    Indices {
        /// How many rows arrived.
        points: usize,
        /// The offending index.
        index: u64,
        /// `missing`, `duplicated` or `out of range`.
        problem: &'static str,
    },
    /// A saved index belongs to other features (another run or edited data).
    #[error("saved index `{}` was built from other features: {message}", path.display())]
    ForeignIndex {
        /// The index's sidecar file.
        path: PathBuf,
        /// What disagrees.
        message: String,
    },
    /// An index file could not be written or read.
    #[error("index `{}`: {message}", path.display())]
    Index {
        /// The file or folder concerned.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A worker pool could not be started.
    #[error("cannot start the kNN worker pool: {0}")]
    Pool(String),
}
