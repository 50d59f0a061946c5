//! Assembling streamed [`FeatureBatch`]es into one N×D matrix: each row lands at its
//! dataset index, so batches may arrive in any order; indices must cover 0..N exactly once.

use super::KnnError;
use crate::data::FeatureBatch;

/// Feature batches assembled into rows 0..N.
#[derive(Clone, Debug, PartialEq)]
pub struct Gathered {
    /// Values per row.
    pub dim: usize,
    /// N×dim values, row `i` holding dataset index `i`.
    pub data: Vec<f32>,
    /// Each row's label, when every batch carried labels.
    pub labels: Option<Vec<u32>>,
}

/// Places every row of `batches` at its index; errors on a dimension mismatch and on an
/// index that is out of range or duplicated (which, with N rows, is also how a missing
/// index shows).
pub fn gather<B: AsRef<FeatureBatch>>(batches: &[B]) -> Result<Gathered, KnnError> {
    let points: usize = batches.iter().map(|b| b.as_ref().len()).sum();
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
            let slot = claim(&mut seen, index)?;
            data[slot * dim..(slot + 1) * dim].copy_from_slice(batch.row(r));
            if let (Some(from), true) = (&batch.labels, with_labels) {
                labels[slot] = from.get(r).copied().unwrap_or(u32::MAX);
            }
        }
    }
    Ok(Gathered {
        dim,
        data,
        labels: with_labels.then_some(labels),
    })
}

/// Marks `index` as seen, returning it as a row number.
fn claim(seen: &mut [bool], index: u64) -> Result<usize, KnnError> {
    let points = seen.len();
    let problem = |problem| KnnError::Indices {
        points,
        index,
        problem,
    };
    let slot = usize::try_from(index)
        .ok()
        .filter(|&i| i < points)
        .ok_or_else(|| problem("out of range"))?;
    if std::mem::replace(&mut seen[slot], true) {
        return Err(problem("duplicated"));
    }
    Ok(slot)
}
