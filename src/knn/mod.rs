//! Neighbour mining (SCAN step 2): each point's k most similar other points by cosine
//! similarity, i.e. the inner product of L2-normalised feature vectors, exactly
//! ([`exact`], blocked GEMM with a fused top-k) or approximately ([`hnsw`]), and how good
//! a table is ([`quality`]).
//!
//! Every search takes [`UnitRows`], the one type that guarantees finite, unit-length rows.

pub mod classify;
mod error;
pub mod exact;
mod gather;
pub mod hnsw;
mod lanes;
pub mod quality;
mod rounds;
pub mod synthetic;
mod table_io;
pub(crate) mod tile;
mod topk;

pub use error::KnnError;
pub use gather::{gather, Gathered};
pub use table_io::{load_table, save_table};

use crate::hash::StableHasher;

/// An N×D row-major matrix of finite, L2-normalised rows.
#[derive(Clone, Debug, PartialEq)]
pub struct UnitRows {
    dim: usize,
    data: Vec<f32>,
}

impl UnitRows {
    /// Checks every row (finite, non-zero) and scales it to unit length; errors name the row.
    pub fn normalise(mut data: Vec<f32>, dim: usize) -> Result<Self, KnnError> {
        if dim == 0 || !data.len().is_multiple_of(dim) {
            return Err(KnnError::DimMismatch {
                expected: dim,
                found: data.len(),
            });
        }
        for (row, values) in data.chunks_exact_mut(dim).enumerate() {
            normalise_row(row, values)?;
        }
        Ok(UnitRows { dim, data })
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.data.len() / self.dim
    }

    /// True when there is no row.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Values per row.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Row `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }

    /// All values, row-major.
    pub fn as_slice(&self) -> &[f32] {
        &self.data
    }

    /// A stable hash of the shape and every value: tells one feature matrix from another.
    pub fn fingerprint(&self) -> String {
        let mut hasher = StableHasher::default();
        hasher.write(&(self.len() as u64).to_le_bytes());
        hasher.write(&(self.dim as u64).to_le_bytes());
        for value in &self.data {
            hasher.write(&value.to_le_bytes());
        }
        hasher.hex()
    }

    /// Refuses `k` unless 1 ≤ k < N.
    pub fn check_k(&self, k: usize) -> Result<(), KnnError> {
        if k == 0 || k >= self.len() {
            return Err(KnnError::TooFewPoints {
                k,
                points: self.len(),
            });
        }
        Ok(())
    }
}

/// Scales one row to unit length after checking it is finite and non-zero.
fn normalise_row(row: usize, values: &mut [f32]) -> Result<(), KnnError> {
    if let Some((column, &value)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(KnnError::NonFinite { row, column, value });
    }
    let norm = values
        .iter()
        .map(|&v| f64::from(v) * f64::from(v))
        .sum::<f64>()
        .sqrt();
    if norm == 0.0 {
        return Err(KnnError::ZeroNorm { row });
    }
    for v in values.iter_mut() {
        *v = (f64::from(*v) / norm) as f32;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
