//! `scanflow metrics --pred FILE --labels FILE`: scores any clustering against ground-truth
//! labels with the library's metrics, prints the summary table, and writes the report as
//! JSON and the confusion matrix as a PNG heat map when asked.

use std::path::PathBuf;
use std::process::ExitCode;

use scanflow::metrics::MetricsError;
use scanflow::metrics::{read_pair, read_probs, summary_table, ClusterReport, ColumnSpec};
use scanflow::report::write_scored;

use super::EXIT_INVALID;

/// Arguments of `scanflow metrics`.
#[derive(clap::Args, Debug)]
pub struct MetricsArgs {
    /// Cluster assignments: a CSV with one integer a line, `FILE.csv:COLUMN` for a column of
    /// a CSV with a header, or a 1-D integer .npy.
    #[arg(long, value_name = "FILE[:COLUMN]")]
    pred: String,
    /// Ground-truth class labels, in the same forms.
    #[arg(long, value_name = "FILE[:COLUMN]")]
    labels: String,
    /// Per-sample cluster probabilities, an (N, C) f32 .npy: enables top-5 accuracy.
    #[arg(long, value_name = "FILE.npy")]
    probs: Option<PathBuf>,
    /// The number of clusters, when the last ones may be empty (default: C of --probs, else
    /// the largest cluster id + 1).
    #[arg(long)]
    clusters: Option<usize>,
    /// Write the report (every score, confusion matrix, per-cluster table, empty clusters)
    /// as JSON here: the same document as an `Evaluate` node's `metrics.json`.
    #[arg(long, value_name = "OUT.json")]
    json: Option<PathBuf>,
    /// Write the confusion matrix (classes × clusters in matched order) as a PNG here.
    #[arg(long, value_name = "OUT.png")]
    heatmap: Option<PathBuf>,
}

/// Scores the files. Bad input exits with code 2 and a message naming the file; failing to
/// write an output is an error (code 1).
pub fn run(args: MetricsArgs) -> anyhow::Result<ExitCode> {
    let report = match evaluate(&args) {
        Ok(report) => report,
        Err(error) => {
            eprintln!("error: {error}");
            return Ok(ExitCode::from(EXIT_INVALID));
        }
    };
    print!("{}", summary_table(&report));
    write_scored(&report, args.json.as_deref(), args.heatmap.as_deref())?;
    Ok(ExitCode::SUCCESS)
}

/// Reads the inputs and computes the report.
fn evaluate(args: &MetricsArgs) -> Result<ClusterReport, MetricsError> {
    let (pred, labels) = read_pair(
        &ColumnSpec::parse(&args.pred),
        &ColumnSpec::parse(&args.labels),
    )?;
    let probs = match &args.probs {
        Some(path) => Some(read_probs(path, pred.len(), args.clusters)?),
        None => None,
    };
    let probs = probs
        .as_ref()
        .map(|(values, cols)| (values.as_slice(), *cols));
    ClusterReport::compute_with_clusters(&pred, &labels, probs, args.clusters)
}
