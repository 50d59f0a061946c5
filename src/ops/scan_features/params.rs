//! The parameters of `ScanFeatures` as written in RON, their documentation and validation.

use serde::{Deserialize, Serialize};

use crate::model::loss::scan::ScanLossKind;
use crate::model::optim::OptimizerKind;
use crate::model::schedule::ScheduleKind;
use crate::ops::scan::check_heads;
use crate::ops::{ParamDoc, ParamError};

/// Parameters of the `ScanFeatures` operator.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanFeaturesParams {
    /// Clusters per head, `C`.
    pub clusters: usize,
    /// Heads trained at once; the one with the lowest training loss is selected.
    #[serde(default = "one")]
    pub heads: usize,
    /// Weight `w` of the entropy term (the `Keras` loss ignores it).
    #[serde(default = "default_entropy_weight")]
    pub entropy_weight: f64,
    /// Each anchor's neighbour is drawn from its first `top` mined neighbours.
    #[serde(default = "default_top")]
    pub top: usize,
    /// The clustering loss.
    #[serde(default)]
    pub loss: ScanLossKind,
    /// The optimiser.
    #[serde(default = "default_optimizer")]
    pub optimizer: OptimizerKind,
    /// The learning-rate schedule, over `epochs` (a budget that ends training sooner cuts
    /// it short).
    #[serde(default)]
    pub schedule: ScheduleKind,
    /// Hidden units per head (`Linear(D, K) → ReLU → Linear(K, C)`); none: linear heads.
    #[serde(default)]
    pub hidden: Option<usize>,
    /// Predict by every head (clusters matched, probabilities averaged) instead of the
    /// lowest-loss head.
    #[serde(default)]
    pub consensus: bool,
    /// Anchors per step.
    #[serde(default = "default_batch")]
    pub batch: usize,
    /// Passes over every anchor.
    #[serde(default = "default_epochs")]
    pub epochs: u64,
    /// Stop after this many minutes of training.
    #[serde(default)]
    pub budget_minutes: Option<f64>,
}

fn one() -> usize {
    1
}
fn default_entropy_weight() -> f64 {
    5.0
}
fn default_top() -> usize {
    20
}
fn default_batch() -> usize {
    128
}
fn default_epochs() -> u64 {
    100
}
/// SCAN's clustering optimiser: Adam, lr 1e-4, weight decay 1e-4.
fn default_optimizer() -> OptimizerKind {
    OptimizerKind::Adam {
        lr: 1e-4,
        betas: (0.9, 0.999),
        eps: 1e-8,
        weight_decay: 1e-4,
        decay_bn_and_bias: false,
    }
}

impl Default for ScanFeaturesParams {
    fn default() -> Self {
        ScanFeaturesParams {
            clusters: 10,
            heads: one(),
            entropy_weight: default_entropy_weight(),
            top: default_top(),
            loss: ScanLossKind::default(),
            optimizer: default_optimizer(),
            schedule: ScheduleKind::Constant,
            hidden: None,
            consensus: false,
            batch: default_batch(),
            epochs: default_epochs(),
            budget_minutes: None,
        }
    }
}

impl ScanFeaturesParams {
    /// Every bad value at once.
    pub fn validate(&self) -> Result<(), Vec<ParamError>> {
        let mut errors = Vec::new();
        check_heads(self.clusters, self.heads, self.entropy_weight, &mut errors);
        let hidden = self.hidden.unwrap_or(1);
        for (field, value) in [("top", self.top), ("hidden", hidden), ("batch", self.batch)] {
            if value == 0 {
                errors.push(ParamError::new(field, "must be at least 1"));
            }
        }
        crate::ops::training::check_length(self.epochs, self.budget_minutes, &mut errors);
        ParamError::result(errors)
    }
}

/// The documentation of `hidden`, shared with `Scan`.
pub(crate) const HIDDEN_DOC: ParamDoc = ParamDoc { name: "hidden", ty: "Option<usize>", doc: "hidden units per head: each head is Linear(D, K) → ReLU → Linear(K, C) instead of linear (frozen features: the boundaries can bend)" };

/// The documentation of `consensus`, shared with `Scan`.
pub(crate) const CONSENSUS_DOC: ParamDoc = ParamDoc { name: "consensus", ty: "bool", doc: "false: keep the head with the lowest training loss (SCAN); true: predict by all of them — each head's clusters matched to a common numbering on the training features, their probabilities averaged (selection by loss is close to a draw on weak features)" };

/// The documentation of `schedule` on fixed features, shared with `Scan`.
pub(crate) const SCHEDULE_DOC: ParamDoc = ParamDoc {
    name: "schedule",
    ty: "Constant | Cosine(warmup_epochs, min_lr_factor) | KerasCosineDecay(alpha, decay_steps)",
    doc: "the learning-rate schedule over `epochs` (SCAN keeps the rate constant)",
};

/// The documentation `scanflow ops` prints.
pub const DOCS: &[ParamDoc] = &[
    ParamDoc { name: "clusters", ty: "usize", doc: "clusters per head, at least 2" },
    ParamDoc { name: "heads", ty: "usize", doc: "heads trained at once; the lowest final-epoch training loss is selected" },
    ParamDoc { name: "entropy_weight", ty: "f64", doc: "weight of the entropy of the mean prediction (ignored by the Keras loss)" },
    ParamDoc { name: "top", ty: "usize", doc: "each anchor's neighbour is drawn from its first `top` mined neighbours (at most the table's k)" },
    ParamDoc { name: "loss", ty: "Scan | Keras", doc: "SCAN's −log⟨p_a, p_n⟩ − w·H, or the Keras example's as written" },
    ParamDoc { name: "optimizer", ty: "Sgd(..) | Adam(..) | AdamW(..)", doc: "the optimiser (SCAN: Adam lr 1e-4, weight decay 1e-4)" },
    SCHEDULE_DOC,
    HIDDEN_DOC,
    CONSENSUS_DOC,
    ParamDoc { name: "batch", ty: "usize", doc: "anchors per step" },
    ParamDoc { name: "epochs", ty: "u64", doc: "passes over every anchor" },
    ParamDoc { name: "budget_minutes", ty: "Option<f64>", doc: "stop after this much training time" },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bad_value_is_named() {
        let params = ScanFeaturesParams {
            clusters: 1,
            top: 0,
            hidden: Some(0),
            batch: 0,
            entropy_weight: -1.0,
            epochs: 0,
            ..ScanFeaturesParams::default()
        };
        let fields: Vec<String> = params
            .validate()
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            [
                "clusters",
                "entropy_weight",
                "top",
                "hidden",
                "batch",
                "epochs"
            ]
        );
        assert!(ScanFeaturesParams::default().validate().is_ok());
    }
}
