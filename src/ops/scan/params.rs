//! The parameters of `Scan` as written in RON, their documentation and validation.

use serde::{Deserialize, Serialize};

use crate::linalg::Precision;
use crate::model::loss::scan::ScanLossKind;
use crate::model::optim::OptimizerKind;
use crate::model::schedule::ScheduleKind;
use crate::ops::{training, ParamDoc, ParamError};

/// Parameters of the `Scan` operator.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanParams {
    /// Clusters per head, `C` (over-clustering: more than the classes).
    pub clusters: usize,
    /// Heads trained at once; the one with the lowest training loss is selected.
    #[serde(default = "one")]
    pub heads: usize,
    /// Weight `w` of the entropy term (the `Keras` loss ignores it, as the example does).
    #[serde(default = "default_entropy_weight")]
    pub entropy_weight: f64,
    /// Fine-tune the encoder (SCAN) or freeze it and train the heads alone (Keras example).
    #[serde(default = "yes")]
    pub update_encoder: bool,
    /// The clustering loss.
    #[serde(default)]
    pub loss: ScanLossKind,
    /// The optimiser.
    #[serde(default = "default_optimizer")]
    pub optimizer: OptimizerKind,
    /// Hidden units per head (`Linear(D, K) → ReLU → Linear(K, C)`); none: linear heads.
    #[serde(default)]
    pub hidden: Option<usize>,
    /// Predict by every head (clusters matched, probabilities averaged) instead of the
    /// lowest-loss head; heads on `features` only.
    #[serde(default)]
    pub consensus: bool,
    /// The learning-rate schedule.
    #[serde(default)]
    pub schedule: ScheduleKind,
    /// Epochs to train (the input must carry at least this many).
    #[serde(default = "default_epochs")]
    pub epochs: u64,
    /// Stop after this many minutes of training (the schedule then spans the budget).
    #[serde(default)]
    pub budget_minutes: Option<f64>,
    /// Write a checkpoint every this many epochs (0: only at the end).
    #[serde(default = "one_u64")]
    pub checkpoint_every: u64,
    /// The precision of the convolutions' matrix products on the CPU (left out of the cache
    /// key when f32).
    #[serde(default, skip_serializing_if = "Precision::is_f32")]
    pub precision: Precision,
}

fn one() -> usize {
    1
}
fn one_u64() -> u64 {
    1
}
fn yes() -> bool {
    true
}
fn default_entropy_weight() -> f64 {
    5.0
}
fn default_epochs() -> u64 {
    50
}
/// SCAN's CIFAR-10 clustering optimiser: Adam, lr 1e-4, weight decay 1e-4.
fn default_optimizer() -> OptimizerKind {
    OptimizerKind::Adam {
        lr: 1e-4,
        betas: (0.9, 0.999),
        eps: 1e-8,
        weight_decay: 1e-4,
        decay_bn_and_bias: false,
    }
}

impl Default for ScanParams {
    fn default() -> Self {
        ScanParams {
            clusters: 10,
            heads: one(),
            entropy_weight: default_entropy_weight(),
            update_encoder: true,
            loss: ScanLossKind::default(),
            optimizer: default_optimizer(),
            hidden: None,
            consensus: false,
            schedule: ScheduleKind::default(),
            epochs: default_epochs(),
            budget_minutes: None,
            checkpoint_every: one_u64(),
            precision: Precision::F32,
        }
    }
}

impl ScanParams {
    /// The heads the cluster model is built with.
    pub fn head_spec(&self) -> crate::model::HeadSpec {
        crate::model::HeadSpec {
            clusters: self.clusters,
            heads: self.heads,
            hidden: self.hidden,
        }
    }

    /// Every bad value at once.
    pub fn validate(&self) -> Result<(), Vec<ParamError>> {
        let mut errors = Vec::new();
        check_heads(self.clusters, self.heads, self.entropy_weight, &mut errors);
        if self.hidden == Some(0) {
            errors.push(ParamError::new("hidden", "must be at least 1"));
        }
        training::check_length(self.epochs, self.budget_minutes, &mut errors);
        ParamError::result(errors)
    }
}

/// Adds to `errors` what is wrong with a cluster-head shape and SCAN's entropy weight
/// (shared with `ScanFeatures`).
pub(crate) fn check_heads(
    clusters: usize,
    heads: usize,
    entropy_weight: f64,
    errors: &mut Vec<ParamError>,
) {
    if clusters < 2 {
        let message =
            format!("must be at least 2, found {clusters} (one cluster is no clustering)");
        errors.push(ParamError::new("clusters", message));
    }
    if heads == 0 {
        errors.push(ParamError::new("heads", "must be at least 1"));
    }
    if !(entropy_weight >= 0.0 && entropy_weight.is_finite()) {
        errors.push(ParamError::new("entropy_weight", "must be a number ≥ 0"));
    }
}

/// The documentation `scanflow ops` prints.
pub const DOCS: &[ParamDoc] = &[
    ParamDoc { name: "clusters", ty: "usize", doc: "clusters per head, at least 2 (more than the classes over-clusters)" },
    ParamDoc { name: "heads", ty: "usize", doc: "heads trained at once; the lowest training loss is selected (SCAN: 1 for CIFAR, 10 for ImageNet)" },
    ParamDoc { name: "entropy_weight", ty: "f64", doc: "weight of the entropy of the mean prediction (the Keras loss ignores it, as the example does)" },
    ParamDoc { name: "update_encoder", ty: "bool", doc: "fine-tune the encoder (SCAN) or freeze it in evaluation mode and train the heads alone (Keras)" },
    ParamDoc { name: "loss", ty: "Scan | Keras", doc: "SCAN's −log⟨p_a, p_n⟩ − w·H, or the Keras example's as written" },
    ParamDoc { name: "optimizer", ty: "Sgd(..) | Adam(lr, betas, eps, weight_decay) | AdamW(..)", doc: "the optimiser (SCAN: Adam lr 1e-4, weight decay 1e-4; Keras: AdamW lr 5e-4)" },
    crate::ops::scan_features::HIDDEN_DOC,
    crate::ops::scan_features::CONSENSUS_DOC,
    training::SCHEDULE_DOC,
    training::EPOCHS_DOC,
    training::BUDGET_DOC,
    training::CHECKPOINT_DOC,
    training::PRECISION_DOC,
];
