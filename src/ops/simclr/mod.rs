//! `SimClr`: contrastive pretext training (SCAN's step 1). Trains an encoder and projection
//! head on the incoming view batches with NT-Xent (or the Keras example's loss), logs loss,
//! learning rate and images/s per epoch to `history.jsonl`, checkpoints every N epochs into
//! `checkpoints/` (a re-run with the same key resumes from the newest one), reports the kNN
//! monitor accuracy when a labelled `monitor` stream is wired, and finally writes
//! `model.safetensors` + `encoder.safetensors` and sends the model downstream.

mod monitor;
mod params;
mod trainer;

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::json;

use super::{BuildContext, InputPort, Operator, ParamDoc, ParamError};
use crate::fsutil::append_line;
use crate::model::ModelArtifact;
use crate::ops::training::epochs::announce_first_epoch;
use crate::ops::training::history::{history_path, restart_history};
use crate::payload::{Payload, PortType};
use crate::runtime::{Context, OpError};
use monitor::Monitor;
pub use params::SimClrParams;
use trainer::{failed, Trainer};

/// The `SimClr` operator.
pub struct SimClr {
    params: SimClrParams,
    init: Option<PathBuf>,
}

impl Operator for SimClr {
    type Params = SimClrParams;
    const NAME: &'static str = "SimClr";
    const SUMMARY: &'static str = "Contrastive pretext training (SimCLR): learns an encoder from augmented views without labels; checkpoints, resumes, and sends the trained model.";
    const PARAMS: &'static [ParamDoc] = params::DOCS;
    const INPUTS: &'static [InputPort] = &[
        InputPort {
            field: "input",
            payload: PortType::Views,
            required: true,
            doc: "augmented views, 2 or more per image (e.g. Augment with the SimClr recipe)",
        },
        InputPort {
            field: monitor::FIELD,
            payload: PortType::Views,
            required: false,
            doc: "labelled evaluation views (Augment with the Eval recipe) for the kNN monitor",
        },
    ];
    const OUTPUT: Option<PortType> = Some(PortType::Model);

    fn build(params: SimClrParams, ctx: &BuildContext) -> Result<Self, Vec<ParamError>> {
        params.validate()?;
        let init = params.init.as_deref().map(|p| ctx.resolve(p));
        if let Some(path) = &init {
            if !path.is_file() {
                let message = format!("encoder weights `{}` not found", path.display());
                return Err(vec![ParamError::new("init", message)]);
            }
        }
        Ok(SimClr { params, init })
    }

    fn cache_salt(&self) -> String {
        self.init
            .as_ref()
            .and_then(|p| {
                std::fs::metadata(p)
                    .ok()
                    .map(|m| format!("{}:{}", p.display(), m.len()))
            })
            .unwrap_or_default()
    }

    fn run(self, ctx: &mut Context) -> Result<(), OpError> {
        let device = crate::model::device::select(ctx.device()).map_err(failed)?;
        let mut params = self.params.clone();
        params.init = self.init.map(|p| p.display().to_string());
        let mut trainer = Trainer::new(&params, ctx.seed(), device.clone())?;
        let _precision = crate::linalg::precision::scoped(params.precision);
        let checkpoints = crate::model::checkpoint::checkpoints_in(ctx.run_dir());
        if let Some(path) = trainer.resume(&checkpoints, ctx.cache_key())? {
            ctx.set_status(format!(
                "resumed from {} (epoch {})",
                path.display(),
                trainer.progress.epoch
            ));
        }
        restart_history(ctx.run_dir(), trainer.progress.epoch)?;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(ctx.workers())
            .build()
            .map_err(failed)?;
        let mut run = Run {
            ctx,
            params,
            trainer,
            monitor: Monitor::default(),
            pool,
        };
        run.train()?;
        run.finish(&device)
    }
}

/// One run of the operator: the trainer plus what the epoch loop needs around it.
struct Run<'a> {
    ctx: &'a mut Context,
    params: SimClrParams,
    trainer: Trainer,
    monitor: Monitor,
    pool: rayon::ThreadPool,
}

impl Run<'_> {
    /// Trains until the configured epochs, the budget or the stream end.
    fn train(&mut self) -> Result<(), OpError> {
        let epochs = self.params.epochs;
        let mut closed_an_epoch = false;
        while let Some(payload) = self.ctx.recv("input")? {
            let batch = payload
                .as_views()
                .cloned()
                .ok_or_else(|| OpError::Failed("`input` must receive view batches".into()))?;
            if batch.epoch_size > 0 {
                self.ctx.set_total(batch.epoch_size * epochs);
            }
            if batch.epoch < self.trainer.progress.epoch || batch.batch < 2 {
                continue;
            }
            if batch.epoch > self.trainer.progress.epoch {
                self.end_epoch()?;
                closed_an_epoch = true;
            }
            if self.trainer.progress.epoch >= epochs || self.trainer.progress.budget_spent() {
                break;
            }
            self.trainer.train_step(&batch)?;
            if !closed_an_epoch {
                announce_first_epoch(self.ctx, &self.trainer.progress);
            }
            if self.ctx.has_input(monitor::FIELD) {
                self.monitor.poll(self.ctx)?;
            }
            self.ctx.check_cancelled()?;
        }
        if self.trainer.tally.steps > 0 {
            self.end_epoch()?;
        }
        Ok(())
    }

    /// Logs the finished epoch, checkpoints and monitors when due.
    fn end_epoch(&mut self) -> Result<(), OpError> {
        let mut summary = self.trainer.finish_epoch();
        if !self.params.precision.is_f32() {
            summary["precision"] = json!(self.params.precision.effective());
        }
        let epoch = self.trainer.progress.epoch;
        let due = |every: u64| every > 0 && epoch.is_multiple_of(every);
        if due(self.params.monitor_every) && self.monitor.complete() {
            summary["knn_accuracy"] = json!(self.knn_accuracy()?);
        }
        if due(self.params.checkpoint_every) || epoch >= self.params.epochs {
            let checkpoints = crate::model::checkpoint::checkpoints_in(self.ctx.run_dir());
            self.trainer
                .save_checkpoint(&checkpoints, self.ctx.cache_key())?;
        }
        let status = self.trainer.progress.with_time_left(status_line(&summary));
        self.ctx.set_status(status);
        let history = history_path(self.ctx.run_dir());
        append_line(&history, &summary.to_string()).map_err(failed)
    }

    fn knn_accuracy(&self) -> Result<f64, OpError> {
        let device = self.trainer.model.params().device().clone();
        self.monitor.accuracy(
            &self.trainer.model,
            &device,
            self.params.monitor_k,
            &self.pool,
        )
    }

    /// Saves the model, reports the final monitor figure and sends the model on.
    fn finish(mut self, device: &candle_core::Device) -> Result<(), OpError> {
        let dir = self.ctx.run_dir().to_path_buf();
        if self.ctx.has_input(monitor::FIELD) {
            self.monitor.finish(self.ctx)?;
            if self.monitor.complete() {
                let accuracy = self.monitor.accuracy(
                    &self.trainer.model,
                    device,
                    self.params.monitor_k,
                    &self.pool,
                )?;
                let line = json!({ "final_knn_accuracy": accuracy, "epochs": self.trainer.progress.epoch });
                append_line(&history_path(&dir), &line.to_string()).map_err(failed)?;
                self.ctx
                    .set_status(format!("kNN monitor accuracy {:.2} %", accuracy * 100.0));
            }
        }
        let weights = dir.join("model.safetensors");
        self.trainer.model.save(&weights).map_err(failed)?;
        self.trainer
            .model
            .save_encoder(&dir.join("encoder.safetensors"))
            .map_err(failed)?;
        let artifact = ModelArtifact {
            weights,
            architecture: json!({ "encoder": self.params.encoder, "head": self.params.head }),
            producer: SimClr::NAME.into(),
        };
        self.ctx.send(Payload::Model(Arc::new(artifact)))
    }
}

fn status_line(summary: &serde_json::Value) -> String {
    let mut line = format!(
        "epoch {} loss {:.4} lr {:.4} {:.0} img/s",
        summary["epoch"],
        summary["loss"].as_f64().unwrap_or(f64::NAN),
        summary["lr"].as_f64().unwrap_or(0.0),
        summary["images_per_s"].as_f64().unwrap_or(0.0)
    );
    if let Some(acc) = summary["knn_accuracy"].as_f64() {
        line.push_str(&format!(" kNN {:.2} %", acc * 100.0));
    }
    line
}
