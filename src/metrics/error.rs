//! Errors raised while scoring a clustering: inputs that disagree in length or shape, too few
//! clusters, and unreadable prediction / label / probability files (each variant names the
//! file, line or tensor involved).

use std::path::PathBuf;

use crate::data::DataError;

/// An error while reading or scoring cluster assignments against labels.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// Predictions and labels do not pair up one to one.
    #[error("{predictions} predictions but {labels} labels: they must pair up one to one")]
    LengthMismatch {
        /// Number of cluster assignments.
        predictions: usize,
        /// Number of ground-truth labels.
        labels: usize,
    },
    /// The prediction and label files hold different numbers of values.
    #[error(
        "`{}` holds {pred_len} predictions but `{}` holds {labels_len} labels: they must pair up \
         one to one",
        pred.display(),
        labels.display()
    )]
    FilesDisagree {
        /// The predictions file.
        pred: PathBuf,
        /// Values in it.
        pred_len: usize,
        /// The labels file.
        labels: PathBuf,
        /// Values in it.
        labels_len: usize,
    },
    /// There is nothing to evaluate.
    #[error("no samples to evaluate")]
    NoSamples,
    /// A clustering needs at least two clusters to be scored.
    #[error("{clusters} cluster(s): scoring a clustering needs at least 2")]
    TooFewClusters {
        /// The number of clusters declared or found.
        clusters: usize,
    },
    /// A prediction names a cluster past the declared number of clusters.
    #[error("prediction {index} is cluster {cluster}, but there are only {clusters} clusters")]
    ClusterOutOfRange {
        /// Position of the prediction.
        index: usize,
        /// The cluster it names.
        cluster: u32,
        /// The declared number of clusters.
        clusters: usize,
    },
    /// The table of (cluster, class) counts would be unreasonably large.
    #[error(
        "{clusters} clusters × {classes} classes is too large a table (at most {max} cells); \
         are the ids dense, starting at 0?"
    )]
    TableTooLarge {
        /// Number of clusters.
        clusters: usize,
        /// Number of classes.
        classes: usize,
        /// The largest number of cells allowed.
        max: usize,
    },
    /// A matrix (weights, counts or probabilities) does not have the size its shape needs.
    #[error("{what} holds {len} values, not {rows} × {cols}")]
    Shape {
        /// Which matrix.
        what: &'static str,
        /// Values held.
        len: usize,
        /// Rows expected.
        rows: usize,
        /// Columns expected.
        cols: usize,
    },
    /// The probabilities file does not have one row per sample, or its columns disagree
    /// with the number of clusters.
    #[error(
        "`{}` holds a ({rows}, {cols}) matrix of probabilities; expected ({samples}, C) with C \
         the number of clusters{}",
        path.display(),
        clusters.map_or(String::new(), |c| format!(" ({c})"))
    )]
    ProbsShape {
        /// The probabilities file.
        path: PathBuf,
        /// Its rows.
        rows: usize,
        /// Its columns.
        cols: usize,
        /// The number of samples.
        samples: usize,
        /// The number of clusters declared, when one was.
        clusters: Option<usize>,
    },
    /// A line of a CSV column could not be read.
    #[error("`{}` line {line}: {message}", path.display())]
    Line {
        /// The CSV file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The named column is not in the CSV header.
    #[error(
        "`{}` has no column `{column}` in its header (columns: {})",
        path.display(),
        available.join(", ")
    )]
    NoColumn {
        /// The CSV file.
        path: PathBuf,
        /// The column asked for.
        column: String,
        /// The columns its header names.
        available: Vec<String>,
    },
    /// A column was named for a file that has no columns (a `.npy` array).
    #[error("`{}` is a .npy array: it has no named columns (drop `:{column}`)", path.display())]
    ColumnOfNpy {
        /// The `.npy` file.
        path: PathBuf,
        /// The column asked for.
        column: String,
    },
    /// The file holds no values.
    #[error("`{}` holds no values", path.display())]
    EmptyFile {
        /// The file.
        path: PathBuf,
    },
    /// A file could not be read.
    #[error("cannot read `{}`: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A `.npy` file could not be read (the error names it).
    #[error(transparent)]
    Data(#[from] DataError),
}
