//! `SelfLabel`: SCAN's self-labelling step. Fine-tunes a `Scan` cluster model's selected
//! head (and encoder) on its own confident predictions: per batch, the weak views'
//! probabilities `q` give pseudo-labels `argmax q` for the samples with `max q > threshold`,
//! and the strong views (RandAugment + Cutout) learn them by cross-entropy, class-balanced
//! by default (`model::loss::self_label`). A batch without a confident sample is skipped
//! and counted. Logs steps, skipped steps, confident samples, loss, learning rate and speed
//! per epoch to `history.jsonl`, checkpoints like `Scan` (a re-run with the same key
//! resumes), writes `model.safetensors` + `model.json` and sends the cluster model. With
//! `check` and `neighbours` connected, a label-free guard (`guard`) sends whichever of the
//! received and the self-labelled model scores better on SCAN's objective, and says which
//! in `guard.json`; a self-labelled model it does not send is saved in `self-labelled/`.

mod guard;
mod params;
mod trainer;

use std::path::PathBuf;
use std::sync::Arc;

use super::{BuildContext, InputPort, Operator, ParamDoc, ParamError};
use crate::data::ViewBatch;
use crate::model::{ClusterModel, ModelArtifact};
use crate::ops::training::epochs::{announce_resume, run_epochs, EpochPlan};
use crate::ops::training::{failed, save_cluster_model};
use crate::payload::{Payload, PortType};
use crate::runtime::{Context, OpError};
pub use params::SelfLabelParams;
use trainer::{Pair, Trainer};

/// Sub-folder of the run folder that keeps the self-labelled model when the guard sends
/// the received one.
pub const REJECTED_DIR: &str = "self-labelled";

/// The `SelfLabel` operator.
pub struct SelfLabel {
    params: SelfLabelParams,
}

impl Operator for SelfLabel {
    type Params = SelfLabelParams;
    const NAME: &'static str = "SelfLabel";
    const SUMMARY: &'static str = "SCAN's self-labelling step: confident predictions on weakly augmented views become pseudo-labels that strongly augmented views of the same images learn by (class-balanced) cross-entropy; fine-tunes the Scan model's selected head and sends the cluster model.";
    const PARAMS: &'static [ParamDoc] = params::DOCS;
    const INPUTS: &'static [InputPort] = &[
        InputPort {
            field: "weak",
            payload: PortType::Views,
            required: true,
            doc: "one weak view per image (an Augment with `views: 1` and a SimClr or Eval recipe)",
        },
        InputPort {
            field: "strong",
            payload: PortType::Views,
            required: true,
            doc: "one strong view of the same images in the same batches (an Augment with `views: 1`, `recipe: ScanStrong`, fed by the same Images node)",
        },
        InputPort {
            field: "model",
            payload: PortType::Model,
            required: true,
            doc: "the cluster model to fine-tune (a Scan node)",
        },
        InputPort {
            field: "check",
            payload: PortType::Views,
            required: false,
            doc: "with `neighbours`: one evaluation view of every mined image (its own Images node, one epoch), read after training to score both models",
        },
        InputPort {
            field: "neighbours",
            payload: PortType::Neighbours,
            required: false,
            doc: "with `check`: the neighbour table the Scan model learned from, on which both models are scored",
        },
    ];
    const OUTPUT: Option<PortType> = Some(PortType::Model);

    fn build(params: SelfLabelParams, _ctx: &BuildContext) -> Result<Self, Vec<ParamError>> {
        params.validate()?;
        Ok(SelfLabel { params })
    }

    fn run(self, ctx: &mut Context) -> Result<(), OpError> {
        let _precision = crate::linalg::precision::scoped(self.params.precision);
        let guarded = guarded(ctx)?;
        let clusters = ctx.recv_model("model")?;
        let plan = EpochPlan {
            epochs: self.params.epochs,
            checkpoint_every: self.params.checkpoint_every,
            status: status_line,
        };
        let start = |ctx: &mut Context, _: &Pair| start(ctx, &self.params, &clusters);
        let trainer = run_epochs(ctx, plan, next_pair, start)?;
        let trainer = trainer.ok_or_else(|| {
            OpError::Failed(format!(
                "node `{}`: no view batch arrived to train on",
                ctx.id()
            ))
        })?;
        let epochs = trainer.progress.epoch;
        let (model, kept) = match guarded {
            true => choose(ctx, &self.params, &clusters, trainer.model)?,
            false => (trainer.model, ""),
        };
        let artifact = save_cluster_model(&model, ctx.run_dir(), SelfLabel::NAME)?;
        ctx.set_status(format!("{epochs} epochs{kept}"));
        ctx.send(Payload::Model(Arc::new(artifact)))
    }
}

/// Whether the guard is on: `check` and `neighbours` go together.
fn guarded(ctx: &Context) -> Result<bool, OpError> {
    match (ctx.has_input("check"), ctx.has_input("neighbours")) {
        (true, true) => Ok(true),
        (false, false) => Ok(false),
        (check, _) => Err(OpError::Failed(format!(
            "node `{}`: `{}` is connected without `{}`; the guard needs both (or neither)",
            ctx.id(),
            if check { "check" } else { "neighbours" },
            if check { "neighbours" } else { "check" },
        ))),
    }
}

/// The guard: scores the received and the self-labelled model on the neighbour table,
/// writes `guard.json` and returns the better model with a note for the status line.
fn choose(
    ctx: &mut Context,
    params: &SelfLabelParams,
    received: &ModelArtifact,
    trained: ClusterModel,
) -> Result<(ClusterModel, &'static str), OpError> {
    let table = ctx.recv_table("neighbours")?;
    ctx.set_status("scoring both models on the neighbour table");
    let device = crate::model::device::select(ctx.device()).map_err(failed)?;
    let before = ClusterModel::from_artifact(received, &device).map_err(failed)?;
    let [p_before, p_after] = guard::probabilities(ctx, [&before, &trained], &table, &device)?;
    let clusters = p_before.len() / table.points().max(1);
    let w = params.guard_entropy_weight;
    let scores = [
        guard::score(&p_before, clusters, &table, w),
        guard::score(&p_after, clusters, &table, w),
    ];
    let keep_trained = scores[1].total <= scores[0].total;
    let mut record = serde_json::json!({
        "received": scores[0],
        "self_labelled": scores[1],
        "entropy_weight": w,
        "kept": if keep_trained { "self_labelled" } else { "received" },
    });
    match keep_trained {
        true => remove_stale_rejected(ctx)?,
        false => {
            let dir = keep_rejected(ctx, &trained)?;
            record["self_labelled_model"] = dir.display().to_string().into();
        }
    }
    let path = ctx.run_dir().join("guard.json");
    let text = serde_json::to_vec_pretty(&record).map_err(failed)?;
    crate::fsutil::write_atomic(&path, &text).map_err(|e| OpError::io(&path, e))?;
    Ok(match keep_trained {
        true => (trained, ", self-labelled model kept"),
        false => (
            before,
            ", received model kept (it scores better on the neighbours)",
        ),
    })
}

/// Saves the self-labelled model the guard did not send to `self-labelled/` in the run
/// folder (`model.safetensors` + `model.json`, so `scanflow predict --run` reads it) and
/// returns that folder: the training it cost is not lost.
fn keep_rejected(ctx: &Context, trained: &ClusterModel) -> Result<PathBuf, OpError> {
    let dir = ctx.run_dir().join(REJECTED_DIR);
    std::fs::create_dir_all(&dir).map_err(|e| OpError::io(&dir, e))?;
    let artifact = save_cluster_model(trained, &dir, SelfLabel::NAME)?;
    artifact.save(&dir).map_err(|e| OpError::io(&dir, e))?;
    Ok(dir)
}

/// Removes a `self-labelled/` folder an earlier run left, so it never outlives its run.
fn remove_stale_rejected(ctx: &Context) -> Result<(), OpError> {
    let dir = ctx.run_dir().join(REJECTED_DIR);
    match std::fs::remove_dir_all(&dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(OpError::io(&dir, e)),
        _ => Ok(()),
    }
}

/// The trainer on the cluster model, resumed from a checkpoint when one matches.
fn start(
    ctx: &mut Context,
    params: &SelfLabelParams,
    clusters: &ModelArtifact,
) -> Result<Trainer, OpError> {
    let device = crate::model::device::select(ctx.device()).map_err(failed)?;
    let mut trainer = Trainer::new(params, clusters, device)
        .map_err(|e| OpError::Failed(format!("node `{}`: {e}", ctx.id())))?;
    let checkpoints = crate::model::checkpoint::checkpoints_in(ctx.run_dir());
    let resumed = trainer.resume(&checkpoints, ctx.cache_key())?;
    announce_resume(ctx, resumed, trainer.progress.epoch);
    Ok(trainer)
}

/// The next weak and strong batches, zipped and checked to hold the same images.
fn next_pair(ctx: &mut Context) -> Result<Option<Pair>, OpError> {
    let weak = next_views(ctx, "weak")?;
    let strong = next_views(ctx, "strong")?;
    match (weak, strong) {
        (None, None) => Ok(None),
        (Some(weak), Some(strong)) => {
            check_pair(ctx, &weak, &strong)?;
            Ok(Some(Pair { weak, strong }))
        }
        (weak, _) => {
            let (ended, other) = match weak {
                None => ("weak", "strong"),
                Some(_) => ("strong", "weak"),
            };
            let problem = format!(
                "{} ended while {} still sends",
                port(ctx, ended),
                port(ctx, other)
            );
            Err(mismatch(ctx, problem))
        }
    }
}

/// The next view batch on `field`, refused unless it holds one view per image.
fn next_views(ctx: &mut Context, field: &str) -> Result<Option<Arc<ViewBatch>>, OpError> {
    let Some(payload) = ctx.recv(field)? else {
        return Ok(None);
    };
    let batch = payload
        .as_views()
        .cloned()
        .ok_or_else(|| OpError::Failed(format!("{} must send view batches", port(ctx, field))))?;
    if batch.views != 1 {
        return Err(OpError::Failed(format!(
            "node `{}`: {} sends {} views per image; SelfLabel takes one (`views: 1`)",
            ctx.id(),
            port(ctx, field),
            batch.views
        )));
    }
    Ok(Some(batch))
}

/// Refuses batches that are not views of the same images in the same order and epoch.
fn check_pair(ctx: &Context, weak: &ViewBatch, strong: &ViewBatch) -> Result<(), OpError> {
    if weak.epoch != strong.epoch || weak.indices.len() != strong.indices.len() {
        let problem = format!(
            "a batch of {} images of epoch {} from {} meets one of {} images of epoch {} from {}",
            weak.indices.len(),
            weak.epoch,
            port(ctx, "weak"),
            strong.indices.len(),
            strong.epoch,
            port(ctx, "strong")
        );
        return Err(mismatch(ctx, problem));
    }
    let pairs = weak.indices.iter().zip(&strong.indices);
    match pairs.enumerate().find(|(_, (w, s))| w != s) {
        None => Ok(()),
        Some((i, (w, s))) => {
            let problem = format!(
                "image {i} of a batch is dataset image {w} in {} but {s} in {}",
                port(ctx, "weak"),
                port(ctx, "strong")
            );
            Err(mismatch(ctx, problem))
        }
    }
}

/// e.g. `` `weak` (node `weak-views`) ``.
fn port(ctx: &Context, field: &str) -> String {
    match ctx.source(field) {
        Some(node) => format!("`{field}` (node `{node}`)"),
        None => format!("`{field}`"),
    }
}

fn mismatch(ctx: &Context, problem: String) -> OpError {
    OpError::Failed(format!(
        "node `{}`: the weak and strong views must show the same images in the same batches, but {problem}; feed both Augment nodes from the same Images node",
        ctx.id()
    ))
}

/// e.g. `epoch 3 loss 0.1234 confident 812 (81.2%) skipped 0 lr 0.00010 300 img/s`.
fn status_line(summary: &serde_json::Value) -> String {
    format!(
        "epoch {} loss {:.4} confident {} ({:.1}%) skipped {} lr {:.5} {:.0} img/s",
        summary["epoch"],
        summary["loss"].as_f64().unwrap_or(f64::NAN),
        summary["confident"],
        100.0 * summary["confident_fraction"].as_f64().unwrap_or(0.0),
        summary["skipped_steps"],
        summary["lr"].as_f64().unwrap_or(0.0),
        summary["images_per_s"].as_f64().unwrap_or(0.0)
    )
}
