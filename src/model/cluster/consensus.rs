//! A cluster model that predicts by the consensus of its heads (`consensus` in its
//! architecture, written by `Scan` with `consensus: true`): the mean over heads of each
//! head's probabilities, head `h`'s cluster `perms[h][c]` counted as cluster `c` (see
//! [`crate::cluster::consensus`] for how the clusters are matched).

use candle_core::Tensor;

use super::heads::ClusterHead;
use super::softmax_rows;
use crate::model::error::ModelError;

/// The consensus probabilities `(B, C)` of `heads` on `features` `(B, D)`.
pub(super) fn probabilities(
    heads: &[ClusterHead],
    perms: &[Vec<usize>],
    features: &Tensor,
) -> Result<Tensor, ModelError> {
    let mut sum: Option<Tensor> = None;
    for (head, perm) in heads.iter().zip(perms) {
        let order: Vec<u32> = perm.iter().map(|&c| c as u32).collect();
        let order = Tensor::from_vec(order, perm.len(), features.device())?;
        let p = softmax_rows(&head.forward(features)?)?.index_select(&order, 1)?;
        sum = Some(match sum {
            None => p,
            Some(total) => (total + p)?,
        });
    }
    let sum = sum.ok_or_else(|| invalid("a consensus of no heads".into()))?;
    Ok((sum / heads.len() as f64)?)
}

/// Refuses matchings that are not one renumbering of `clusters` clusters per head.
pub(super) fn check(perms: &[Vec<usize>], heads: usize, clusters: usize) -> Result<(), ModelError> {
    if perms.len() != heads {
        let message = format!("{} matchings for {heads} heads", perms.len());
        return Err(invalid(message));
    }
    for (h, perm) in perms.iter().enumerate() {
        let mut sorted = perm.clone();
        sorted.sort_unstable();
        if !sorted.iter().copied().eq(0..clusters) {
            let message =
                format!("head {h}'s matching {perm:?} is not a renumbering of {clusters} clusters");
            return Err(invalid(message));
        }
    }
    Ok(())
}

fn invalid(message: String) -> ModelError {
    ModelError::Config {
        field: "consensus",
        message,
    }
}
