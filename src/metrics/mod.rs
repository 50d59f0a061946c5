//! Scoring a clustering against ground-truth labels: the contingency table, the Hungarian
//! matching, ACC / NMI / ARI / top-5, the per-cluster report and its console table, and
//! readers for prediction and label files. No tensors involved: everything works on ids.
//!
//! ```text
//! pred, labels ──Contingency──> scores (acc_hungarian, acc_majority, nmi, ari, top5)
//!                                  └──> ClusterReport ──> summary_table / JSON / heat map
//! ```

mod cluster_report;
mod contingency;
mod error;
mod hungarian;
pub mod io;
mod scores;
mod table;

pub use cluster_report::{ClusterReport, ClusterStats};
pub use contingency::{Contingency, MAX_CELLS};
pub use error::MetricsError;
pub use hungarian::max_weight_assignment;
pub use io::{read_pair, read_probs, ColumnSpec};
pub use scores::{
    acc_hungarian, acc_majority, ari, hungarian_mapping, majority_mapping, mapped_accuracy, nmi,
    top5,
};
pub use table::summary_table;
