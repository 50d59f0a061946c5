//! The evaluation of one clustering against ground truth: ACC (one-to-one and majority),
//! NMI, ARI, top-5, the confusion matrix (true classes × cluster ids), per-cluster size,
//! purity, majority and matched class, and notes on what was empty or skipped.

use serde::Serialize;

use super::scores::{
    acc_majority, ari, hungarian_mapping, majority_mapping, mapped_accuracy, nmi, top5,
};
use super::{Contingency, MetricsError};

/// One cluster's line in a [`ClusterReport`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClusterStats {
    /// The cluster id.
    pub cluster: u32,
    /// Samples assigned to it (0 for an empty cluster).
    pub size: u64,
    /// Share of its samples in its majority class; `None` (JSON `null`) when empty.
    pub purity: Option<f64>,
    /// Its most frequent class (lowest id on ties); `None` when empty.
    pub majority_class: Option<u32>,
    /// The class the one-to-one (Hungarian) matching gives it; `None` when it is left over.
    pub matched_class: Option<u32>,
}

/// Every score of one clustering against ground-truth labels.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClusterReport {
    /// Number of samples scored.
    pub samples: u64,
    /// Number of clusters (declared, or the largest id + 1).
    pub clusters: usize,
    /// Number of classes (the largest label + 1).
    pub classes: usize,
    /// Accuracy under the best one-to-one cluster→class matching (Hungarian).
    pub acc_hungarian: f64,
    /// Accuracy when each cluster is labelled with its majority class.
    pub acc_majority: f64,
    /// Normalised mutual information (arithmetic mean), as sklearn.
    pub nmi: f64,
    /// Adjusted Rand index, as sklearn.
    pub ari: f64,
    /// Top-5 accuracy after the Hungarian matching; `None` without probabilities or when
    /// the clusters are not as many as the classes (a note says which).
    pub top5: Option<f64>,
    /// `confusion[k][c]`: samples of true class k in cluster c (rows: classes, columns:
    /// cluster ids in id order, not reordered; see [`ClusterReport::confusion_by_match`]).
    pub confusion: Vec<Vec<u64>>,
    /// One entry per cluster, in id order.
    pub per_cluster: Vec<ClusterStats>,
    /// What was empty, unmatched or skipped, in plain words.
    pub notes: Vec<String>,
}

impl ClusterReport {
    /// Scores `pred` against `labels`. `probs`, when given, is N × C row-major cluster
    /// probabilities with its C: it fixes the number of clusters and enables top-5; without
    /// it there are `max(pred) + 1` clusters.
    ///
    /// Errors: lengths differ, no samples, fewer than 2 clusters, a probability matrix of
    /// the wrong size. Empty clusters are not errors: they get size 0, purity `None` and a note.
    pub fn compute(
        pred: &[u32],
        labels: &[u32],
        probs: Option<(&[f32], usize)>,
    ) -> Result<Self, MetricsError> {
        Self::compute_with_clusters(pred, labels, probs, None)
    }

    /// [`ClusterReport::compute`] with a declared number of clusters, so trailing clusters
    /// nobody was assigned to count as empty; it must agree with the probabilities' C
    /// (`None`: the probabilities' C, else `max(pred) + 1`).
    pub fn compute_with_clusters(
        pred: &[u32],
        labels: &[u32],
        probs: Option<(&[f32], usize)>,
        clusters: Option<usize>,
    ) -> Result<Self, MetricsError> {
        let table = checked_table(pred, labels, probs, clusters)?;
        let matched = hungarian_mapping(&table);
        let mut notes = table_notes(&table);
        let top5 = top5_or_note(&table, labels, probs, &matched, &mut notes)?;
        Ok(Self {
            samples: table.total(),
            clusters: table.clusters(),
            classes: table.classes(),
            acc_hungarian: mapped_accuracy(&table, &matched),
            acc_majority: acc_majority(&table),
            nmi: nmi(&table),
            ari: ari(&table),
            top5,
            confusion: confusion(&table),
            per_cluster: cluster_stats(&table, &matched),
            notes,
        })
    }

    /// The confusion matrix with its columns reordered so that the cluster matched to class
    /// k is column k (matched pairs on the diagonal), leftover clusters after, by id.
    pub fn confusion_by_match(&self) -> Vec<Vec<u64>> {
        let order = self.match_order();
        let cell = |row: &Vec<u64>, c: u32| row.get(c as usize).copied().unwrap_or(0);
        let reorder = |row: &Vec<u64>| order.iter().map(|&c| cell(row, c)).collect();
        self.confusion.iter().map(reorder).collect()
    }

    /// Cluster ids in the column order of [`ClusterReport::confusion_by_match`].
    pub fn match_order(&self) -> Vec<u32> {
        let matched = |k: u32| self.per_cluster.iter().find(|s| s.matched_class == Some(k));
        let mut order: Vec<u32> = (0..self.classes as u32)
            .filter_map(|k| matched(k).map(|s| s.cluster))
            .collect();
        let leftover = self
            .per_cluster
            .iter()
            .filter(|s| s.matched_class.is_none());
        order.extend(leftover.map(|s| s.cluster));
        order
    }
}

/// The contingency table after every input check, in the order a user would fix them.
fn checked_table(
    pred: &[u32],
    labels: &[u32],
    probs: Option<(&[f32], usize)>,
    clusters: Option<usize>,
) -> Result<Contingency, MetricsError> {
    if pred.len() != labels.len() {
        return Err(MetricsError::LengthMismatch {
            predictions: pred.len(),
            labels: labels.len(),
        });
    }
    if pred.is_empty() {
        return Err(MetricsError::NoSamples);
    }
    let clusters = clusters.or(probs.map(|(_, cols)| cols));
    if let (Some(probs), Some(declared)) = (probs, clusters) {
        check_probs(probs, pred.len(), declared)?;
    }
    let table = match clusters {
        Some(clusters) => Contingency::with_clusters(pred, labels, clusters)?,
        None => Contingency::new(pred, labels)?,
    };
    if table.clusters() < 2 {
        return Err(MetricsError::TooFewClusters {
            clusters: table.clusters(),
        });
    }
    Ok(table)
}

/// Probabilities must be `samples × clusters` with C the declared number of clusters.
fn check_probs(
    (values, cols): (&[f32], usize),
    samples: usize,
    clusters: usize,
) -> Result<(), MetricsError> {
    if cols == clusters && Some(values.len()) == samples.checked_mul(cols) {
        return Ok(());
    }
    Err(MetricsError::Shape {
        what: "the cluster probabilities",
        len: values.len(),
        rows: samples,
        cols: clusters,
    })
}

/// Notes on empty clusters and on clusters or classes the one-to-one matching leaves over.
fn table_notes(table: &Contingency) -> Vec<String> {
    let mut notes: Vec<String> = empty_note(table).into_iter().collect();
    let (c, k) = (table.clusters(), table.classes());
    if c > k {
        notes.push(format!(
            "{c} clusters for {k} classes: one-to-one ACC leaves {} clusters unmatched (their \
             samples count as wrong); majority ACC maps every cluster to its majority class",
            c - k
        ));
    } else if c < k {
        notes.push(format!(
            "{c} clusters for {k} classes: one-to-one ACC leaves {} classes unmatched",
            k - c
        ));
    }
    notes
}

/// Which clusters are empty, if any.
fn empty_note(table: &Contingency) -> Option<String> {
    let sizes = table.cluster_sizes();
    let empty: Vec<String> = (0..sizes.len())
        .filter(|&c| sizes[c] == 0)
        .map(|c| c.to_string())
        .collect();
    match empty.len() {
        0 => None,
        1 => Some(format!(
            "cluster {} is empty (size 0, purity null)",
            empty[0]
        )),
        n => Some(format!(
            "{n} clusters are empty (size 0, purity null): {}",
            empty.join(", ")
        )),
    }
}

/// Top-5 accuracy when probabilities are given and clusters match classes, else a note.
fn top5_or_note(
    table: &Contingency,
    labels: &[u32],
    probs: Option<(&[f32], usize)>,
    matched: &[Option<u32>],
    notes: &mut Vec<String>,
) -> Result<Option<f64>, MetricsError> {
    let Some((values, cols)) = probs else {
        notes.push("top-5 skipped: no cluster probabilities given".into());
        return Ok(None);
    };
    if table.clusters() != table.classes() {
        notes.push(format!(
            "top-5 skipped: it needs as many clusters as classes ({} clusters, {} classes)",
            table.clusters(),
            table.classes()
        ));
        return Ok(None);
    }
    top5(values, cols, labels, matched).map(Some)
}

/// `confusion[k][c]` from the cluster-major table.
fn confusion(table: &Contingency) -> Vec<Vec<u64>> {
    let row = |k: usize| (0..table.clusters()).map(|c| table.count(c, k)).collect();
    (0..table.classes()).map(row).collect()
}

/// Per-cluster size, purity, majority class and matched class.
fn cluster_stats(table: &Contingency, matched: &[Option<u32>]) -> Vec<ClusterStats> {
    let sizes = table.cluster_sizes();
    let majority = majority_mapping(table);
    (0..table.clusters())
        .map(|c| ClusterStats {
            cluster: c as u32,
            size: sizes[c],
            purity: table.purity(c),
            majority_class: majority[c],
            matched_class: matched[c],
        })
        .collect()
}

#[cfg(test)]
mod tests;
