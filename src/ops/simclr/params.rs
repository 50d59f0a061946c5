//! The parameters of `SimClr` as written in RON, their documentation and validation.

use serde::{Deserialize, Serialize};

use crate::linalg::Precision;
use crate::model::encoder::EncoderKind;
use crate::model::head::HeadKind;
use crate::model::loss::LossKind;
use crate::model::optim::OptimizerKind;
use crate::model::schedule::ScheduleKind;
use crate::ops::{training, ParamDoc, ParamError};

/// Parameters of the `SimClr` operator.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimClrParams {
    /// The encoder to train.
    #[serde(default)]
    pub encoder: EncoderKind,
    /// The projection head.
    #[serde(default)]
    pub head: HeadKind,
    /// The contrastive loss.
    #[serde(default)]
    pub loss: LossKind,
    /// Softmax temperature of the loss.
    #[serde(default = "default_temperature")]
    pub temperature: f64,
    /// The optimiser.
    #[serde(default = "default_optimizer")]
    pub optimizer: OptimizerKind,
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
    #[serde(default = "one")]
    pub checkpoint_every: u64,
    /// Report the kNN monitor accuracy every this many epochs (0: only at the end).
    #[serde(default = "one")]
    pub monitor_every: u64,
    /// Neighbours voting in the kNN monitor.
    #[serde(default = "default_monitor_k")]
    pub monitor_k: usize,
    /// A safetensors file to initialise the encoder from (see the model format docs).
    #[serde(default)]
    pub init: Option<String>,
    /// The precision of the convolutions' matrix products on the CPU (left out of the cache
    /// key when f32, so graphs written before it keep their cached results).
    #[serde(default, skip_serializing_if = "Precision::is_f32")]
    pub precision: Precision,
}

fn default_temperature() -> f64 {
    0.1
}
/// Adam at 1e-3 with decoupled weight decay: what trained the small CPU encoders (SCAN's
/// SGD at 0.4 collapsed them, see the reference notes).
fn default_optimizer() -> OptimizerKind {
    OptimizerKind::AdamW {
        lr: 1e-3,
        betas: (0.9, 0.999),
        eps: 1e-8,
        weight_decay: 1e-4,
        decay_bn_and_bias: false,
    }
}
fn default_epochs() -> u64 {
    1
}
fn one() -> u64 {
    1
}
fn default_monitor_k() -> usize {
    20
}

impl Default for SimClrParams {
    fn default() -> Self {
        SimClrParams {
            encoder: EncoderKind::default(),
            head: HeadKind::default(),
            loss: LossKind::default(),
            temperature: default_temperature(),
            optimizer: default_optimizer(),
            schedule: ScheduleKind::default(),
            epochs: default_epochs(),
            budget_minutes: None,
            checkpoint_every: one(),
            monitor_every: one(),
            monitor_k: default_monitor_k(),
            init: None,
            precision: Precision::F32,
        }
    }
}

impl SimClrParams {
    /// Every bad value at once.
    pub fn validate(&self) -> Result<(), Vec<ParamError>> {
        let mut errors = Vec::new();
        if !(self.temperature > 0.0 && self.temperature.is_finite()) {
            errors.push(ParamError::new("temperature", "must be a positive number"));
        }
        training::check_length(self.epochs, self.budget_minutes, &mut errors);
        if self.monitor_k == 0 {
            errors.push(ParamError::new("monitor_k", "must be at least 1"));
        }
        ParamError::result(errors)
    }
}

/// The documentation `scanflow ops` prints.
pub const DOCS: &[ParamDoc] = &[
    ParamDoc { name: "encoder", ty: "SmallCnn(widths, convs_per_block) | ResNet18Cifar | ResNet50V2(dense)", doc: "the encoder to train" },
    ParamDoc { name: "head", ty: "Mlp(hidden, out, batch_norm) | Keras(out)", doc: "the projection head" },
    ParamDoc { name: "loss", ty: "NtXent | Keras(l2_normalize)", doc: "the contrastive loss" },
    ParamDoc { name: "temperature", ty: "f64", doc: "softmax temperature of the loss" },
    ParamDoc { name: "optimizer", ty: "Sgd(lr, momentum, nesterov, weight_decay) | Adam(..) | AdamW(lr, betas, eps, weight_decay)", doc: "the optimiser; biases and batch-norm parameters get no weight decay unless decay_bn_and_bias" },
    training::SCHEDULE_DOC,
    training::EPOCHS_DOC,
    training::BUDGET_DOC,
    training::CHECKPOINT_DOC,
    ParamDoc { name: "monitor_every", ty: "u64", doc: "epochs between kNN monitor reports (needs the `monitor` input)" },
    ParamDoc { name: "monitor_k", ty: "usize", doc: "neighbours voting in the kNN monitor" },
    ParamDoc { name: "init", ty: "Option<path>", doc: "safetensors file to initialise the encoder from" },
    training::PRECISION_DOC,
];
