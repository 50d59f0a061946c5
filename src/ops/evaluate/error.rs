//! Errors of the `Evaluate` operator: probability rows that are not distributions, inputs
//! that disagree, and scoring failures. Each names the input, row or dataset index at fault
//! (the runtime adds the node id).

use crate::metrics::MetricsError;
use crate::report::ReportWriteError;

/// Why an `Evaluate` node failed.
#[derive(Debug, thiserror::Error)]
pub enum EvaluateError {
    /// A row of cluster probabilities is not a probability distribution.
    #[error(
        "row {row} (dataset index {index}) of `input` is not a probability distribution: \
         {problem} (Evaluate expects each image's C cluster probabilities, e.g. from \
         `Encode(output: Clusters)`)"
    )]
    BadRow {
        /// Position of the row in arrival order (0-based).
        row: usize,
        /// Its dataset index.
        index: u64,
        /// What is wrong with it.
        problem: RowProblem,
    },
    /// A batch's rows have a different length from the first batch's.
    #[error(
        "`input` changed from {expected} to {found} values per row at dataset index {index}: \
         every row must hold the same C cluster probabilities"
    )]
    ClustersChanged {
        /// C of the first batch.
        expected: usize,
        /// C of the offending batch.
        found: usize,
        /// The first dataset index of that batch.
        index: u64,
    },
    /// Rows too short to be a clustering.
    #[error("`input` rows hold {found} value(s): a clustering needs at least 2 clusters")]
    TooFewClusters {
        /// Values per row.
        found: usize,
    },
    /// A dataset index arrived twice on `input`.
    #[error(
        "dataset index {index} arrived twice on `input` (Evaluate scores one pass over the \
         data: give its producer `epochs: 1`)"
    )]
    DuplicateIndex {
        /// The repeated index.
        index: u64,
    },
    /// The feature batch carries a different number of rows, indices or labels.
    #[error("a batch on `input` holds {values} values of dimension {dim} for {indices} indices")]
    RaggedBatch {
        /// Values in the batch.
        values: usize,
        /// Its declared row length.
        dim: usize,
        /// Its dataset indices.
        indices: usize,
    },
    /// Nothing arrived on `input`.
    #[error("`input` sent no cluster probabilities")]
    NoSamples,
    /// An image on `images` has another size than the first one.
    #[error(
        "image {index} on `images` is {found:?} (width, height, channels), the first was \
         {expected:?}: the prototype grid needs images of one size"
    )]
    ImageSize {
        /// Its dataset index.
        index: u64,
        /// The first image's size.
        expected: (u32, u32, u32),
        /// This image's size.
        found: (u32, u32, u32),
    },
    /// Scoring against the labels failed.
    #[error("scoring the clustering: {0}")]
    Metrics(#[from] MetricsError),
    /// A report file could not be written.
    #[error(transparent)]
    Write(#[from] ReportWriteError),
}

/// What is wrong with one row of probabilities.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RowProblem {
    /// A value is NaN or infinite.
    #[error("column {column} is {value}")]
    NotFinite {
        /// The column (cluster id).
        column: usize,
        /// The value.
        value: f32,
    },
    /// A value is below zero.
    #[error("column {column} is negative ({value})")]
    Negative {
        /// The column (cluster id).
        column: usize,
        /// The value.
        value: f32,
    },
    /// The values do not sum to 1.
    #[error("its values sum to {sum}, not 1 (±{tolerance}); were logits sent instead of softmax probabilities?")]
    Sum {
        /// The row's sum.
        sum: f32,
        /// The tolerance allowed.
        tolerance: f32,
    },
}
