//! `Scan` on precomputed features. With `features` (an `Encode` of the mined images run on
//! the `model` input, `output: Features` or `Projection`) and `neighbours` connected
//! instead of `input`, the heads train alone on those fixed, unit-length vectors by
//! `ScanFeatures`' hand-written step — tens of thousands of pairs per second, where running
//! the frozen encoder on every pair manages about a thousand — and then join the encoder
//! (and, for projections, the pretext's projection head) in a cluster model that
//! normalises its features the same way, sent on like the pair-trained one.
//! Needs `update_encoder: false`; each anchor's neighbour is drawn from its whole mined list.
//! With `augmented` (an `Encode(views: Keep)` of V augmented views of the same images by
//! the same model) each anchor and neighbour is one of its V + 1 vectors, as in
//! `ScanFeatures`. `schedule` spans `epochs`; no checkpoint is written: the whole step
//! takes seconds to a minute.

use std::sync::Arc;

use serde_json::json;

use super::{Scan, ScanParams};
use crate::fsutil::append_line;
use crate::model::{ClusterModel, ModelArtifact};
use crate::ops::encode::EncodeOutput;
use crate::ops::feature_stream::{collect, fail, Stream};
use crate::ops::provenance::{self, EncoderRecord, ENCODER_FILE};
use crate::ops::scan_features::{
    augmented, check_table, keep, train_heads, Choice, Points, ScanFeaturesParams, Trainer,
};
use crate::ops::training::history::history_path;
use crate::ops::training::{failed, save_cluster_model};
use crate::ops::Operator;
use crate::payload::Payload;
use crate::runtime::{Context, OpError};

/// Trains the heads on `features`, builds the cluster model on `pretext`'s encoder and
/// sends it (the wiring checked by [`check_wiring`] first).
pub(super) fn run(
    ctx: &mut Context,
    params: &ScanParams,
    pretext: &ModelArtifact,
) -> Result<(), OpError> {
    let train = collect(ctx, "features")?;
    let record = encoder_record(ctx, pretext)?;
    let table = ctx.recv_table("neighbours")?;
    check_table(ctx, &train, &table)?;
    let augmented = augmented_views(ctx, &train, &record)?;
    let points = Points::new(&train, augmented.as_ref());
    let heads = heads_params(params, table.k);
    let mut trainer = Trainer::new(&heads, train.rows.dim, ctx.seed()).map_err(|e| fail(ctx, e))?;
    let length = (params.epochs, params.budget_minutes);
    let (last, epochs) = train_heads(ctx, &mut trainer, points, &table, length)?;
    let kept = keep(&trainer, &train.rows.data, &last, params.consensus).map_err(failed)?;
    let size = (record.input_size.0 as usize, record.input_size.1 as usize);
    let device = crate::model::device::select(ctx.device()).map_err(failed)?;
    let spec = params.head_spec();
    let on_projection = record.output == EncodeOutput::Projection;
    let mut model =
        ClusterModel::from_pretext(pretext, spec, size, on_projection, ctx.seed(), &device)
            .map_err(failed)?;
    model.normalize_features();
    model.set_cropped_from(record.cropped_from.map(|(h, w)| (h as usize, w as usize)));
    let blocks: Vec<&[f32]> = kept.values.iter().map(Vec::as_slice).collect();
    model.set_heads(&blocks).map_err(failed)?;
    model.select_head(kept.best).map_err(failed)?;
    if let Choice::Consensus(perms) = kept.choice.clone() {
        model.set_consensus(perms).map_err(failed)?;
    }
    let dir = ctx.run_dir().to_path_buf();
    let mut line = kept.record.clone();
    line["epochs"] = json!(epochs);
    append_line(&history_path(&dir), &line.to_string()).map_err(failed)?;
    let artifact = save_cluster_model(&model, &dir, Scan::NAME)?;
    ctx.set_status(format!("{} (heads on fixed features)", kept.describe()));
    ctx.send(Payload::Model(Arc::new(artifact)))
}

/// Refuses `features` together with `input`, without `neighbours`, or with the encoder
/// set to train.
pub(super) fn check_wiring(ctx: &Context, params: &ScanParams) -> Result<(), OpError> {
    let problem = if ctx.has_input("input") {
        "`input` (pairs) and `features` are both connected; connect one: pairs train through the encoder, features train the heads alone"
    } else if !ctx.has_input("neighbours") {
        "`features` needs `neighbours`, the table mined on those features"
    } else if params.update_encoder {
        "`features` trains the heads on fixed vectors, so the encoder cannot learn: set `update_encoder: false`, or feed `input` pairs to fine-tune it"
    } else {
        return Ok(());
    };
    Err(fail(ctx, problem))
}

/// The `encoder.json` node `node` of this graph left, if any.
fn record_of(ctx: &Context, node: &str) -> Result<Option<EncoderRecord>, OpError> {
    match ctx.run_dir().parent() {
        Some(graph) => provenance::load(&graph.join(node), ENCODER_FILE).map_err(OpError::Failed),
        None => Ok(None),
    }
}

/// The record the `Encode` node feeding `features` left: it must have run `pretext` on one
/// view per image and emitted encoder features (what the cluster model's heads will read).
fn encoder_record(ctx: &Context, pretext: &ModelArtifact) -> Result<EncoderRecord, OpError> {
    let node = ctx.source("features").unwrap_or("?").to_string();
    let record = record_of(ctx, &node)?;
    let Some(record) = record else {
        let message = format!("`features` comes from node `{node}`, which left no {ENCODER_FILE}: connect an Encode node with `output: Features`");
        return Err(fail(ctx, message));
    };
    let representation = matches!(
        record.output,
        EncodeOutput::Features | EncodeOutput::Projection
    );
    if !representation || record.model.weights != pretext.weights {
        let message = format!(
            "`features` (node `{node}`) must be the encoder features or projections of the `model` input: an Encode with `model` the same node and `output: Features` or `Projection` (it emitted {:?} of {})",
            record.output,
            record.model.weights.display()
        );
        return Err(fail(ctx, message));
    }
    if let Some(set) = record.eval_views {
        let message = format!("`features` (node `{node}`) averages {} views of each image (`EvalViews`), but the cluster model embeds one view, so its predictions would not match what the heads learned: feed `features` from an `Eval` view and mine the `neighbours` on the averaged views if you want them", set.views);
        return Err(fail(ctx, message));
    }
    Ok(record)
}

/// The `augmented` input when connected (see [`augmented`]), which must also come from an
/// `Encode` of the same model's same output as `features`.
fn augmented_views(
    ctx: &mut Context,
    train: &Stream,
    plain: &EncoderRecord,
) -> Result<Option<(Stream, usize)>, OpError> {
    let Some(found) = augmented(ctx, train)? else {
        return Ok(None);
    };
    let node = ctx.source("augmented").unwrap_or("?").to_string();
    let record = record_of(ctx, &node)?;
    let same =
        record.is_some_and(|r| r.model.weights == plain.model.weights && r.output == plain.output);
    if !same {
        let message = format!("`augmented` (node `{node}`) must be an Encode of the same `model` with the same `output` as `features`");
        return Err(fail(ctx, message));
    }
    Ok(Some(found))
}

/// `ScanFeatures`' parameters for `Scan`'s: the same heads, loss, optimiser and length,
/// neighbours drawn from all `k` mined ones, its default batch.
fn heads_params(params: &ScanParams, k: usize) -> ScanFeaturesParams {
    ScanFeaturesParams {
        clusters: params.clusters,
        heads: params.heads,
        entropy_weight: params.entropy_weight,
        top: k,
        loss: params.loss,
        optimizer: params.optimizer,
        schedule: params.schedule,
        epochs: params.epochs,
        budget_minutes: params.budget_minutes,
        hidden: params.hidden,
        ..ScanFeaturesParams::default()
    }
}
