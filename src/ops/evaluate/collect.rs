//! The cluster probabilities of `input`, collected: each row checked to be a distribution
//! (finite, non-negative, summing to 1 ± [`SUM_TOLERANCE`]), reduced to its cluster (the
//! argmax, lowest id on ties) and its confidence (that maximum). The N × C matrix is kept
//! too — top-5 accuracy needs it — so memory is 4·N·C bytes.

use std::collections::HashMap;
use std::sync::Arc;

use super::error::{EvaluateError, RowProblem};
use crate::data::{DatasetNames, FeatureBatch};

/// How far a row's sum may stray from 1 (f32 softmax over thousands of clusters stays well
/// inside it; logits do not).
pub const SUM_TOLERANCE: f32 = 1e-3;

/// Every row received so far, in arrival order.
#[derive(Debug, Default)]
pub struct Collected {
    /// C, fixed by the first batch (0 before it).
    pub clusters: usize,
    /// Dataset index of each row.
    pub indices: Vec<u64>,
    /// Cluster of each row.
    pub cluster: Vec<u32>,
    /// Confidence (largest probability) of each row.
    pub confidence: Vec<f32>,
    /// The probabilities, N × C row-major.
    pub probs: Vec<f32>,
    /// The data set's image and class names, from the first batch that carried them.
    pub names: Option<Arc<DatasetNames>>,
    /// Labels of the rows, while every batch so far carried them.
    labels: Option<Vec<u32>>,
    /// Row of each dataset index.
    rows: HashMap<u64, usize>,
}

impl Collected {
    /// Nothing collected yet.
    pub fn new() -> Self {
        Collected {
            labels: Some(Vec::new()),
            ..Collected::default()
        }
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.indices.len()
    }

    /// Checks and adds every row of `batch`.
    pub fn push(&mut self, batch: &FeatureBatch) -> Result<(), EvaluateError> {
        self.check_shape(batch)?;
        for i in 0..batch.len() {
            let index = batch.indices[i];
            let row = self.len();
            let (cluster, confidence) =
                assign(batch.row(i)).map_err(|problem| EvaluateError::BadRow {
                    row,
                    index,
                    problem,
                })?;
            if self.rows.insert(index, row).is_some() {
                return Err(EvaluateError::DuplicateIndex { index });
            }
            self.indices.push(index);
            self.cluster.push(cluster);
            self.confidence.push(confidence);
            self.probs.extend_from_slice(batch.row(i));
        }
        if self.names.is_none() {
            self.names = batch.names.clone();
        }
        match (&mut self.labels, &batch.labels) {
            (Some(labels), Some(new)) => labels.extend_from_slice(new),
            (labels, _) => *labels = None,
        }
        Ok(())
    }

    /// Cluster and confidence of dataset index `index`, once its row has arrived.
    pub fn get(&self, index: u64) -> Option<(u32, f32)> {
        let &row = self.rows.get(&index)?;
        Some((self.cluster[row], self.confidence[row]))
    }

    /// The labels of every row, when every batch carried them.
    pub fn labels(&self) -> Option<&[u32]> {
        self.labels.as_deref()
    }

    /// Rows assigned to each cluster.
    pub fn sizes(&self) -> Vec<u64> {
        let mut sizes = vec![0u64; self.clusters];
        for &c in &self.cluster {
            sizes[c as usize] += 1;
        }
        sizes
    }

    /// Row numbers in dataset-index order (the order reports list them in).
    pub fn by_index(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.len()).collect();
        order.sort_by_key(|&row| self.indices[row]);
        order
    }

    /// The batch's lengths agree with each other and its C with the first batch's.
    fn check_shape(&mut self, batch: &FeatureBatch) -> Result<(), EvaluateError> {
        let labels_ok = batch.labels.as_ref().is_none_or(|l| l.len() == batch.len());
        if Some(batch.data.len()) != batch.dim.checked_mul(batch.len()) || !labels_ok {
            return Err(EvaluateError::RaggedBatch {
                values: batch.data.len(),
                dim: batch.dim,
                indices: batch.len(),
            });
        }
        if batch.is_empty() {
            return Ok(());
        }
        if self.clusters == 0 {
            if batch.dim < 2 {
                return Err(EvaluateError::TooFewClusters { found: batch.dim });
            }
            self.clusters = batch.dim;
        }
        if batch.dim != self.clusters {
            return Err(EvaluateError::ClustersChanged {
                expected: self.clusters,
                found: batch.dim,
                index: batch.indices[0],
            });
        }
        Ok(())
    }
}

/// The cluster (argmax, lowest id on ties) and confidence of one row, after checking it is
/// a probability distribution.
pub fn assign(row: &[f32]) -> Result<(u32, f32), RowProblem> {
    let mut best = (0u32, f32::NEG_INFINITY);
    let mut sum = 0.0f64;
    for (column, &value) in row.iter().enumerate() {
        if !value.is_finite() {
            return Err(RowProblem::NotFinite { column, value });
        }
        if value < 0.0 {
            return Err(RowProblem::Negative { column, value });
        }
        if value > best.1 {
            best = (column as u32, value);
        }
        sum += f64::from(value);
    }
    if (sum - 1.0).abs() > f64::from(SUM_TOLERANCE) {
        return Err(RowProblem::Sum {
            sum: sum as f32,
            tolerance: SUM_TOLERANCE,
        });
    }
    Ok(best)
}
