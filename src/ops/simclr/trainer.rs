//! The SimCLR training state of one run: model, optimiser, schedule position and the
//! per-epoch tallies, with checkpoint save and resume (shared with `Scan` through
//! `ops::training`). The operator in `mod.rs` feeds it view batches; this file knows nothing
//! about channels.

use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::Device;
use serde_json::json;

use super::SimClrParams;
use crate::data::ViewBatch;
use crate::model::input::views_to_nhwc;
use crate::model::network::ContrastiveModel;
use crate::model::optim::Optimizer;
pub(super) use crate::ops::training::failed;
use crate::ops::training::{self, Progress};
use crate::runtime::OpError;

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
    /// Steps and epochs done, and the time budget.
    pub progress: Progress,
    /// The current epoch's tallies.
    pub tally: EpochTally,
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
            progress: Progress::new(params.epochs, params.budget_minutes),
            tally: EpochTally::default(),
        })
    }

    /// One optimisation step on a batch of views; returns the loss.
    pub fn train_step(&mut self, batch: &ViewBatch) -> Result<f32, OpError> {
        let start = Instant::now();
        self.progress
            .learn_epoch_size(batch.epoch_size, batch.batch);
        let x = views_to_nhwc(batch, &self.device).map_err(failed)?;
        let z = self.model.forward(&x, true).map_err(failed)?;
        let loss = self
            .params
            .loss
            .compute(&z, batch.views, self.params.temperature)
            .map_err(failed)?;
        let mut value = loss.to_scalar::<f32>().map_err(failed)?;
        if crate::fault::fires(crate::fault::LOSS_NAN) {
            value = f32::NAN;
        }
        let (epoch, step) = (self.progress.epoch as usize, self.progress.step);
        crate::model::checkpoint::check_finite(value, epoch, step).map_err(failed)?;
        let grads = loss.backward().map_err(failed)?;
        let lr = self.learning_rate();
        self.optimizer.step(&grads, lr).map_err(failed)?;
        self.progress.step += 1;
        self.tally.loss_sum += f64::from(value);
        self.tally.steps += 1;
        self.tally.images += batch.batch as u64;
        self.tally.last_lr = lr;
        self.tally.seconds += start.elapsed().as_secs_f64();
        Ok(value)
    }

    /// The schedule's rate for the next step (see [`Progress::learning_rate`]).
    pub fn learning_rate(&self) -> f64 {
        let base = self.params.optimizer.base_lr();
        self.progress.learning_rate(&self.params.schedule, base)
    }

    /// Closes the current epoch: returns its summary and resets the tallies.
    pub fn finish_epoch(&mut self) -> serde_json::Value {
        let t = std::mem::take(&mut self.tally);
        let summary = json!({
            "epoch": self.progress.epoch,
            "steps": t.steps,
            "loss": t.loss_sum / t.steps.max(1) as f64,
            "lr": t.last_lr,
            "images_per_s": t.images as f64 / t.seconds.max(1e-9),
            "seconds": t.seconds,
        });
        self.progress.epoch += 1;
        summary
    }

    /// Writes a checkpoint after the completed epochs into `folder`, tagged with `key`.
    pub fn save_checkpoint(&self, folder: &Path, key: &str) -> Result<PathBuf, OpError> {
        let state = (self.model.params(), self.optimizer.as_ref());
        let rng = self.model.train_steps();
        training::save_checkpoint(folder, key, &self.progress, state, rng, Default::default())
    }

    /// Restores the newest checkpoint in `folder` written under the same `key`; returns its
    /// path, or `None` when there is none to resume.
    pub fn resume(&mut self, folder: &Path, key: &str) -> Result<Option<PathBuf>, OpError> {
        let params = self.model.params();
        let optimizer = self.optimizer.as_mut();
        let resumed = training::resume(folder, key, &mut self.progress, params, optimizer)?;
        let Some((path, checkpoint)) = resumed else {
            return Ok(None);
        };
        self.model.set_train_steps(checkpoint.meta.rng_state);
        Ok(Some(path))
    }
}
