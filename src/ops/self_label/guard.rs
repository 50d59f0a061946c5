//! The label-free guard of `SelfLabel`: self-labelling a weak clustering can make it worse
//! (at 29–39 % ACC it cost 1–7 points in every run measured, and the predicted clusters'
//! entropy fell from 2.30 to about 1.8). With `check` (evaluation views of the mined images)
//! and `neighbours` (their table) connected, the operator scores both the model it received
//! and the one it trained by SCAN's own objective on the whole table — consistency
//! `mean −log⟨p_a, p_n⟩` over every anchor and neighbour, minus `entropy_weight · H(p̄)` —
//! and sends the lower-scoring one. No label is read. On the four CIFAR-10 runs measured,
//! this objective ranked the two models as their train-split ACC did every time.

use candle_core::Device;
use serde::Serialize;

use crate::data::{NeighbourTable, ViewBatch};
use crate::model::input::first_views_to_nhwc;
use crate::model::ClusterModel;
use crate::ops::training::failed;
use crate::runtime::{Context, OpError};

/// Floor of an inner product or mean probability before its logarithm (SCAN's `EPS`).
const EPS: f64 = 1e-8;

/// SCAN's objective for one model on the neighbour table.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Score {
    /// `mean −log⟨p_a, p_n⟩` over every anchor and each of its neighbours.
    pub consistency: f64,
    /// `H(p̄)`, the entropy of the mean prediction.
    pub entropy: f64,
    /// `consistency − entropy_weight · entropy`: lower is better.
    pub total: f64,
}

/// The objective of probabilities `probs` (one row of `clusters` per table row).
pub fn score(probs: &[f32], clusters: usize, table: &NeighbourTable, entropy_weight: f64) -> Score {
    let row = |r: usize| &probs[r * clusters..(r + 1) * clusters];
    let mut sum = 0.0;
    for a in 0..table.points() {
        for &n in table.neighbours(a) {
            let dot: f64 = row(a)
                .iter()
                .zip(row(n as usize))
                .map(|(&p, &q)| f64::from(p) * f64::from(q))
                .sum();
            sum -= dot.max(EPS).ln();
        }
    }
    let consistency = sum / (table.points() * table.k).max(1) as f64;
    let mut mean = vec![0f64; clusters];
    for r in 0..table.points() {
        mean.iter_mut()
            .zip(row(r))
            .for_each(|(m, &p)| *m += f64::from(p));
    }
    let points = table.points().max(1) as f64;
    let entropy = -mean
        .iter()
        .map(|m| (m / points).max(EPS))
        .map(|q| q * q.ln())
        .sum::<f64>();
    Score {
        consistency,
        entropy,
        total: consistency - entropy_weight * entropy,
    }
}

/// Reads every batch of `check` and returns each model's probabilities (evaluation mode),
/// one row per table row.
pub fn probabilities(
    ctx: &mut Context,
    models: [&ClusterModel; 2],
    table: &NeighbourTable,
    device: &Device,
) -> Result<[Vec<f32>; 2], OpError> {
    let mut out: [Vec<f32>; 2] = [Vec::new(), Vec::new()];
    let mut seen = vec![false; table.points()];
    while let Some(payload) = ctx.recv("check")? {
        let batch = payload.as_views().cloned().ok_or_else(|| {
            OpError::Failed(format!(
                "node `{}`: `check` must send view batches",
                ctx.id()
            ))
        })?;
        let x = first_views_to_nhwc(&batch, device).map_err(failed)?;
        for (model, probs) in models.iter().zip(out.iter_mut()) {
            let p: Vec<f32> = model
                .probabilities(&x)
                .and_then(|p| Ok(p.flatten_all()?.to_vec1()?))
                .map_err(failed)?;
            place(probs, &p, &batch, table)?;
        }
        mark(&mut seen, &batch, table, ctx.id())?;
    }
    if let Some(missing) = seen.iter().position(|s| !s) {
        return Err(OpError::Failed(format!(
            "node `{}`: `check` ended without table row {missing} (dataset image {}); send every image the neighbours were mined on",
            ctx.id(),
            table.dataset_index(missing)
        )));
    }
    Ok(out)
}

/// Copies the batch's probability rows to their table rows.
fn place(
    probs: &mut Vec<f32>,
    batch_probs: &[f32],
    batch: &ViewBatch,
    table: &NeighbourTable,
) -> Result<(), OpError> {
    let clusters = batch_probs.len() / batch.indices.len().max(1);
    probs.resize(table.points() * clusters, 0.0);
    for (i, &index) in batch.indices.iter().enumerate() {
        let Some(row) = table.row_of(index) else {
            return Err(OpError::Failed(format!(
                "`check` sent dataset image {index}, which has no row in the neighbour table (mined on other images?)"
            )));
        };
        let from = &batch_probs[i * clusters..(i + 1) * clusters];
        probs[row * clusters..(row + 1) * clusters].copy_from_slice(from);
    }
    Ok(())
}

fn mark(
    seen: &mut [bool],
    batch: &ViewBatch,
    table: &NeighbourTable,
    node: &str,
) -> Result<(), OpError> {
    for &index in &batch.indices {
        if let Some(row) = table.row_of(index) {
            if std::mem::replace(&mut seen[row], true) {
                return Err(OpError::Failed(format!(
                    "node `{node}`: `check` sent dataset image {index} twice; it takes one epoch of the mined images"
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Points 0 and 1 are each other's neighbour, as are 2 and 3.
    fn table() -> NeighbourTable {
        NeighbourTable {
            k: 1,
            indices: vec![1, 0, 3, 2],
            similarities: vec![1.0; 4],
            labels: None,
            ids: None,
        }
    }

    #[test]
    fn the_score_is_scans_objective_worked_out_by_hand() {
        // Pairs agree on confident, balanced clusters: consistency −ln 0.9²+0.1² = −ln 0.82,
        // mean prediction (0.5, 0.5): entropy ln 2.
        let probs = [0.9, 0.1, 0.9, 0.1, 0.1, 0.9, 0.1, 0.9];
        let s = score(&probs, 2, &table(), 5.0);
        assert!((s.consistency - -(0.82f64.ln())).abs() < 1e-6, "{s:?}");
        assert!((s.entropy - 2f64.ln()).abs() < 1e-6, "{s:?}");
        assert!((s.total - (s.consistency - 5.0 * s.entropy)).abs() < 1e-12);
        // Everything in one cluster agrees perfectly but has no entropy: a worse total.
        let collapsed = [1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0];
        let c = score(&collapsed, 2, &table(), 5.0);
        assert!(
            c.consistency.abs() < 1e-12 && c.entropy.abs() < 1e-6,
            "{c:?}"
        );
        assert!(c.total > s.total);
    }
}
