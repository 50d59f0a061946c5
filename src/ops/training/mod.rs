//! What the training operators (`SimClr`, `Scan`, `SelfLabel`) share: the position in the
//! schedule with its time budget and learning rate, checkpoints of a [`Params`] store plus
//! optimiser that a re-run with the same cache key resumes from, and (in [`epochs`]) the
//! epoch loop of the cluster trainers.

pub mod epochs;
pub mod history;
mod time_left;

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::json;

use crate::model::checkpoint::{latest_in, Checkpoint};
use crate::model::optim::Optimizer;
use crate::model::params::Params;
use crate::model::schedule::ScheduleKind;
use crate::model::{ClusterModel, ModelArtifact};
use crate::ops::{ParamDoc, ParamError};
use crate::runtime::OpError;

/// Checkpoints kept in the run folder (the newest is resumed).
const KEEP_CHECKPOINTS: usize = 2;
/// The `schedule` row of a training operator's [`ParamDoc`]s.
pub const SCHEDULE_DOC: ParamDoc = ParamDoc {
    name: "schedule",
    ty: "Constant | Cosine(warmup_epochs, min_lr_factor) | KerasCosineDecay(alpha, decay_steps)",
    doc: "the learning-rate schedule, per step",
};

/// The `epochs` row of a training operator's [`ParamDoc`]s.
pub const EPOCHS_DOC: ParamDoc = ParamDoc {
    name: "epochs",
    ty: "u64",
    doc: "epochs to train; the input must carry at least as many",
};

/// The `budget_minutes` row of a training operator's [`ParamDoc`]s.
pub const BUDGET_DOC: ParamDoc = ParamDoc {
    name: "budget_minutes",
    ty: "Option<f64>",
    doc: "stop after this much training time; the schedule then spans the budget",
};

/// The `checkpoint_every` row of a training operator's [`ParamDoc`]s.
pub const CHECKPOINT_DOC: ParamDoc = ParamDoc {
    name: "checkpoint_every",
    ty: "u64",
    doc: "epochs between checkpoints (a re-run resumes from the newest)",
};

/// The `precision` row of an encoder-training operator's [`ParamDoc`]s.
pub const PRECISION_DOC: ParamDoc = ParamDoc {
    name: "precision",
    ty: "F32 | Bf16",
    doc: "the convolutions' matrix products on the CPU: f32, or bf16 operands summed in f32 on AMX tiles (f32 where the CPU has no AMX)",
};

/// Checkpoint metadata field holding the node's cache key.
const KEY_FIELD: &str = "cache_key";
/// Checkpoint metadata field holding the steps per epoch.
const STEPS_FIELD: &str = "steps_per_epoch";
/// Checkpoint metadata field holding the seconds trained so far (what the budget counts).
const ELAPSED_FIELD: &str = "trained_seconds";

/// Where a run stands: steps and epochs done, and since when it trains.
#[derive(Clone, Debug)]
pub struct Progress {
    /// Optimiser steps completed.
    pub step: u64,
    /// Epochs completed (the next epoch to train).
    pub epoch: u64,
    /// Steps per epoch, known from the batches' epoch size (0 until then).
    pub steps_per_epoch: u64,
    /// Epochs the run is configured for.
    pub epochs: u64,
    /// The time budget, if any.
    pub budget_minutes: Option<f64>,
    /// When this process started (or resumed) training.
    started: Instant,
    /// Seconds trained by the processes this run resumed from: a resumed run spends only
    /// what is left of its budget.
    trained_before: f64,
    /// The step this process started (or resumed) at: the rate for [`Progress::time_left`]
    /// counts only the steps trained since.
    first_step: u64,
}

impl Progress {
    /// A run of `epochs` epochs (and at most `budget_minutes`) starting now.
    pub fn new(epochs: u64, budget_minutes: Option<f64>) -> Self {
        Progress {
            step: 0,
            epoch: 0,
            steps_per_epoch: 0,
            epochs,
            budget_minutes,
            started: Instant::now(),
            trained_before: 0.0,
            first_step: 0,
        }
    }

    /// Seconds trained so far, by this process and those it resumed from.
    pub fn trained_seconds(&self) -> f64 {
        self.trained_before + self.started.elapsed().as_secs_f64()
    }

    /// Learns the steps per epoch from the first batch that tells the epoch size.
    pub fn learn_epoch_size(&mut self, epoch_size: u64, batch: usize) {
        if self.steps_per_epoch == 0 && epoch_size > 0 {
            self.steps_per_epoch = epoch_size.div_ceil(batch.max(1) as u64);
        }
    }

    /// The schedule's rate for the next step. With a time budget, progress is the larger of
    /// the step fraction and the elapsed fraction of the budget, so the decay completes
    /// within the budget.
    pub fn learning_rate(&self, schedule: &ScheduleKind, base: f64) -> f64 {
        let per_epoch = self.steps_per_epoch.max(1);
        let total = (self.epochs * per_epoch).max(1);
        let mut step = self.step;
        if let Some(minutes) = self.budget_minutes {
            let elapsed = self.trained_seconds() / (minutes * 60.0);
            step = step.max((elapsed.min(1.0) * total as f64) as u64);
        }
        schedule.lr_at(base, step.min(total - 1), total, per_epoch)
    }

    /// True once the time budget, if any, is spent.
    pub fn budget_spent(&self) -> bool {
        self.budget_minutes
            .is_some_and(|m| self.trained_seconds() >= m * 60.0)
    }
}

/// A checkpoint of `params` and `optimizer` after `progress`, tagged with the node's cache
/// `key`, with `rng_state` and extra metadata `fields`, written into `folder`.
pub fn save_checkpoint(
    folder: &Path,
    key: &str,
    progress: &Progress,
    (params, optimizer): (&Params, &dyn Optimizer),
    rng_state: u64,
    fields: serde_json::Map<String, serde_json::Value>,
) -> Result<PathBuf, OpError> {
    let mut checkpoint = Checkpoint::new(progress.epoch as usize, progress.step, rng_state);
    checkpoint
        .insert_vars("model.", params.trainables())
        .map_err(failed)?;
    checkpoint
        .insert_vars("buffer.", params.buffers())
        .map_err(failed)?;
    let state = optimizer.state().map_err(failed)?;
    checkpoint
        .insert_tensors("optim.", &state)
        .map_err(failed)?;
    let meta = &mut checkpoint.meta.fields;
    meta.extend(fields);
    meta.insert(KEY_FIELD.into(), json!(key));
    meta.insert(STEPS_FIELD.into(), json!(progress.steps_per_epoch));
    meta.insert(ELAPSED_FIELD.into(), json!(progress.trained_seconds()));
    std::fs::create_dir_all(folder).map_err(|e| OpError::io(folder, e))?;
    checkpoint.save_in(folder, KEEP_CHECKPOINTS).map_err(failed)
}

/// Restores `params`, `optimizer` and `progress` from the newest checkpoint in `folder`
/// written under the same `key`; returns it (for its path, RNG state and fields), or `None`
/// when there is none to resume.
pub fn resume(
    folder: &Path,
    key: &str,
    progress: &mut Progress,
    params: &Params,
    optimizer: &mut dyn Optimizer,
) -> Result<Option<(PathBuf, Checkpoint)>, OpError> {
    let Some(path) = latest_in(folder) else {
        return Ok(None);
    };
    let checkpoint = Checkpoint::load(&path).map_err(failed)?;
    if checkpoint.meta.fields.get(KEY_FIELD) != Some(&json!(key)) {
        return Ok(None);
    }
    checkpoint
        .restore_vars("model.", params.trainables())
        .map_err(failed)?;
    checkpoint
        .restore_vars("buffer.", params.buffers())
        .map_err(failed)?;
    let state = checkpoint.tensors_with_prefix("optim.");
    optimizer.load_state(&state).map_err(failed)?;
    progress.epoch = checkpoint.meta.epoch as u64;
    progress.step = checkpoint.meta.step;
    progress.first_step = checkpoint.meta.step;
    progress.steps_per_epoch = checkpoint.meta.fields[STEPS_FIELD].as_u64().unwrap_or(0);
    progress.trained_before = checkpoint.meta.fields[ELAPSED_FIELD]
        .as_f64()
        .unwrap_or(0.0);
    progress.started = Instant::now();
    Ok(Some((path, checkpoint)))
}

/// Saves `model` as `model.safetensors` in `dir` and describes it as an artifact of the
/// operator `producer` (what `Encode(output: Clusters)` and `scanflow predict` read).
pub fn save_cluster_model(
    model: &ClusterModel,
    dir: &Path,
    producer: &str,
) -> Result<ModelArtifact, OpError> {
    let weights = dir.join("model.safetensors");
    model.save(&weights).map_err(failed)?;
    let architecture = serde_json::to_value(model.architecture()).map_err(failed)?;
    Ok(ModelArtifact {
        weights,
        architecture,
        producer: producer.into(),
    })
}

/// Any error of the model side, as an operator failure with its message.
pub fn failed(error: impl std::fmt::Display) -> OpError {
    OpError::Failed(error.to_string())
}

/// Checks the length of a training run as every training operator writes it: `epochs` at
/// least 1 and `budget_minutes`, when given, a positive number; adds each bad value to
/// `errors`.
pub fn check_length(epochs: u64, budget_minutes: Option<f64>, errors: &mut Vec<ParamError>) {
    if epochs == 0 {
        errors.push(ParamError::new("epochs", "must be at least 1"));
    }
    if budget_minutes.is_some_and(|m| !(m > 0.0 && m.is_finite())) {
        let message = "must be a positive number of minutes";
        errors.push(ParamError::new("budget_minutes", message));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resumed_run_carries_the_training_time_already_spent() {
        let dir = tempfile::tempdir().unwrap();
        let params = Params::new(0, &candle_core::Device::Cpu);
        let kind = crate::ops::ScanParams::default().optimizer;
        let mut optimizer = kind.build(params.trainables()).unwrap();
        let mut first = Progress::new(10, Some(1.0));
        (first.trained_before, first.epoch, first.step) = (40.0, 1, 5);
        let state = (&params, optimizer.as_ref());
        save_checkpoint(dir.path(), "key", &first, state, 0, Default::default()).unwrap();
        let mut second = Progress::new(10, Some(1.0));
        resume(dir.path(), "key", &mut second, &params, optimizer.as_mut())
            .unwrap()
            .unwrap();
        let spent = second.trained_seconds();
        assert!((40.0..45.0).contains(&spent), "{spent}");
        assert_eq!((second.epoch, second.step), (1, 5));
    }
}
