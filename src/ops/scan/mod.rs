//! `Scan`: SCAN's clustering step. Trains `heads` softmax cluster heads of `clusters` on
//! the encoder of a `SimClr` model, from batches whose view 0 is an anchor image and views
//! 1.. its mined neighbours (an `Augment` with a `neighbours` table): loss
//! `−log⟨p_a, p_n⟩ − w·H(mean p_a)` per head (or the Keras example's), summed over heads.
//! Logs consistency, entropy and total per head per epoch to `history.jsonl`, checkpoints
//! like `SimClr` (a re-run with the same key resumes), selects the head with the lowest
//! mean total loss over the final epoch's training batches (never the test images), and
//! writes `model.safetensors` + `model.json` and sends the cluster model downstream. With
//! `features` and `neighbours` instead of `input`, the heads train on fixed encoder
//! features alone (`on_features`).

mod on_features;
mod params;
mod trainer;

use std::sync::Arc;

use serde_json::json;

use super::{BuildContext, InputPort, Operator, ParamDoc, ParamError};
use crate::data::ViewBatch;
use crate::fsutil::append_line;
use crate::model::ModelArtifact;
use crate::ops::training::epochs::{announce_resume, run_epochs, EpochPlan};
use crate::ops::training::history::history_path;
use crate::ops::training::{failed, save_cluster_model};
use crate::payload::{Payload, PortType};
use crate::runtime::{Context, OpError};
pub(crate) use params::check_heads;
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
            required: false,
            doc: "anchor and neighbour views: an Augment with a `neighbours` table (view 0 anchors, views 1.. neighbours); or connect `features` and `neighbours` instead",
        },
        InputPort {
            field: "model",
            payload: PortType::Model,
            required: true,
            doc: "the pretext model whose encoder starts the clustering (a SimClr node)",
        },
        InputPort {
            field: "features",
            payload: PortType::Features,
            required: false,
            doc: "instead of `input`, with `update_encoder: false`: the `model`'s encoder features of every mined image (an Encode with `output: Features`, one epoch); the heads then train on these fixed vectors alone, far faster",
        },
        InputPort {
            field: "neighbours",
            payload: PortType::Neighbours,
            required: false,
            doc: "with `features`: the neighbour table mined on those images",
        },
        InputPort {
            field: "augmented",
            payload: PortType::Features,
            required: false,
            doc: "with `features`: V augmented views of every mined image, embedded by the same model (an Encode with `views: Keep` after an Augment with `views: V`); each anchor and each neighbour is then drawn from its V + 1 vectors",
        },
    ];
    const OUTPUT: Option<PortType> = Some(PortType::Model);

    fn build(params: ScanParams, _ctx: &BuildContext) -> Result<Self, Vec<ParamError>> {
        params.validate()?;
        Ok(Scan { params })
    }

    fn run(self, ctx: &mut Context) -> Result<(), OpError> {
        let _precision = crate::linalg::precision::scoped(self.params.precision);
        // Miswiring is refused before the pretext model is waited for.
        let on_features = ctx.has_input("features");
        if on_features {
            on_features::check_wiring(ctx, &self.params)?;
        } else if !ctx.has_input("input") {
            let message = format!("node `{}`: connect `input` (anchor and neighbour views) or `features` and `neighbours`", ctx.id());
            return Err(OpError::Failed(message));
        } else if ctx.has_input("augmented") {
            let message = format!("node `{}`: `augmented` views feed heads trained on fixed vectors: connect `features` and `neighbours` instead of `input`, or drop `augmented`", ctx.id());
            return Err(OpError::Failed(message));
        } else if self.params.consensus {
            let message = format!("node `{}`: `consensus: true` matches the heads on fixed features: connect `features` and `neighbours` instead of `input`, or drop `consensus`", ctx.id());
            return Err(OpError::Failed(message));
        }
        let pretext = ctx.recv_model("model")?;
        if on_features {
            return on_features::run(ctx, &self.params, &pretext);
        }
        let plan = EpochPlan {
            epochs: self.params.epochs,
            checkpoint_every: self.params.checkpoint_every,
            status: status_line,
        };
        let start =
            |ctx: &mut Context, batch: &Arc<ViewBatch>| start(ctx, &self.params, &pretext, batch);
        let trainer = run_epochs(ctx, plan, next_batch, start)?;
        let trainer = trainer.ok_or_else(|| {
            OpError::Failed(format!(
                "node `{}`: no view batch arrived to train on",
                ctx.id()
            ))
        })?;
        finish(ctx, trainer)
    }
}

/// The next anchor-and-neighbours batch, refused with fewer than 2 views.
fn next_batch(ctx: &mut Context) -> Result<Option<Arc<ViewBatch>>, OpError> {
    let Some(payload) = ctx.recv("input")? else {
        return Ok(None);
    };
    let batch = payload
        .as_views()
        .cloned()
        .ok_or_else(|| OpError::Failed("`input` must receive view batches".into()))?;
    if batch.views < 2 {
        return Err(OpError::Failed(format!(
            "node `{}`: `input` has {} view per image; Scan needs view 0 anchors and views 1.. neighbours (wire an Augment with a `neighbours` table)",
            ctx.id(),
            batch.views
        )));
    }
    Ok(Some(batch))
}

/// The trainer for views the size of `batch`'s, resumed from a checkpoint when one matches.
fn start(
    ctx: &mut Context,
    params: &ScanParams,
    pretext: &ModelArtifact,
    batch: &ViewBatch,
) -> Result<Trainer, OpError> {
    let device = crate::model::device::select(ctx.device()).map_err(failed)?;
    let size = (batch.height as usize, batch.width as usize);
    let mut trainer = Trainer::new(params, pretext, size, ctx.seed(), device)
        .map_err(|e| OpError::Failed(format!("node `{}`: {e}", ctx.id())))?;
    let checkpoints = crate::model::checkpoint::checkpoints_in(ctx.run_dir());
    let resumed = trainer.resume(&checkpoints, ctx.cache_key())?;
    announce_resume(ctx, resumed, trainer.progress.epoch);
    Ok(trainer)
}

/// Selects the head, saves the model and sends it on.
fn finish(ctx: &mut Context, mut trainer: Trainer) -> Result<(), OpError> {
    let best = trainer.best_head();
    trainer.model.select_head(best).map_err(failed)?;
    let dir = ctx.run_dir().to_path_buf();
    let line = json!({ "selected_head": best, "final_totals": trainer.last_totals, "epochs": trainer.progress.epoch });
    append_line(&history_path(&dir), &line.to_string()).map_err(failed)?;
    let artifact = save_cluster_model(&trainer.model, &dir, Scan::NAME)?;
    ctx.set_status(format!("selected head {best}"));
    ctx.send(Payload::Model(Arc::new(artifact)))
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
