//! Assembling streamed [`FeatureBatch`]es into one N×D matrix ordered by dataset index, so
//! batches may arrive in any order. Indices must be distinct; when they are not exactly
//! 0..N (a subset such as `per_class`), row `i` holds the `i`-th smallest index and
//! [`Gathered::ids`] says which.

use super::KnnError;
use crate::data::FeatureBatch;

/// Feature batches assembled into rows 0..N.
#[derive(Clone, Debug, PartialEq)]
pub struct Gathered {
    /// Values per row.
    pub dim: usize,
    /// N×dim values, row `i` holding dataset index `ids[i]`.
    pub data: Vec<f32>,
    /// The dataset index of each row, ascending (`0..N` for a whole data set).
    pub ids: Vec<u64>,
    /// Each row's label, when every batch carried labels.
    pub labels: Option<Vec<u32>>,
}

/// Places every row of `batches` at the rank of its index; errors on a dimension mismatch
/// and on a duplicated index.
pub fn gather<B: AsRef<FeatureBatch>>(batches: &[B]) -> Result<Gathered, KnnError> {
    let points: usize = batches.iter().map(|b| b.as_ref().len()).sum();
    let ids = sorted_ids(batches, points);
    let dim = batches.first().map_or(0, |b| b.as_ref().dim);
    let with_labels = batches.iter().all(|b| b.as_ref().labels.is_some());
    let mut data = vec![0f32; points * dim];
    let mut labels = vec![0u32; if with_labels { points } else { 0 }];
    let mut seen = vec![false; points];
    for batch in batches.iter().map(AsRef::as_ref) {
        if batch.dim != dim {
            return Err(KnnError::DimMismatch {
                expected: dim,
                found: batch.dim,
            });
        }
        for (r, &index) in batch.indices.iter().enumerate() {
            let slot = claim(&mut seen, rank_of(&ids, index), index)?;
            data[slot * dim..(slot + 1) * dim].copy_from_slice(batch.row(r));
            if let (Some(from), true) = (&batch.labels, with_labels) {
                labels[slot] = from.get(r).copied().unwrap_or(u32::MAX);
            }
        }
    }
    Ok(Gathered {
        dim,
        data,
        ids,
        labels: with_labels.then_some(labels),
    })
}

/// Every index, ascending (duplicates kept, so `claim` reports them).
fn sorted_ids<B: AsRef<FeatureBatch>>(batches: &[B], points: usize) -> Vec<u64> {
    let mut ids = Vec::with_capacity(points);
    for batch in batches {
        ids.extend_from_slice(&batch.as_ref().indices);
    }
    ids.sort_unstable();
    ids
}

/// The row of dataset index `index`: itself for a whole data set, else its rank.
fn rank_of(ids: &[u64], index: u64) -> u64 {
    let dense = ids
        .last()
        .is_none_or(|&last| last as usize + 1 == ids.len());
    if dense {
        index
    } else {
        ids.partition_point(|&id| id < index) as u64
    }
}

/// Marks row `row` (holding dataset index `index`) as seen, returning it as a row number.
fn claim(seen: &mut [bool], row: u64, index: u64) -> Result<usize, KnnError> {
    let points = seen.len();
    let problem = |problem| KnnError::Indices {
        points,
        index,
        problem,
    };
    let slot = usize::try_from(row)
        .ok()
        .filter(|&i| i < points)
        .ok_or_else(|| problem("out of range"))?;
    if std::mem::replace(&mut seen[slot], true) {
        return Err(problem("duplicated"));
    }
    Ok(slot)
}
