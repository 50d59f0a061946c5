//! `ScanFeatures`: SCAN's clustering step on a frozen encoder, from precomputed features:
//! trains `heads` softmax heads `D → C` (no encoder), linear or with a `hidden` layer, so
//! each anchor agrees with a neighbour drawn from its top `top` mined neighbours while the
//! clusters stay balanced (loss and gradients in [`crate::cluster::heads`], by hand: no
//! per-operation overhead). Logs each head's consistency, entropy and total per epoch to
//! `history.jsonl` with the pairs per second; selects the head with the lowest mean total
//! over the final epoch, or with `consensus: true` combines every head into one (see
//! [`keep()`]); writes `heads.safetensors` (`weight` `(H·C)×D` and `bias` `H·C`,
//! every head; with a hidden layer `weight` `(H·C)×K` and `bias` after `hidden.weight`
//! `(H·K)×D` and `hidden.bias` `H·K`) and emits each
//! row's C probabilities under the selected head — of `features`, or of `assign` when
//! connected — as `Encode(output: Clusters)` does, for `Evaluate`.
//!
//! With `augmented` connected, each anchor and each neighbour of a step is one of its V + 1
//! vectors (the plain one or one of V augmented views, drawn uniformly), so the heads
//! learn clusters that augmentation does not change without the encoder running again.
//!
//! `features` is read to its end first (the `Knn` feeding `neighbours` needs all of it
//! too), then `neighbours`, then `augmented`, then `assign`.

mod keep;
mod params;
pub(super) mod trainer;

use std::collections::HashMap;
use std::time::Instant;

use serde_json::json;

use super::feature_stream::{collect, emit, fail, Stream};
use super::{BuildContext, InputPort, Operator, ParamDoc, ParamError};
use crate::cluster::heads::HeadLoss;
use crate::data::NeighbourTable;
use crate::fsutil::append_line;
use crate::ops::training::history::{history_path, restart_history};
use crate::payload::PortType;
use crate::runtime::{Context, OpError};
pub use keep::{keep, Choice, Kept};
pub use params::ScanFeaturesParams;
pub(crate) use params::{CONSENSUS_DOC, HIDDEN_DOC};
pub use trainer::{Points, Trainer};

/// The `ScanFeatures` operator.
pub struct ScanFeatures {
    params: ScanFeaturesParams,
}

impl Operator for ScanFeatures {
    type Params = ScanFeaturesParams;
    const NAME: &'static str = "ScanFeatures";
    const SUMMARY: &'static str = "SCAN's clustering step on fixed features: trains linear softmax heads so each point agrees with its mined neighbours while clusters stay balanced, selects the head with the lowest training loss (or combines them all) and sends each row's cluster probabilities.";
    const PARAMS: &'static [ParamDoc] = params::DOCS;
    const INPUTS: &'static [InputPort] = &[
        InputPort {
            field: "features",
            payload: PortType::Features,
            required: true,
            doc: "every point's feature vector (the points the neighbour table was mined on)",
        },
        InputPort {
            field: "neighbours",
            payload: PortType::Neighbours,
            required: true,
            doc: "the neighbour table of `features` (a Knn node)",
        },
        InputPort {
            field: "augmented",
            payload: PortType::Features,
            required: false,
            doc: "V augmented views of every point, side by side (an Encode with `views: Keep` after an Augment with `views: V`); each anchor and each neighbour is then drawn from its V + 1 vectors",
        },
        InputPort {
            field: "assign",
            payload: PortType::Features,
            required: false,
            doc: "other feature vectors to emit probabilities for (e.g. the test set) instead of `features`",
        },
    ];
    const OUTPUT: Option<PortType> = Some(PortType::Features);

    fn build(params: ScanFeaturesParams, _ctx: &BuildContext) -> Result<Self, Vec<ParamError>> {
        params.validate()?;
        Ok(ScanFeatures { params })
    }

    fn run(self, ctx: &mut Context) -> Result<(), OpError> {
        let train = collect(ctx, "features")?;
        let table = ctx.recv_table("neighbours")?;
        check_table(ctx, &train, &table)?;
        let mut trainer =
            Trainer::new(&self.params, train.rows.dim, ctx.seed()).map_err(|e| fail(ctx, e))?;
        let length = (self.params.epochs, self.params.budget_minutes);
        let augmented = augmented(ctx, &train)?;
        let points = Points::new(&train, augmented.as_ref());
        let (last, _) = train_heads(ctx, &mut trainer, points, &table, length)?;
        let kept = keep(&trainer, &train.rows.data, &last, self.params.consensus)
            .map_err(|e| fail(ctx, e))?;
        finish(ctx, &trainer, &kept)?;
        let target = if ctx.has_input("assign") {
            collect(ctx, "assign")?
        } else {
            train
        };
        if target.rows.dim != trainer.layers.dim() {
            let message = format!(
                "`assign` has {} values per row but `features` has {}",
                target.rows.dim,
                trainer.layers.dim()
            );
            return Err(fail(ctx, message));
        }
        let probs = kept.probabilities(&trainer.layers, &target.rows.data);
        emit(ctx, &target, &probs, self.params.clusters)
    }
}

/// Trains `trainer` for up to `epochs` passes (or `budget_minutes` of training), each logged
/// to `history.jsonl`; returns the final epoch's losses and the epochs run. Shared with
/// `Scan`'s features path.
pub(crate) fn train_heads(
    ctx: &mut Context,
    trainer: &mut Trainer,
    points: Points<'_>,
    table: &NeighbourTable,
    (epochs, budget_minutes): (u64, Option<f64>),
) -> Result<(Vec<HeadLoss>, u64), OpError> {
    let started = Instant::now();
    restart_history(ctx.run_dir(), 0)?;
    let history = history_path(ctx.run_dir());
    let mut last = Vec::new();
    let mut done = 0;
    for epoch in 0..epochs {
        ctx.check_cancelled()?;
        let start = Instant::now();
        last = trainer.epoch(&points, table).map_err(|e| fail(ctx, e))?;
        done = epoch + 1;
        let pairs_per_s = table.points() as f64 / start.elapsed().as_secs_f64().max(1e-9);
        let line = json!({ "epoch": epoch + 1, "heads": last, "pairs_per_s": pairs_per_s });
        append_line(&history, &line.to_string()).map_err(|e| OpError::io(&history, e))?;
        let best = select(&last);
        ctx.set_status(format!(
            "epoch {} total {:.4} (head {best}) {pairs_per_s:.0} pairs/s",
            epoch + 1,
            last[best].total
        ));
        if budget_minutes.is_some_and(|m| started.elapsed().as_secs_f64() >= m * 60.0) {
            break;
        }
    }
    Ok((last, done))
}

/// The `augmented` input when connected: read to its end, it must hold the same points as
/// `train` with a whole number V of vectors per point side by side (`Encode(views: Keep)`);
/// returns it and V.
pub(crate) fn augmented(
    ctx: &mut Context,
    train: &Stream,
) -> Result<Option<(Stream, usize)>, OpError> {
    if !ctx.has_input("augmented") {
        return Ok(None);
    }
    let stream = collect(ctx, "augmented")?;
    let dim = train.rows.dim.max(1);
    let views = stream.rows.dim / dim;
    if stream.rows.ids != train.rows.ids || views == 0 || stream.rows.dim % dim != 0 {
        let node = ctx.source("augmented").unwrap_or("?");
        let message = format!(
            "`augmented` (node `{node}`) sent {} rows of {} values, but `features` has {} rows of {dim}: each `augmented` row must hold whole views of the same point (`Encode(views: Keep)` over the same images)",
            stream.len(),
            stream.rows.dim,
            train.len(),
        );
        return Err(fail(ctx, message));
    }
    Ok(Some((stream, views)))
}

/// Refuses a table that was not mined on these features (other points or another order).
pub(crate) fn check_table(
    ctx: &Context,
    train: &Stream,
    table: &NeighbourTable,
) -> Result<(), OpError> {
    let ids = &train.rows.ids;
    let same = match &table.ids {
        Some(table_ids) => table_ids == ids,
        None => ids.iter().enumerate().all(|(row, &id)| row as u64 == id),
    };
    if table.points() != train.len() || !same || table.k == 0 {
        let message = format!("`neighbours` holds {} points but `features` sent {} (or other dataset indices); mine the table on the same features", table.points(), train.len());
        return Err(fail(ctx, message));
    }
    Ok(())
}

/// The head with the lowest total (the first on ties).
pub(crate) fn select(losses: &[HeadLoss]) -> usize {
    losses
        .iter()
        .enumerate()
        .fold(0, |b, (h, l)| if l.total < losses[b].total { h } else { b })
}

/// Writes `heads.safetensors` (every trained head) and the closing `history.jsonl` line.
fn finish(ctx: &Context, trainer: &Trainer, kept: &Kept) -> Result<(), OpError> {
    let dir = ctx.run_dir();
    let tensors: HashMap<String, candle_core::Tensor> = trainer
        .tensors()
        .into_iter()
        .map(|(n, t)| (n.to_string(), t))
        .collect();
    candle_core::safetensors::save(&tensors, dir.join("heads.safetensors"))
        .map_err(|e| fail(ctx, e))?;
    let (heads, clusters) = trainer.layers.heads_and_clusters();
    let mut line = kept.record.clone();
    line["heads"] = json!(heads);
    line["clusters"] = json!(clusters);
    let history = history_path(dir);
    append_line(&history, &line.to_string()).map_err(|e| OpError::io(&history, e))?;
    ctx.set_status(kept.describe());
    Ok(())
}
