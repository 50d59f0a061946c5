//! `Scan`: SCAN's clustering step. Trains `heads` softmax cluster heads of `clusters` on
//! the encoder of a `SimClr` model, from batches whose view 0 is an anchor image and views
//! 1.. its mined neighbours (an `Augment` with a `neighbours` table): loss
//! `−log⟨p_a, p_n⟩ − w·H(mean p_a)` per head (or the Keras example's), summed over heads.
//! Logs consistency, entropy and total per head per epoch to `history.jsonl`, checkpoints
//! like `SimClr` (a re-run with the same key resumes), selects the head with the lowest
//! mean total loss over the final epoch's training batches (never the test images), and
//! writes `model.safetensors` + `model.json` and sends the cluster model downstream.

mod params;
mod trainer;

use std::sync::Arc;

use serde_json::json;

use super::{BuildContext, InputPort, Operator, ParamDoc, ParamError};
use crate::data::ViewBatch;
use crate::fsutil::append_line;
use crate::model::ModelArtifact;
use crate::ops::training::failed;
use crate::payload::{Payload, PortType};
use crate::runtime::{Context, OpError};
pub use params::ScanParams;
use trainer::Trainer;

/// The `Scan` operator.
pub struct Scan {
    params: ScanParams,
}

impl Operator for Scan {
    type Params = ScanParams;
    const NAME: &'static str = "Scan";
    const SUMMARY: &'static str = "SCAN's clustering step: trains softmax cluster heads (and optionally the encoder) so images agree with their mined neighbours while the clusters stay balanced; selects the head with the lowest training loss and sends the cluster model.";
    const PARAMS: &'static [ParamDoc] = params::DOCS;
    const INPUTS: &'static [InputPort] = &[
        InputPort {
            field: "input",
            payload: PortType::Views,
            required: true,
            doc: "anchor and neighbour views: an Augment with a `neighbours` table (view 0 anchors, views 1.. neighbours)",
        },
        InputPort {
            field: "model",
            payload: PortType::Model,
            required: true,
            doc: "the pretext model whose encoder starts the clustering (a SimClr node)",
        },
    ];
    const OUTPUT: Option<PortType> = Some(PortType::Model);

    fn build(params: ScanParams, _ctx: &BuildContext) -> Result<Self, Vec<ParamError>> {
        params.validate()?;
        Ok(Scan { params })
    }

    fn run(self, ctx: &mut Context) -> Result<(), OpError> {
        let pretext = match ctx.recv("model")? {
            Some(Payload::Model(model)) => model,
            _ => return Err(OpError::Failed("`model` sent no trained model".into())),
        };
        let mut run = Run {
            ctx,
            params: self.params,
            pretext,
            trainer: None,
        };
        run.train()?;
        run.finish()
    }
}

/// One run of the operator: the trainer (built on the first batch, whose size it needs)
/// plus what the epoch loop needs around it.
struct Run<'a> {
    ctx: &'a mut Context,
    params: ScanParams,
    pretext: Arc<ModelArtifact>,
    trainer: Option<Trainer>,
}

impl Run<'_> {
    /// Trains until the configured epochs, the budget or the stream end.
    fn train(&mut self) -> Result<(), OpError> {
        let epochs = self.params.epochs;
        while let Some(payload) = self.ctx.recv("input")? {
            let batch = payload
                .as_views()
                .cloned()
                .ok_or_else(|| OpError::Failed("`input` must receive view batches".into()))?;
            if batch.epoch_size > 0 {
                self.ctx.set_total(batch.epoch_size * epochs);
            }
            let trainer = self.trainer_for(&batch)?;
            if batch.epoch < trainer.progress.epoch || batch.batch < 2 {
                continue;
            }
            if batch.epoch > trainer.progress.epoch {
                self.end_epoch()?;
            }
            let trainer = self.trainer_for(&batch)?;
            if trainer.progress.epoch >= epochs || trainer.progress.budget_spent() {
                break;
            }
            trainer.train_step(&batch)?;
            self.ctx.check_cancelled()?;
        }
        if self.trainer.as_ref().is_some_and(|t| t.tally.steps > 0) {
            self.end_epoch()?;
        }
        Ok(())
    }

    /// The trainer, built (and resumed) on the first batch.
    fn trainer_for(&mut self, batch: &ViewBatch) -> Result<&mut Trainer, OpError> {
        if batch.views < 2 {
            return Err(OpError::Failed(format!(
                "node `{}`: `input` has {} view per image; Scan needs view 0 anchors and views 1.. neighbours (wire an Augment with a `neighbours` table)",
                self.ctx.id(),
                batch.views
            )));
        }
        if self.trainer.is_none() {
            self.trainer = Some(self.start(batch)?);
        }
        self.trainer
            .as_mut()
            .ok_or_else(|| OpError::Failed("no trainer".into()))
    }

    fn start(&mut self, batch: &ViewBatch) -> Result<Trainer, OpError> {
        let device = crate::model::device::select(self.ctx.device()).map_err(failed)?;
        let size = (batch.height as usize, batch.width as usize);
        let mut trainer = Trainer::new(&self.params, &self.pretext, size, self.ctx.seed(), device)
            .map_err(|e| OpError::Failed(format!("node `{}`: {e}", self.ctx.id())))?;
        let checkpoints = self.ctx.run_dir().join("checkpoints");
        if let Some(path) = trainer.resume(&checkpoints, self.ctx.cache_key())? {
            let epoch = trainer.progress.epoch;
            self.ctx
                .set_status(format!("resumed from {} (epoch {epoch})", path.display()));
        }
        Ok(trainer)
    }

    /// Logs the finished epoch and checkpoints when due.
    fn end_epoch(&mut self) -> Result<(), OpError> {
        let Some(trainer) = self.trainer.as_mut() else {
            return Ok(());
        };
        let summary = trainer.finish_epoch();
        let epoch = trainer.progress.epoch;
        let every = self.params.checkpoint_every;
        if (every > 0 && epoch % every == 0) || epoch >= self.params.epochs {
            let checkpoints = self.ctx.run_dir().join("checkpoints");
            trainer.save_checkpoint(&checkpoints, self.ctx.cache_key())?;
        }
        self.ctx.set_status(status_line(&summary));
        let history = self.ctx.run_dir().join("history.jsonl");
        append_line(&history, &summary.to_string()).map_err(failed)
    }

    /// Selects the head, saves the model and sends it on.
    fn finish(self) -> Result<(), OpError> {
        let mut trainer = self.trainer.ok_or_else(|| {
            OpError::Failed(format!(
                "node `{}`: no view batch arrived to train on",
                self.ctx.id()
            ))
        })?;
        let best = trainer.best_head();
        trainer.model.select_head(best).map_err(failed)?;
        let dir = self.ctx.run_dir().to_path_buf();
        let line = json!({ "selected_head": best, "final_totals": trainer.last_totals, "epochs": trainer.progress.epoch });
        append_line(&dir.join("history.jsonl"), &line.to_string()).map_err(failed)?;
        let weights = dir.join("model.safetensors");
        trainer.model.save(&weights).map_err(failed)?;
        let architecture = serde_json::to_value(trainer.model.architecture()).map_err(failed)?;
        let artifact = ModelArtifact {
            weights,
            architecture,
            producer: Scan::NAME.into(),
        };
        self.ctx.set_status(format!("selected head {best}"));
        self.ctx.send(Payload::Model(Arc::new(artifact)))
    }
}

/// e.g. `epoch 3 total -2.0312 (head 0 of 1) lr 0.0001 812 img/s`.
fn status_line(summary: &serde_json::Value) -> String {
    let totals: Vec<f64> = summary["heads"]
        .as_array()
        .map(|heads| heads.iter().filter_map(|h| h["total"].as_f64()).collect())
        .unwrap_or_default();
    let (best, total) =
        totals.iter().enumerate().fold(
            (0, f64::INFINITY),
            |acc, (h, &t)| if t < acc.1 { (h, t) } else { acc },
        );
    format!(
        "epoch {} total {total:.4} (head {best} of {}) lr {:.5} {:.0} img/s",
        summary["epoch"],
        totals.len(),
        summary["lr"].as_f64().unwrap_or(0.0),
        summary["images_per_s"].as_f64().unwrap_or(0.0)
    )
}
