//! The parameters of `SelfLabel` as written in RON, their documentation and validation.

use serde::{Deserialize, Serialize};

use crate::linalg::Precision;
use crate::model::optim::OptimizerKind;
use crate::model::schedule::ScheduleKind;
use crate::ops::{training, ParamDoc, ParamError, ScanParams};

/// Parameters of the `SelfLabel` operator.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SelfLabelParams {
    /// A sample is confident when its weak view's top probability exceeds this.
    #[serde(default = "default_threshold")]
    pub threshold: f64,
    /// Also each cluster's most confident `⌈cluster_quota · n_c⌉` of the `n_c` samples it
    /// predicts in a batch become pseudo-labels (0, SCAN's rule: the threshold alone).
    #[serde(default)]
    pub cluster_quota: f64,
    /// Weight each confident sample by `n / (K · n_label)` (SCAN's class balancing).
    #[serde(default = "yes")]
    pub class_balanced: bool,
    /// The weight `w` of `−w·H(p̄)`, SCAN's clustering entropy term, added to the loss over
    /// each batch's strong views (0, SCAN's choice: none).
    #[serde(default)]
    pub entropy_weight: f64,
    /// The weight of `H(p̄)` in the guard's objective (used with `check` and `neighbours`;
    /// SCAN's entropy weight, as `Scan`'s default).
    #[serde(default = "default_guard_entropy_weight")]
    pub guard_entropy_weight: f64,
    /// Fine-tune the encoder with the selected head (SCAN) or train the head alone.
    #[serde(default = "yes")]
    pub update_encoder: bool,
    /// The optimiser.
    #[serde(default = "default_optimizer")]
    pub optimizer: OptimizerKind,
    /// The learning-rate schedule.
    #[serde(default)]
    pub schedule: ScheduleKind,
    /// Epochs to train (the inputs must carry at least this many).
    #[serde(default = "default_epochs")]
    pub epochs: u64,
    /// Stop after this many minutes of training (the schedule then spans the budget).
    #[serde(default)]
    pub budget_minutes: Option<f64>,
    /// Write a checkpoint every this many epochs (0: only at the end).
    #[serde(default = "one")]
    pub checkpoint_every: u64,
    /// The precision of the convolutions' matrix products on the CPU (left out of the cache
    /// key when f32).
    #[serde(default, skip_serializing_if = "Precision::is_f32")]
    pub precision: Precision,
}

fn default_guard_entropy_weight() -> f64 {
    ScanParams::default().entropy_weight
}
fn yes() -> bool {
    true
}
fn one() -> u64 {
    1
}
/// SCAN's CIFAR-10 confidence threshold.
fn default_threshold() -> f64 {
    0.99
}
/// SCAN's CIFAR-10 self-labelling epochs.
fn default_epochs() -> u64 {
    200
}
/// SCAN self-labels with its clustering optimiser: Adam, lr 1e-4, weight decay 1e-4.
fn default_optimizer() -> OptimizerKind {
    ScanParams::default().optimizer
}

impl Default for SelfLabelParams {
    fn default() -> Self {
        SelfLabelParams {
            threshold: default_threshold(),
            cluster_quota: 0.0,
            class_balanced: true,
            entropy_weight: 0.0,
            guard_entropy_weight: default_guard_entropy_weight(),
            update_encoder: true,
            optimizer: default_optimizer(),
            schedule: ScheduleKind::default(),
            epochs: default_epochs(),
            budget_minutes: None,
            checkpoint_every: one(),
            precision: Precision::F32,
        }
    }
}

impl SelfLabelParams {
    /// Every bad value at once.
    pub fn validate(&self) -> Result<(), Vec<ParamError>> {
        let mut errors = Vec::new();
        if !(0.0..1.0).contains(&self.threshold) {
            let message = format!(
                "must be in [0, 1), found {} (no probability exceeds 1)",
                self.threshold
            );
            errors.push(ParamError::new("threshold", message));
        }
        if !(0.0..=1.0).contains(&self.cluster_quota) {
            let message = format!("must be in [0, 1], found {}", self.cluster_quota);
            errors.push(ParamError::new("cluster_quota", message));
        }
        for (field, weight) in [
            ("entropy_weight", self.entropy_weight),
            ("guard_entropy_weight", self.guard_entropy_weight),
        ] {
            if !(weight.is_finite() && weight >= 0.0) {
                let message = format!("must be finite and ≥ 0, found {weight}");
                errors.push(ParamError::new(field, message));
            }
        }
        training::check_length(self.epochs, self.budget_minutes, &mut errors);
        ParamError::result(errors)
    }
}

/// The documentation `scanflow ops` prints.
pub const DOCS: &[ParamDoc] = &[
    ParamDoc { name: "threshold", ty: "f64", doc: "a sample whose weak view's top probability exceeds this becomes a pseudo-label (SCAN: 0.99)" },
    ParamDoc { name: "cluster_quota", ty: "f64", doc: "each cluster's most confident fraction of the samples it predicts in a batch also become pseudo-labels, so no cluster is left without any (SCAN: 0)" },
    ParamDoc { name: "class_balanced", ty: "bool", doc: "weight each confident sample by n / (labels present · its label's count), as SCAN does" },
    ParamDoc { name: "entropy_weight", ty: "f64", doc: "weight w of −w·H(p̄) over each batch's strong views, which keeps every cluster in use (SCAN: 0)" },
    ParamDoc { name: "guard_entropy_weight", ty: "f64", doc: "with `check` and `neighbours`: weight w of H(p̄) in the objective consistency − w·H(p̄) that picks the received or the self-labelled model (lower wins)" },
    ParamDoc { name: "update_encoder", ty: "bool", doc: "fine-tune the encoder with the selected head (SCAN) or freeze it in evaluation mode" },
    ParamDoc { name: "optimizer", ty: "Sgd(..) | Adam(lr, betas, eps, weight_decay) | AdamW(..)", doc: "the optimiser (SCAN: Adam lr 1e-4, weight decay 1e-4)" },
    ParamDoc { name: "schedule", ty: "Constant | Cosine(warmup_epochs, min_lr_factor) | KerasCosineDecay(alpha, decay_steps)", doc: "the learning-rate schedule, per batch (skipped batches advance it too)" },
    ParamDoc { name: "epochs", ty: "u64", doc: "epochs to train (SCAN: 200); the inputs must carry at least as many" },
    training::BUDGET_DOC,
    training::CHECKPOINT_DOC,
    training::PRECISION_DOC,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_scans_and_bad_values_are_listed() {
        let params = SelfLabelParams::default();
        assert_eq!((params.threshold, params.epochs), (0.99, 200));
        assert_eq!(params.optimizer.base_lr(), 1e-4);
        let bad = SelfLabelParams {
            threshold: 1.0,
            cluster_quota: 1.5,
            entropy_weight: -1.0,
            epochs: 0,
            ..params
        };
        let fields: Vec<String> = bad
            .validate()
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            ["threshold", "cluster_quota", "entropy_weight", "epochs"]
        );
    }
}
