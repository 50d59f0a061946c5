//! The console summary of a [`ClusterReport`]: the scores, then one line per cluster (size,
//! purity, majority and matched class), then the notes. Plain text, deterministic.

use std::fmt::Write;

use super::{ClusterReport, ClusterStats};

/// Renders the report as a plain-text table (every line ends in `\n`; `-` marks a value
/// that does not exist, such as the purity of an empty cluster).
pub fn summary_table(report: &ClusterReport) -> String {
    let mut out = format!(
        "samples {}, clusters {}, classes {}\n",
        report.samples, report.clusters, report.classes
    );
    let scores = [
        ("ACC (one-to-one)", Some(report.acc_hungarian)),
        ("ACC (majority)", Some(report.acc_majority)),
        ("NMI", Some(report.nmi)),
        ("ARI", Some(report.ari)),
        ("top-5", report.top5),
    ];
    for (name, value) in scores {
        let _ = writeln!(out, "{name:<16}  {}", fixed(value));
    }
    out.push('\n');
    out.push_str(&cluster_lines(&report.per_cluster));
    if !report.notes.is_empty() {
        out.push('\n');
    }
    for note in &report.notes {
        let _ = writeln!(out, "note: {note}");
    }
    out
}

/// The per-cluster table, its columns as wide as their widest entry.
fn cluster_lines(stats: &[ClusterStats]) -> String {
    let largest = stats.iter().map(|s| s.size).max().unwrap_or(0);
    let size_width = largest.to_string().len().max(4);
    let mut out = format!(
        "{:>7}  {:>size_width$}  {:>6}  {:>8}  {:>7}\n",
        "cluster", "size", "purity", "majority", "matched"
    );
    for s in stats {
        let _ = writeln!(
            out,
            "{:>7}  {:>size_width$}  {:>6}  {:>8}  {:>7}",
            s.cluster,
            s.size,
            fixed(s.purity),
            id(s.majority_class),
            id(s.matched_class)
        );
    }
    out
}

/// A score with 4 decimals, or `-`.
fn fixed(value: Option<f64>) -> String {
    value.map_or("-".into(), |v| format!("{v:.4}"))
}

/// A class id, or `-`.
fn id(value: Option<u32>) -> String {
    value.map_or("-".into(), |v| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_table() {
        // Table of `cluster_report::tests::empty_and_leftover_clusters_are_noted`:
        // ACC 5/7 = 0.7143. ARI: index = C(3,2) + C(2,2) + C(2,2) = 5, clusters 5, classes
        // C(5,2) + C(2,2) = 11, expected 5·11/21, max 8: (5 − 55/21)/(8 − 55/21) = 50/113 =
        // 0.4425. NMI 0.7134 is sklearn 1.9.1's normalized_mutual_info_score on these lists.
        let pred = [0, 0, 0, 1, 1, 3, 3];
        let labels = [0, 0, 0, 1, 1, 0, 0];
        let report = ClusterReport::compute_with_clusters(&pred, &labels, None, Some(4)).unwrap();
        let expected = "\
samples 7, clusters 4, classes 2
ACC (one-to-one)  0.7143
ACC (majority)    1.0000
NMI               0.7134
ARI               0.4425
top-5             -

cluster  size  purity  majority  matched
      0     3  1.0000         0        0
      1     2  1.0000         1        1
      2     0       -         -        -
      3     2  1.0000         0        -

note: cluster 2 is empty (size 0, purity null)
note: 4 clusters for 2 classes: one-to-one ACC leaves 2 clusters unmatched (their samples count as wrong); majority ACC maps every cluster to its majority class
note: top-5 skipped: no cluster probabilities given
";
        assert_eq!(summary_table(&report), expected);
    }
}
