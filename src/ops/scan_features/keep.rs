//! What predicts after SCAN's step on fixed features: the head with the lowest final-epoch
//! training loss (SCAN's rule), or with `consensus: true` every head, their clusters matched
//! on the training features starting from that lowest-loss head and their probabilities
//! averaged (see [`crate::cluster::consensus`]).

use serde_json::{json, Value};

use super::trainer::{Layers, Trainer};
use crate::cluster::consensus;
use crate::cluster::heads::HeadLoss;

/// Which heads predict.
#[derive(Clone, Debug, PartialEq)]
pub enum Choice {
    /// This one head.
    Head(usize),
    /// Every head, head `h`'s cluster `perms[h][c]` counted as cluster `c`.
    Consensus(Vec<Vec<usize>>),
}

/// The trained heads and which of them predict.
pub struct Kept {
    /// Every head's values, in [`Trainer::weights`]' order.
    pub values: Vec<Vec<f32>>,
    /// The head with the lowest final-epoch total.
    pub best: usize,
    /// Which heads predict.
    pub choice: Choice,
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
    if !use_consensus {
        let choice = Choice::Head(best);
        return Ok(Kept {
            values,
            best,
            choice,
            record,
        });
    }
    let (heads, clusters) = trainer.layers.heads_and_clusters();
    let logits = trainer.layers.logits(&values, features);
    let alignment = consensus::align(&logits, heads, clusters, best);
    record["consensus"] = json!({
        "heads": heads,
        "perms": alignment.perms,
        "agreement": alignment.agreement,
    });
    Ok(Kept {
        values,
        best,
        choice: Choice::Consensus(alignment.perms),
        record,
    })
}

impl Kept {
    /// Each row of `x`'s `C` probabilities under the chosen heads of `layers`.
    pub fn probabilities(&self, layers: &Layers, x: &[f32]) -> Vec<f32> {
        let (_, c) = layers.heads_and_clusters();
        match &self.choice {
            Choice::Head(head) => layers
                .probabilities(&self.values, x)
                .chunks_exact(layers.columns())
                .flat_map(|row| row[head * c..(head + 1) * c].iter().copied())
                .collect(),
            Choice::Consensus(perms) => {
                consensus::mean_probabilities(&layers.logits(&self.values, x), perms, c)
            }
        }
    }

    /// A one-line summary for the node's status.
    pub fn describe(&self) -> String {
        match &self.choice {
            Choice::Head(head) => format!("selected head {head} (lowest training loss)"),
            Choice::Consensus(perms) => format!(
                "consensus of {} heads (matched from head {})",
                perms.len(),
                self.best
            ),
        }
    }
}
