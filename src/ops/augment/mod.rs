//! `Augment`: turns each batch of B images into V augmented views per image — one f32
//! tensor `[V][B][3][H][W]` ([`ViewBatch`]) — on a worker pool. Randomness derives from
//! (node seed, epoch, dataset index, view), so the views do not depend on thread timing or
//! on the worker count. Optionally takes its normalisation from measured channel statistics,
//! and with a `neighbours` table makes SCAN's (anchor, neighbour) views (see [`neighbours`]).

pub mod neighbours;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{BuildContext, InputPort, Operator, ParamDoc, ParamError};
use crate::augment::{augment_sources, AugmentOp, Draw, Pipeline, Recipe};
use crate::data::{ImageBatch, ViewBatch};
use crate::payload::{Payload, PortType};
use crate::runtime::{Context, OpError};
use neighbours::{sources, store_of, NeighbourViews, Pick};

/// Parameters of [`Augment`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AugmentParams {
    /// Views per image.
    pub views: usize,
    /// The augmentation: `SimClr(size, crop_scale)`, `ScanStrong(size)`, `Keras(size)` or
    /// `Custom([op, …])`.
    pub recipe: Recipe,
    /// With a `neighbours` input: how neighbour views are chosen.
    pub pick: Pick,
}

impl Default for AugmentParams {
    fn default() -> Self {
        AugmentParams {
            views: 2,
            recipe: Recipe::default(),
            pick: Pick::default(),
        }
    }
}

/// The `Augment` operator.
pub struct Augment {
    params: AugmentParams,
    pipeline: Pipeline,
}

impl Operator for Augment {
    type Params = AugmentParams;
    const NAME: &'static str = "Augment";
    const SUMMARY: &'static str = "Makes V augmented views of every image (SimCLR, SCAN's strong augmentation, the Keras example's, or a custom list) as one f32 tensor per batch, laid out [views][batch][3][H][W].";
    const PARAMS: &'static [ParamDoc] = &[
        ParamDoc {
            name: "views",
            ty: "usize",
            doc: "views per image",
        },
        ParamDoc {
            name: "recipe",
            ty: "SimClr(size, crop_scale) | ScanStrong(size) | Keras(size) | Eval(size) | EvalViews(size, scaled) | Custom([op, …])",
            doc: "the augmentation",
        },
        ParamDoc {
            name: "pick",
            ty: "Random(top) | All",
            doc: "with `neighbours`: each neighbour view drawn from the top-`top` (SCAN), or view j = neighbour j−1 (Keras; views = 1 + k)",
        },
    ];
    const INPUTS: &'static [InputPort] = &[
        InputPort {
            field: "input",
            payload: PortType::Images,
            required: true,
            doc: "the images",
        },
        InputPort {
            field: "normalize_from",
            payload: PortType::Metrics,
            required: false,
            doc: "channel statistics (ChannelStats) replacing every Normalize's mean and std",
        },
        InputPort {
            field: "neighbours",
            payload: PortType::Neighbours,
            required: false,
            doc: "a neighbour table (Knn on these images): view 0 is the anchor, views 1.. its neighbours (needs `store: true` on Images)",
        },
    ];
    const OUTPUT: Option<PortType> = Some(PortType::Views);

    fn build(params: AugmentParams, _ctx: &BuildContext) -> Result<Self, Vec<ParamError>> {
        let mut errors = Vec::new();
        if params.views == 0 {
            errors.push(ParamError::new("views", "must be at least 1"));
        }
        let pipeline = params.recipe.pipeline().map_err(|e| {
            errors.push(ParamError::new("recipe", e.to_string()));
        });
        if let Ok(pipeline) = &pipeline {
            check_distinct_views(pipeline, params.views, &mut errors);
        }
        match pipeline {
            Ok(pipeline) if errors.is_empty() => Ok(Augment { params, pipeline }),
            _ => Err(errors),
        }
    }

    fn run(mut self, ctx: &mut Context) -> Result<(), OpError> {
        if ctx.has_input("normalize_from") {
            self.adapt_normalisation(ctx)?;
        }
        let neighbours = match ctx.has_input("neighbours") {
            true => Some(self.receive_table(ctx)?),
            false => None,
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(ctx.workers())
            .build()
            .map_err(|e| OpError::Failed(format!("cannot start the augmentation pool: {e}")))?;
        while let Some(batch) = ctx.recv_images("input")? {
            let mut data = Vec::new();
            let (width, height) =
                self.augment(&batch, neighbours.as_ref(), ctx, &pool, &mut data)?;
            let out = ViewBatch {
                views: self.params.views,
                batch: batch.len(),
                channels: 3,
                height,
                width,
                data,
                indices: batch.indices.clone(),
                labels: batch.labels.clone(),
                epoch: batch.epoch,
                epoch_size: batch.epoch_size,
                names: batch.names.clone(),
                cropped_from: self.crops_centre().then_some((batch.height, batch.width)),
                eval_views: self.params.recipe.eval_view_set(self.params.views),
            };
            ctx.send(Payload::Views(Arc::new(out)))?;
        }
        Ok(())
    }
}

impl Augment {
    /// Whether view 0 is the central crop of its image (the `Eval` and `EvalViews`
    /// recipes).
    fn crops_centre(&self) -> bool {
        matches!(
            self.params.recipe,
            Recipe::Eval { .. } | Recipe::EvalViews { .. }
        )
    }

    /// The views of one batch into `data`; returns their `(width, height)`.
    fn augment(
        &self,
        batch: &ImageBatch,
        neighbours: Option<&NeighbourViews>,
        ctx: &Context,
        pool: &rayon::ThreadPool,
        data: &mut Vec<f32>,
    ) -> Result<(u32, u32), OpError> {
        let draw = Draw {
            seed: ctx.seed(),
            epoch: batch.epoch,
            views: self.params.views,
        };
        let failed = |e: crate::augment::AugmentError| OpError::Failed(e.to_string());
        let Some(neighbours) = neighbours else {
            let source = |_view: usize, i: usize| batch.image(i);
            return augment_sources(&self.pipeline, batch, draw, &source, pool, data)
                .map_err(failed);
        };
        neighbours.check_size(batch, ctx.id())?;
        let store = store_of(batch, ctx.id())?;
        let picked = sources(neighbours, batch, draw.views, draw.seed, store)?;
        let n = batch.len();
        let source = |view: usize, i: usize| match view {
            0 => batch.image(i),
            v => store.image(picked[(v - 1) * n + i]),
        };
        augment_sources(&self.pipeline, batch, draw, &source, pool, data).map_err(failed)
    }

    /// Waits for the neighbour table and checks it against `views` and `pick`.
    fn receive_table(&self, ctx: &mut Context) -> Result<NeighbourViews, OpError> {
        let table = ctx.recv_table("neighbours")?;
        NeighbourViews::new(table, self.params.pick, self.params.views, ctx.id())
    }

    /// Replaces every Normalize op's statistics with those received on `normalize_from`.
    fn adapt_normalisation(&mut self, ctx: &mut Context) -> Result<(), OpError> {
        let stats = ctx
            .recv("normalize_from")?
            .ok_or_else(|| OpError::Failed("`normalize_from` sent no statistics".into()))?;
        let doc = stats.as_metrics().cloned().unwrap_or_default();
        let (mean, std) = (triple(&doc["mean"]), triple(&doc["std"]));
        let (Some(mean), Some(std)) = (mean, std) else {
            return Err(OpError::Failed("`normalize_from` must send `mean` and `std` lists of 3 numbers (as ChannelStats does)".into()));
        };
        let with_stats = |op: &AugmentOp| match op {
            AugmentOp::Normalize { .. } => AugmentOp::Normalize { mean, std },
            other => other.clone(),
        };
        let views = self
            .pipeline
            .view_ops()
            .iter()
            .map(|ops| ops.iter().map(with_stats).collect())
            .collect();
        self.pipeline = Pipeline::per_view(views).map_err(|e| OpError::Failed(e.to_string()))?;
        Ok(())
    }
}

/// A recipe with distinct views (`EvalViews`) makes at most that many per image.
fn check_distinct_views(pipeline: &Pipeline, views: usize, errors: &mut Vec<ParamError>) {
    let distinct = pipeline.distinct_views();
    if distinct > 1 && views > distinct {
        errors.push(ParamError::new(
            "views",
            format!(
                "the recipe makes {distinct} distinct views per image; ask for at most {distinct}"
            ),
        ));
    }
}

fn triple(value: &serde_json::Value) -> Option<(f32, f32, f32)> {
    let list = value.as_array()?;
    let get = |i: usize| list.get(i).and_then(|v| v.as_f64()).map(|v| v as f32);
    (list.len() == 3).then_some((get(0)?, get(1)?, get(2)?))
}
