//! The epoch loop `Scan` and `SelfLabel` share: batches drive a trainer built on the first
//! one (it needs the image size) and resumed from a checkpoint; a batch of a later epoch
//! closes the current one (history line, status, checkpoint when due); the loop stops at
//! the configured epochs, the time budget or the end of the stream.

use std::path::{Path, PathBuf};

use super::history::{history_path, restart_history};
use super::{failed, Progress};
use crate::data::ViewBatch;
use crate::fsutil::append_line;
use crate::runtime::{Context, OpError};

/// What the epoch loop needs of a training operator's state.
pub trait EpochTrainer {
    /// What one step trains on.
    type Batch;
    /// The view batch whose epoch, epoch size and image count pace the loop.
    fn pace(batch: &Self::Batch) -> &ViewBatch;
    /// Steps and epochs done, and the time budget.
    fn progress(&self) -> &Progress;
    /// True when the current epoch has seen batches not yet summarised.
    fn epoch_open(&self) -> bool;
    /// One training step.
    fn train_step(&mut self, batch: &Self::Batch) -> Result<(), OpError>;
    /// Closes the current epoch: its `history.jsonl` line; advances the epoch.
    fn finish_epoch(&mut self) -> serde_json::Value;
    /// Writes a checkpoint tagged with the node's cache `key` into `folder`.
    fn save_checkpoint(&self, folder: &Path, key: &str) -> Result<PathBuf, OpError>;
}

/// How long to train and how often to checkpoint, and how an epoch's summary reads as a
/// status line.
#[derive(Clone, Copy, Debug)]
pub struct EpochPlan {
    /// Epochs to train.
    pub epochs: u64,
    /// Epochs between checkpoints (0: only at the end).
    pub checkpoint_every: u64,
    /// The status line of an epoch summary.
    pub status: fn(&serde_json::Value) -> String,
}

/// Trains on the batches `next` yields with the trainer `start` builds from the first one;
/// returns the trainer (`None` when no batch came).
pub fn run_epochs<T: EpochTrainer>(
    ctx: &mut Context,
    plan: EpochPlan,
    mut next: impl FnMut(&mut Context) -> Result<Option<T::Batch>, OpError>,
    mut start: impl FnMut(&mut Context, &T::Batch) -> Result<T, OpError>,
) -> Result<Option<T>, OpError> {
    let mut trainer: Option<T> = None;
    let mut closed_an_epoch = false;
    while let Some(batch) = next(ctx)? {
        let pace = T::pace(&batch);
        if pace.epoch_size > 0 {
            ctx.set_total(pace.epoch_size * plan.epochs);
        }
        let t = match trainer.as_mut() {
            Some(t) => t,
            None => {
                let t = trainer.insert(start(ctx, &batch)?);
                restart_history(ctx.run_dir(), t.progress().epoch)?;
                t
            }
        };
        if pace.epoch < t.progress().epoch || pace.batch < 2 {
            continue;
        }
        if pace.epoch > t.progress().epoch {
            end_epoch(ctx, t, &plan)?;
            closed_an_epoch = true;
        }
        if t.progress().epoch >= plan.epochs || t.progress().budget_spent() {
            break;
        }
        t.train_step(&batch)?;
        if !closed_an_epoch {
            announce_first_epoch(ctx, t.progress());
        }
        ctx.check_cancelled()?;
    }
    if let Some(t) = trainer.as_mut().filter(|t| t.epoch_open()) {
        end_epoch(ctx, t, &plan)?;
    }
    Ok(trainer)
}

/// Logs the finished epoch and checkpoints when due.
fn end_epoch<T: EpochTrainer>(
    ctx: &mut Context,
    trainer: &mut T,
    plan: &EpochPlan,
) -> Result<(), OpError> {
    let summary = trainer.finish_epoch();
    let epoch = trainer.progress().epoch;
    let every = plan.checkpoint_every;
    if (every > 0 && epoch.is_multiple_of(every)) || epoch >= plan.epochs {
        let checkpoints = crate::model::checkpoint::checkpoints_in(ctx.run_dir());
        trainer.save_checkpoint(&checkpoints, ctx.cache_key())?;
    }
    ctx.set_status(trainer.progress().with_time_left((plan.status)(&summary)));
    let history = history_path(ctx.run_dir());
    append_line(&history, &summary.to_string()).map_err(failed)
}

/// Until its first epoch ends, a node's status says where the epoch stands and how long the
/// whole run will take (updated every few steps).
pub fn announce_first_epoch(ctx: &Context, progress: &Progress) {
    if progress.step % 4 == 1 {
        if let Some(line) = progress.step_status() {
            ctx.set_status(line);
        }
    }
}

/// Says in the node's status that the checkpoint `resumed`, if any, was resumed at `epoch`.
pub fn announce_resume(ctx: &Context, resumed: Option<PathBuf>, epoch: u64) {
    if let Some(path) = resumed {
        ctx.set_status(format!("resumed from {} (epoch {epoch})", path.display()));
    }
}
