//! The SCAN clustering state of one run: cluster model, optimiser, schedule position and
//! per-head epoch tallies, with checkpoints shared with `SimClr` (`ops::training`). The
//! operator in `mod.rs` feeds it view batches (view 0 anchors, views 1.. neighbours).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use candle_core::{Device, Tensor};
use serde_json::json;

use super::ScanParams;
use crate::data::ViewBatch;
use crate::model::input::views_to_nhwc;
use crate::model::optim::Optimizer;
use crate::model::{ClusterModel, ModelArtifact};
use crate::ops::training::epochs::EpochTrainer;
use crate::ops::training::{self, failed, Progress};
use crate::runtime::OpError;

/// Checkpoint field holding the last finished epoch's mean total loss per head.
const LAST_TOTALS: &str = "last_totals";

/// Running sums of one head's losses over an epoch.
#[derive(Clone, Copy, Debug, Default)]
pub struct HeadTally {
    /// Sum of the consistency terms.
    pub consistency: f64,
    /// Sum of the entropies `H(p̄)`.
    pub entropy: f64,
    /// Sum of the totals.
    pub total: f64,
}

/// Running sums of one epoch.
#[derive(Clone, Debug, Default)]
pub struct EpochTally {
    /// One per head.
    pub heads: Vec<HeadTally>,
    /// Steps taken.
    pub steps: u64,
    /// Anchor images seen.
    pub images: u64,
    /// Seconds spent in training steps.
    pub seconds: f64,
    /// The learning rate of the last step.
    pub last_lr: f64,
}

/// Model, optimiser and position in the schedule.
pub struct Trainer {
    pub(super) model: ClusterModel,
    optimizer: Box<dyn Optimizer>,
    params: ScanParams,
    device: Device,
    /// Steps and epochs done, and the time budget.
    pub progress: Progress,
    /// The current epoch's tallies.
    pub tally: EpochTally,
    /// The last finished epoch's mean total loss per head (what selects the head).
    pub last_totals: Vec<f64>,
}

impl Trainer {
    /// New heads on the encoder of `pretext`, for views of `input_size` (H, W).
    pub fn new(
        params: &ScanParams,
        pretext: &ModelArtifact,
        input_size: (usize, usize),
        seed: u64,
        device: Device,
    ) -> Result<Self, OpError> {
        let spec = params.head_spec();
        let model = ClusterModel::from_pretext(pretext, spec, input_size, false, seed, &device)
            .map_err(failed)?;
        let trained = match params.update_encoder {
            true => model.params().trainables().to_vec(),
            false => model.head_trainables(),
        };
        let optimizer = params.optimizer.build(&trained).map_err(failed)?;
        Ok(Trainer {
            model,
            optimizer,
            params: params.clone(),
            device,
            progress: Progress::new(params.epochs, params.budget_minutes),
            tally: EpochTally::default(),
            last_totals: Vec::new(),
        })
    }

    /// The three scalars of one head's loss, refused when not finite.
    fn values(
        &self,
        consistency: &Tensor,
        entropy: &Tensor,
        total: &Tensor,
    ) -> Result<HeadTally, OpError> {
        let get = |t: &Tensor| t.to_scalar::<f32>().map(f64::from).map_err(failed);
        let tally = HeadTally {
            consistency: get(consistency)?,
            entropy: get(entropy)?,
            total: get(total)?,
        };
        let (epoch, step) = (self.progress.epoch as usize, self.progress.step);
        crate::model::checkpoint::check_finite(tally.total as f32, epoch, step).map_err(failed)?;
        Ok(tally)
    }

    fn record(&mut self, values: &[HeadTally], images: usize, lr: f64, start: Instant) {
        let t = &mut self.tally;
        t.heads.resize(values.len(), HeadTally::default());
        for (sum, v) in t.heads.iter_mut().zip(values) {
            sum.consistency += v.consistency;
            sum.entropy += v.entropy;
            sum.total += v.total;
        }
        t.steps += 1;
        t.images += images as u64;
        t.last_lr = lr;
        t.seconds += start.elapsed().as_secs_f64();
    }

    /// The head with the lowest mean total loss over the last finished epoch (0 when none).
    pub fn best_head(&self) -> usize {
        let mut best = 0;
        for (h, total) in self.last_totals.iter().enumerate() {
            if *total < self.last_totals[best] {
                best = h;
            }
        }
        best
    }

    /// Restores the newest checkpoint in `folder` written under the same `key`.
    pub fn resume(&mut self, folder: &Path, key: &str) -> Result<Option<PathBuf>, OpError> {
        let params = self.model.params();
        let optimizer = self.optimizer.as_mut();
        let resumed = training::resume(folder, key, &mut self.progress, params, optimizer)?;
        let Some((path, checkpoint)) = resumed else {
            return Ok(None);
        };
        let totals = checkpoint.meta.fields.get(LAST_TOTALS).cloned();
        self.last_totals = totals
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default();
        Ok(Some(path))
    }
}

impl EpochTrainer for Trainer {
    type Batch = Arc<ViewBatch>;

    fn pace(batch: &Arc<ViewBatch>) -> &ViewBatch {
        batch
    }

    fn progress(&self) -> &Progress {
        &self.progress
    }

    fn epoch_open(&self) -> bool {
        self.tally.steps > 0
    }

    /// One optimisation step on a batch of anchor and neighbour views.
    fn train_step(&mut self, batch: &Arc<ViewBatch>) -> Result<(), OpError> {
        let start = Instant::now();
        self.progress
            .learn_epoch_size(batch.epoch_size, batch.batch);
        let x = views_to_nhwc(batch, &self.device).map_err(failed)?;
        let probabilities = match self.params.update_encoder {
            true => self.model.forward(&x, true),
            false => self
                .model
                .frozen_features(&x)
                .and_then(|f| self.model.heads_forward(&f)),
        }
        .map_err(failed)?;
        let mut totals = Vec::with_capacity(probabilities.len());
        let mut values = Vec::with_capacity(probabilities.len());
        for p in &probabilities {
            let loss = self
                .params
                .loss
                .compute(p, batch.views, self.params.entropy_weight);
            let loss = loss.map_err(failed)?;
            values.push(self.values(&loss.consistency, &loss.entropy, &loss.total)?);
            totals.push(loss.total);
        }
        let total = Tensor::stack(&totals, 0)
            .and_then(|t| t.sum_all())
            .map_err(failed)?;
        let grads = total.backward().map_err(failed)?;
        let lr = self
            .progress
            .learning_rate(&self.params.schedule, self.params.optimizer.base_lr());
        self.optimizer.step(&grads, lr).map_err(failed)?;
        self.progress.step += 1;
        self.record(&values, batch.batch, lr, start);
        Ok(())
    }

    /// Returns the epoch's summary (mean losses per head) and resets the tallies.
    fn finish_epoch(&mut self) -> serde_json::Value {
        let t = std::mem::take(&mut self.tally);
        let steps = t.steps.max(1) as f64;
        let heads: Vec<serde_json::Value> = t.heads.iter().map(|h| {
            json!({ "consistency": h.consistency / steps, "entropy": h.entropy / steps, "total": h.total / steps })
        }).collect();
        self.last_totals = t.heads.iter().map(|h| h.total / steps).collect();
        let summary = json!({
            "epoch": self.progress.epoch,
            "steps": t.steps,
            "heads": heads,
            "lr": t.last_lr,
            "images_per_s": t.images as f64 / t.seconds.max(1e-9),
            "seconds": t.seconds,
        });
        self.progress.epoch += 1;
        summary
    }

    /// The checkpoint also keeps the last epoch's totals (they select the head).
    fn save_checkpoint(&self, folder: &Path, key: &str) -> Result<PathBuf, OpError> {
        let state = (self.model.params(), self.optimizer.as_ref());
        let mut fields = serde_json::Map::new();
        fields.insert(LAST_TOTALS.into(), json!(self.last_totals));
        training::save_checkpoint(folder, key, &self.progress, state, 0, fields)
    }
}
