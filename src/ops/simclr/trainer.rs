//! The SimCLR training state of one run: model, optimiser, schedule position and the
//! per-epoch tallies, with checkpoint save and resume. The operator in `mod.rs` feeds it
//! view batches; this file knows nothing about channels.

use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::Device;
use serde_json::json;

use super::SimClrParams;
use crate::data::ViewBatch;
use crate::model::checkpoint::{latest_in, Checkpoint};
use crate::model::input::views_to_nhwc;
use crate::model::network::ContrastiveModel;
use crate::model::optim::Optimizer;
use crate::runtime::OpError;

/// Checkpoints kept in the run folder (the newest is resumed).
const KEEP_CHECKPOINTS: usize = 2;
/// Checkpoint metadata field holding the node's cache key.
const KEY_FIELD: &str = "cache_key";

/// Running sums of one epoch.
#[derive(Clone, Debug, Default)]
pub struct EpochTally {
    /// Sum of the step losses.
    pub loss_sum: f64,
    /// Steps taken.
    pub steps: u64,
    /// Source images seen.
    pub images: u64,
    /// Seconds spent in training steps.
    pub seconds: f64,
    /// The learning rate of the last step.
    pub last_lr: f64,
}

/// Model, optimiser and position in the schedule.
pub struct Trainer {
    pub(super) model: ContrastiveModel,
    optimizer: Box<dyn Optimizer>,
    params: SimClrParams,
    device: Device,
    /// Optimiser steps completed.
    pub step: u64,
    /// Epochs completed (the next epoch to train).
    pub epoch: u64,
    /// Steps per epoch, known from the batches' epoch size.
    pub steps_per_epoch: u64,
    /// The current epoch's tallies.
    pub tally: EpochTally,
    started: Instant,
}

impl Trainer {
    /// A fresh model and optimiser on `device`, seeded with `seed`.
    pub fn new(params: &SimClrParams, seed: u64, device: Device) -> Result<Self, OpError> {
        let model =
            ContrastiveModel::new(&params.encoder, &params.head, seed, &device).map_err(failed)?;
        if let Some(init) = &params.init {
            model.load_encoder(Path::new(init)).map_err(failed)?;
        }
        let optimizer = params
            .optimizer
            .build(model.params().trainables())
            .map_err(failed)?;
        Ok(Trainer {
            model,
            optimizer,
            params: params.clone(),
            device,
            step: 0,
            epoch: 0,
            steps_per_epoch: 0,
            tally: EpochTally::default(),
            started: Instant::now(),
        })
    }

    /// One optimisation step on a batch of views; returns the loss.
    pub fn train_step(&mut self, batch: &ViewBatch) -> Result<f32, OpError> {
        let start = Instant::now();
        self.learn_epoch_size(batch);
        let x = views_to_nhwc(batch, &self.device).map_err(failed)?;
        let z = self.model.forward(&x, true).map_err(failed)?;
        let loss = self
            .params
            .loss
            .compute(&z, batch.views, self.params.temperature)
            .map_err(failed)?;
        let value = loss.to_scalar::<f32>().map_err(failed)?;
        crate::model::checkpoint::check_finite(value, self.epoch as usize, self.step)
            .map_err(failed)?;
        let grads = loss.backward().map_err(failed)?;
        let lr = self.learning_rate();
        self.optimizer.step(&grads, lr).map_err(failed)?;
        self.step += 1;
        self.tally.loss_sum += f64::from(value);
        self.tally.steps += 1;
        self.tally.images += batch.batch as u64;
        self.tally.last_lr = lr;
        self.tally.seconds += start.elapsed().as_secs_f64();
        Ok(value)
    }

    fn learn_epoch_size(&mut self, batch: &ViewBatch) {
        if self.steps_per_epoch == 0 && batch.epoch_size > 0 {
            self.steps_per_epoch = batch.epoch_size.div_ceil(batch.batch.max(1) as u64);
        }
    }

    /// The schedule's rate for the next step. With a time budget, progress is the larger of
    /// the step fraction and the elapsed fraction of the budget, so the decay completes
    /// within the budget.
    pub fn learning_rate(&self) -> f64 {
        let base = self.params.optimizer.base_lr();
        let per_epoch = self.steps_per_epoch.max(1);
        let total = (self.params.epochs * per_epoch).max(1);
        let mut step = self.step;
        if let Some(minutes) = self.params.budget_minutes {
            let elapsed = self.started.elapsed().as_secs_f64() / (minutes * 60.0);
            step = step.max((elapsed.min(1.0) * total as f64) as u64);
        }
        self.params
            .schedule
            .lr_at(base, step.min(total - 1), total, per_epoch)
    }

    /// True once the time budget, if any, is spent.
    pub fn budget_spent(&self) -> bool {
        self.params
            .budget_minutes
            .is_some_and(|m| self.started.elapsed().as_secs_f64() >= m * 60.0)
    }

    /// Closes the current epoch: returns its summary and resets the tallies.
    pub fn finish_epoch(&mut self) -> serde_json::Value {
        let t = std::mem::take(&mut self.tally);
        let summary = json!({
            "epoch": self.epoch,
            "steps": t.steps,
            "loss": t.loss_sum / t.steps.max(1) as f64,
            "lr": t.last_lr,
            "images_per_s": t.images as f64 / t.seconds.max(1e-9),
            "seconds": t.seconds,
        });
        self.epoch += 1;
        summary
    }

    /// Writes a checkpoint after the completed epochs into `folder`, tagged with `key`.
    pub fn save_checkpoint(&self, folder: &Path, key: &str) -> Result<PathBuf, OpError> {
        let mut checkpoint =
            Checkpoint::new(self.epoch as usize, self.step, self.model.train_steps());
        let params = self.model.params();
        checkpoint
            .insert_vars("model.", params.trainables())
            .map_err(failed)?;
        checkpoint
            .insert_vars("buffer.", params.buffers())
            .map_err(failed)?;
        checkpoint
            .insert_tensors("optim.", &self.optimizer.state().map_err(failed)?)
            .map_err(failed)?;
        checkpoint.meta.fields.insert(KEY_FIELD.into(), json!(key));
        checkpoint
            .meta
            .fields
            .insert("steps_per_epoch".into(), json!(self.steps_per_epoch));
        std::fs::create_dir_all(folder)
            .map_err(|e| OpError::Failed(format!("{}: {e}", folder.display())))?;
        checkpoint.save_in(folder, KEEP_CHECKPOINTS).map_err(failed)
    }

    /// Restores the newest checkpoint in `folder` written under the same `key`; returns its
    /// path, or `None` when there is none to resume.
    pub fn resume(&mut self, folder: &Path, key: &str) -> Result<Option<PathBuf>, OpError> {
        let Some(path) = latest_in(folder) else {
            return Ok(None);
        };
        let checkpoint = Checkpoint::load(&path).map_err(failed)?;
        if checkpoint.meta.fields.get(KEY_FIELD) != Some(&json!(key)) {
            return Ok(None);
        }
        let params = self.model.params();
        checkpoint
            .restore_vars("model.", params.trainables())
            .map_err(failed)?;
        checkpoint
            .restore_vars("buffer.", params.buffers())
            .map_err(failed)?;
        self.optimizer
            .load_state(&checkpoint.tensors_with_prefix("optim."))
            .map_err(failed)?;
        self.model.set_train_steps(checkpoint.meta.rng_state);
        self.epoch = checkpoint.meta.epoch as u64;
        self.step = checkpoint.meta.step;
        self.steps_per_epoch = checkpoint.meta.fields["steps_per_epoch"]
            .as_u64()
            .unwrap_or(0);
        Ok(Some(path))
    }
}

/// Any error of the model side, as an operator failure with its message.
pub(super) fn failed(error: impl std::fmt::Display) -> OpError {
    OpError::Failed(error.to_string())
}
