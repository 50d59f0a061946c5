//! The clusters × classes contingency table: `count(c, k)` = samples predicted in cluster c
//! whose true class is k (C rows, K columns, row-major), with cluster sizes (row sums),
//! class sizes (column sums) and per-cluster purity = max_k count(c, k) / size(c).

use super::MetricsError;

/// The most cells a table may have (2²⁵ u64 counts = 256 MiB), so a stray huge id in a
/// label file fails with a message instead of exhausting memory.
pub const MAX_CELLS: usize = 1 << 25;

/// Counts of (cluster, class) pairs over a labelled sample.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contingency {
    clusters: usize,
    classes: usize,
    counts: Vec<u64>,
}

impl Contingency {
    /// Builds the table with `max(pred) + 1` clusters and `max(labels) + 1` classes.
    ///
    /// Errors: lengths differ ([`MetricsError::LengthMismatch`]) or the table is larger than
    /// [`MAX_CELLS`].
    pub fn new(pred: &[u32], labels: &[u32]) -> Result<Self, MetricsError> {
        let clusters = pred.iter().max().map_or(0, |&c| c as usize + 1);
        Self::with_clusters(pred, labels, clusters)
    }

    /// Same with a declared number of clusters, so clusters no sample was assigned to still
    /// appear (as empty rows); a prediction ≥ `clusters` is [`MetricsError::ClusterOutOfRange`].
    pub fn with_clusters(
        pred: &[u32],
        labels: &[u32],
        clusters: usize,
    ) -> Result<Self, MetricsError> {
        if pred.len() != labels.len() {
            return Err(MetricsError::LengthMismatch {
                predictions: pred.len(),
                labels: labels.len(),
            });
        }
        let out_of_range = pred.iter().position(|&c| c as usize >= clusters);
        if let Some(index) = out_of_range {
            let cluster = pred[index];
            return Err(MetricsError::ClusterOutOfRange {
                index,
                cluster,
                clusters,
            });
        }
        let classes = labels.iter().max().map_or(0, |&k| k as usize + 1);
        let mut table = Self::zeros(clusters, classes)?;
        for (&c, &k) in pred.iter().zip(labels) {
            table.counts[c as usize * classes + k as usize] += 1;
        }
        Ok(table)
    }

    /// A table from known counts, row-major (`counts[c·classes + k]`); the length must be
    /// `clusters · classes`.
    pub fn from_counts(
        clusters: usize,
        classes: usize,
        counts: Vec<u64>,
    ) -> Result<Self, MetricsError> {
        if Some(counts.len()) != clusters.checked_mul(classes) {
            return Err(MetricsError::Shape {
                what: "the contingency counts",
                len: counts.len(),
                rows: clusters,
                cols: classes,
            });
        }
        Ok(Self {
            clusters,
            classes,
            counts,
        })
    }

    /// An all-zero table, refusing more than [`MAX_CELLS`] cells.
    fn zeros(clusters: usize, classes: usize) -> Result<Self, MetricsError> {
        match clusters.checked_mul(classes) {
            Some(cells) if cells <= MAX_CELLS => Ok(Self {
                clusters,
                classes,
                counts: vec![0; cells],
            }),
            _ => Err(MetricsError::TableTooLarge {
                clusters,
                classes,
                max: MAX_CELLS,
            }),
        }
    }

    /// Number of clusters (rows).
    pub fn clusters(&self) -> usize {
        self.clusters
    }

    /// Number of classes (columns).
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// Samples of class `class` in cluster `cluster` (0 outside the table).
    pub fn count(&self, cluster: usize, class: usize) -> u64 {
        if cluster >= self.clusters || class >= self.classes {
            return 0;
        }
        self.counts[cluster * self.classes + class]
    }

    /// The counts of one cluster, by class (empty outside the table).
    pub fn row(&self, cluster: usize) -> &[u64] {
        if cluster >= self.clusters {
            return &[];
        }
        &self.counts[cluster * self.classes..(cluster + 1) * self.classes]
    }

    /// Number of samples counted.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Samples per cluster (row sums).
    pub fn cluster_sizes(&self) -> Vec<u64> {
        (0..self.clusters)
            .map(|c| self.row(c).iter().sum())
            .collect()
    }

    /// Samples per class (column sums).
    pub fn class_sizes(&self) -> Vec<u64> {
        let mut sizes = vec![0; self.classes];
        for c in 0..self.clusters {
            for (size, &n) in sizes.iter_mut().zip(self.row(c)) {
                *size += n;
            }
        }
        sizes
    }

    /// The most frequent class of a cluster (the lowest id on ties); `None` when it is empty.
    pub fn majority(&self, cluster: usize) -> Option<u32> {
        let row = self.row(cluster);
        let (best, &n) = row.iter().enumerate().rev().max_by_key(|&(_, n)| *n)?;
        (n > 0).then_some(best as u32)
    }

    /// Share of a cluster's samples in its majority class; `None` when it is empty.
    pub fn purity(&self, cluster: usize) -> Option<f64> {
        let row = self.row(cluster);
        let size: u64 = row.iter().sum();
        let top = row.iter().max()?;
        (size > 0).then(|| *top as f64 / size as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_sizes_purity_and_majority() {
        // pred  0 0 0 1 1 2 2 2 2
        // label 0 0 1 1 1 0 2 2 1  → cluster 0: [2,1,0], 1: [0,2,0], 2: [1,1,2], 3: empty.
        let pred = [0, 0, 0, 1, 1, 2, 2, 2, 2];
        let labels = [0, 0, 1, 1, 1, 0, 2, 2, 1];
        let table = Contingency::with_clusters(&pred, &labels, 4).unwrap();
        assert_eq!(
            (table.clusters(), table.classes(), table.total()),
            (4, 3, 9)
        );
        assert_eq!(table.row(0), [2, 1, 0]);
        assert_eq!(table.row(2), [1, 1, 2]);
        assert_eq!(table.count(1, 1), 2);
        assert_eq!(table.cluster_sizes(), [3, 2, 4, 0]);
        assert_eq!(table.class_sizes(), [3, 4, 2]);
        assert_eq!(table.purity(0), Some(2.0 / 3.0));
        assert_eq!(table.purity(2), Some(0.5));
        assert_eq!(table.purity(3), None);
        assert_eq!(table.majority(1), Some(1));
        assert_eq!(table.majority(2), Some(2));
        assert_eq!(table.majority(3), None);
        assert_eq!(Contingency::new(&pred, &labels).unwrap().clusters(), 3);
    }

    #[test]
    fn majority_ties_go_to_the_lowest_class() {
        let table = Contingency::from_counts(1, 3, vec![1, 2, 2]).unwrap();
        assert_eq!(table.majority(0), Some(1));
    }

    #[test]
    fn refuses_bad_input() {
        let err = Contingency::new(&[0, 1], &[0]).unwrap_err().to_string();
        assert_eq!(
            err,
            "2 predictions but 1 labels: they must pair up one to one"
        );
        let err = Contingency::with_clusters(&[0, 5], &[0, 0], 3)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "prediction 1 is cluster 5, but there are only 3 clusters"
        );
        let err = Contingency::new(&[0, 1], &[0, u32::MAX]).unwrap_err();
        assert!(matches!(
            err,
            MetricsError::TableTooLarge { clusters: 2, .. }
        ));
        assert!(Contingency::from_counts(2, 2, vec![1, 2, 3]).is_err());
    }
}
