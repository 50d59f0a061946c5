//! What leaves SCAN's step on fixed features: the head with the lowest final-epoch training
//! loss (SCAN's rule), or with `consensus: true` one head combining all of them (see
//! [`crate::cluster::consensus`]), matched on the training features starting from that
//! lowest-loss head.

use serde_json::{json, Value};

use super::trainer::{Layers, Trainer};
use crate::cluster::consensus;
use crate::cluster::heads::HeadLoss;

/// The heads sent on and which of them is used.
pub struct Kept {
    /// Their layers and sizes.
    pub layers: Layers,
    /// Their values, in [`Trainer::weights`]' order.
    pub values: Vec<Vec<f32>>,
    /// The head used.
    pub head: usize,
    /// What was kept and why, for `history.jsonl`: `selected_head` (the lowest final total),
    /// `final_totals` and, for a consensus, each head's cluster matching and agreement.
    pub record: Value,
}

/// The lowest-loss head of `trainer` after the final epoch's `last` losses, or the
/// consensus of every head matched on the rows of `features`.
pub fn keep(
    trainer: &Trainer,
    features: &[f32],
    last: &[HeadLoss],
    use_consensus: bool,
) -> candle_core::Result<Kept> {
    let best = super::select(last);
    let values = trainer.weights()?;
    let totals: Vec<f64> = last.iter().map(|l| l.total).collect();
    let mut record = json!({ "selected_head": best, "final_totals": totals });
    let layers = trainer.layers;
    if !use_consensus {
        let head = best;
        return Ok(Kept {
            layers,
            values,
            head,
            record,
        });
    }
    let (heads, clusters) = layers.heads_and_clusters();
    let logits = layers.logits(&values, features);
    let alignment = consensus::align(&logits, heads, clusters, best);
    let (layers, values) = layers.consensus(&values, &alignment.perms);
    record["consensus"] = json!({
        "heads": heads,
        "perms": alignment.perms,
        "agreement": alignment.agreement,
    });
    Ok(Kept {
        layers,
        values,
        head: 0,
        record,
    })
}

impl Kept {
    /// A one-line summary for the node's status.
    pub fn describe(&self) -> String {
        let best = &self.record["selected_head"];
        match self.record.get("consensus") {
            Some(consensus) => format!(
                "consensus of {} heads (matched from head {best})",
                consensus["heads"]
            ),
            None => format!("selected head {best} (lowest training loss)"),
        }
    }
}
