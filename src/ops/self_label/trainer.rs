//! The self-labelling state of one run: the cluster model (selected head, plus the encoder
//! when it is updated), optimiser, schedule position and epoch tallies, with checkpoints
//! shared with `Scan` (`ops::training`). The weak views' probabilities are computed as
//! SCAN does: the model in training mode (batch norms on batch statistics, updating their
//! running averages) but without gradient; with a frozen encoder both views go through it
//! in evaluation mode.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use candle_core::{Device, Tensor};
use serde_json::json;

use super::SelfLabelParams;
use crate::data::ViewBatch;
use crate::model::cluster::softmax_rows;
use crate::model::input::views_to_nhwc;
use crate::model::loss::self_label::{entropy_term, self_label_loss, Selection};
use crate::model::optim::Optimizer;
use crate::model::{ClusterModel, ModelArtifact};
use crate::ops::training::epochs::EpochTrainer;
use crate::ops::training::{self, failed, Progress};
use crate::runtime::OpError;

/// Weakly and strongly augmented views of the same images, in the same order.
#[derive(Clone, Debug)]
pub struct Pair {
    /// One weak view per image: its probabilities give the pseudo-labels.
    pub weak: Arc<ViewBatch>,
    /// One strong view per image: what the cross-entropy trains on.
    pub strong: Arc<ViewBatch>,
}

/// Running sums of one epoch.
#[derive(Clone, Debug, Default)]
pub struct EpochTally {
    /// Batches seen, skipped or not.
    pub steps: u64,
    /// Batches without a confident sample (no optimiser step).
    pub skipped: u64,
    /// Confident samples.
    pub confident: u64,
    /// Images seen.
    pub images: u64,
    /// Sum of the losses of the steps taken.
    pub loss: f64,
    /// Seconds spent in training steps.
    pub seconds: f64,
    /// The learning rate of the last step.
    pub last_lr: f64,
}

/// Model, optimiser and position in the schedule.
pub struct Trainer {
    pub(super) model: ClusterModel,
    optimizer: Box<dyn Optimizer>,
    params: SelfLabelParams,
    device: Device,
    /// Steps (batches) and epochs done, and the time budget.
    pub progress: Progress,
    /// The current epoch's tallies.
    pub tally: EpochTally,
}

impl Trainer {
    /// The cluster model of a `Scan` artifact, its selected head (and encoder) to train.
    pub fn new(
        params: &SelfLabelParams,
        artifact: &ModelArtifact,
        device: Device,
    ) -> Result<Self, OpError> {
        let model = ClusterModel::from_artifact(artifact, &device).map_err(failed)?;
        let trained = model.selected_trainables(params.update_encoder);
        let optimizer = params.optimizer.build(&trained).map_err(failed)?;
        Ok(Trainer {
            model,
            optimizer,
            params: params.clone(),
            device,
            progress: Progress::new(params.epochs, params.budget_minutes),
            tally: EpochTally::default(),
        })
    }

    /// The selected head's logits `(B, C)` for view 0 of `batch`.
    fn logits(&self, batch: &ViewBatch) -> Result<Tensor, OpError> {
        let x = views_to_nhwc(batch, &self.device).map_err(failed)?;
        let features = match self.params.update_encoder {
            true => self.model.features(&x, true),
            false => self.model.frozen_features(&x),
        };
        let logits = features.and_then(|f| self.model.selected_logits(&f));
        logits.map_err(failed)
    }

    /// The loss's value, refused when not finite.
    fn value(&self, loss: &Tensor) -> Result<f64, OpError> {
        let value = loss.to_scalar::<f32>().map_err(failed)?;
        let (epoch, step) = (self.progress.epoch as usize, self.progress.step);
        crate::model::checkpoint::check_finite(value, epoch, step).map_err(failed)?;
        Ok(f64::from(value))
    }

    fn record(&mut self, taken: Option<(f64, usize)>, images: usize, lr: f64, start: Instant) {
        let t = &mut self.tally;
        match taken {
            Some((loss, confident)) => {
                t.loss += loss;
                t.confident += confident as u64;
            }
            None => t.skipped += 1,
        }
        t.steps += 1;
        t.images += images as u64;
        t.last_lr = lr;
        t.seconds += start.elapsed().as_secs_f64();
    }

    /// Restores the newest checkpoint in `folder` written under the same `key`.
    pub fn resume(&mut self, folder: &Path, key: &str) -> Result<Option<PathBuf>, OpError> {
        let params = self.model.params();
        let optimizer = self.optimizer.as_mut();
        let resumed = training::resume(folder, key, &mut self.progress, params, optimizer)?;
        Ok(resumed.map(|(path, _)| path))
    }
}

impl EpochTrainer for Trainer {
    type Batch = Pair;

    fn pace(pair: &Pair) -> &ViewBatch {
        &pair.strong
    }

    fn progress(&self) -> &Progress {
        &self.progress
    }

    fn epoch_open(&self) -> bool {
        self.tally.steps > 0
    }

    /// One step: pseudo-labels from the weak views, cross-entropy on the strong ones; a
    /// batch without a confident sample is skipped (the schedule still advances).
    fn train_step(&mut self, pair: &Pair) -> Result<(), OpError> {
        let start = Instant::now();
        let batch = pair.strong.batch;
        self.progress
            .learn_epoch_size(pair.strong.epoch_size, batch);
        let weak = softmax_rows(&self.logits(&pair.weak)?.detach()).map_err(failed)?;
        let strong = self.logits(&pair.strong)?;
        let select = Selection {
            threshold: self.params.threshold,
            quota: self.params.cluster_quota,
        };
        let balanced = self.params.class_balanced;
        let loss = self_label_loss(&weak, &strong, select, balanced).map_err(failed)?;
        let lr = self
            .progress
            .learning_rate(&self.params.schedule, self.params.optimizer.base_lr());
        let taken = match loss {
            Some(mut loss) => {
                if self.params.entropy_weight > 0.0 {
                    let term = entropy_term(&strong, self.params.entropy_weight);
                    loss.loss = term.and_then(|t| loss.loss + t).map_err(failed)?;
                }
                let value = self.value(&loss.loss)?;
                let grads = loss.loss.backward().map_err(failed)?;
                self.optimizer.step(&grads, lr).map_err(failed)?;
                Some((value, loss.confident))
            }
            None => None,
        };
        self.progress.step += 1;
        self.record(taken, batch, lr, start);
        Ok(())
    }

    /// Returns the epoch's summary and resets the tallies.
    fn finish_epoch(&mut self) -> serde_json::Value {
        let t = std::mem::take(&mut self.tally);
        let taken = t.steps - t.skipped;
        let loss = (taken > 0).then(|| t.loss / taken as f64);
        let summary = json!({
            "epoch": self.progress.epoch,
            "steps": t.steps,
            "skipped_steps": t.skipped,
            "confident": t.confident,
            "confident_fraction": t.confident as f64 / t.images.max(1) as f64,
            "loss": loss,
            "lr": t.last_lr,
            "images_per_s": t.images as f64 / t.seconds.max(1e-9),
            "seconds": t.seconds,
        });
        self.progress.epoch += 1;
        summary
    }

    fn save_checkpoint(&self, folder: &Path, key: &str) -> Result<PathBuf, OpError> {
        let state = (self.model.params(), self.optimizer.as_ref());
        let fields = serde_json::Map::new();
        training::save_checkpoint(folder, key, &self.progress, state, 0, fields)
    }
}
