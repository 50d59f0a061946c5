//! `KMeans`: the k-means baseline on fixed features (sklearn's `KMeans`: k-means++
//! seeding, `restarts` runs, the lowest inertia kept; see [`crate::cluster::kmeans`]).
//! Fits on every row of `input`, then emits each row's soft assignment — of `input`, or
//! of `assign` when connected (fit on train features, assign the test features) — as the
//! C "probabilities" `Evaluate` scores: `p_ic = softmax_c(−‖x_i − c‖² / T)` with `T` the
//! fit's mean within-cluster squared distance, so the most confident members of a cluster
//! are those nearest its centroid. Writes `centroids.npy` (`<f4`, C×D) and `summary.json`
//! (inertia, iterations and convergence per restart, the restart kept, `T`, seconds).
//!
//! `input` is read to its end before `assign`; feed them from different sources.

mod params;

use std::time::Instant;

use serde_json::json;

use super::feature_stream::{collect, emit, fail, pool, write_json, Stream};
use super::{BuildContext, InputPort, Operator, ParamDoc, ParamError};
use crate::cluster::kmeans::{self, soft_assign, squared_distances, Fit, KMeansConfig};
use crate::payload::PortType;
use crate::runtime::{Context, OpError};
pub use params::KMeansParams;

/// The `KMeans` operator.
pub struct KMeans {
    params: KMeansParams,
}

impl Operator for KMeans {
    type Params = KMeansParams;
    const NAME: &'static str = "KMeans";
    const SUMMARY: &'static str = "The k-means baseline: fits C centroids to feature vectors (k-means++, best of `restarts`) and sends each row's soft assignment as cluster probabilities; writes centroids.npy and summary.json.";
    const PARAMS: &'static [ParamDoc] = params::DOCS;
    const INPUTS: &'static [InputPort] = &[
        InputPort {
            field: "input",
            payload: PortType::Features,
            required: true,
            doc: "the feature vectors to fit (all of them are gathered first)",
        },
        InputPort {
            field: "assign",
            payload: PortType::Features,
            required: false,
            doc: "other feature vectors to assign with the fitted centroids (e.g. the test set); emitted instead of `input`",
        },
    ];
    const OUTPUT: Option<PortType> = Some(PortType::Features);

    fn build(params: KMeansParams, _ctx: &BuildContext) -> Result<Self, Vec<ParamError>> {
        params.validate()?;
        Ok(KMeans { params })
    }

    fn run(self, ctx: &mut Context) -> Result<(), OpError> {
        let train = collect(ctx, "input")?;
        let pool = pool(ctx)?;
        let fit = self.fit(ctx, &train, &pool)?;
        let target = if ctx.has_input("assign") {
            collect(ctx, "assign")?
        } else {
            train
        };
        if target.rows.dim != fit.dim {
            let message = format!(
                "`assign` has {} values per row but `input` has {}",
                target.rows.dim, fit.dim
            );
            return Err(fail(ctx, message));
        }
        let distances = squared_distances(&target.rows.data, fit.dim, &fit.centroids, &pool);
        let probs = soft_assign(&distances, self.params.clusters, fit.temperature());
        emit(ctx, &target, &probs, self.params.clusters)
    }
}

impl KMeans {
    /// Fits the centroids to `train` and writes `centroids.npy` and `summary.json`.
    fn fit(
        &self,
        ctx: &mut Context,
        train: &Stream,
        pool: &rayon::ThreadPool,
    ) -> Result<Fit, OpError> {
        let (points, dim, k) = (train.len(), train.rows.dim, self.params.clusters);
        if k > points {
            let message = format!("`clusters` is {k} but only {points} points arrived on `input`");
            return Err(fail(ctx, message));
        }
        ctx.set_status(format!("k-means, {k} clusters on {points} × {dim}"));
        let config = KMeansConfig {
            clusters: k,
            restarts: self.params.restarts,
            max_iter: self.params.max_iter,
            tol: self.params.tol,
            seed: ctx.seed(),
        };
        let start = Instant::now();
        let fit = kmeans::fit(&train.rows.data, dim, &config, pool).map_err(|e| fail(ctx, e))?;
        let seconds = start.elapsed().as_secs_f64();
        let path = ctx.run_dir().join("centroids.npy");
        crate::data::write_npy_f32(&path, k, dim, &fit.centroids)
            .map_err(|e| OpError::io(&path, e))?;
        let summary = json!({
            "points": points, "dim": dim, "clusters": k, "inertia": fit.inertia,
            "chosen_restart": fit.chosen, "restarts": fit.restarts,
            "temperature": fit.temperature(), "fit_seconds": seconds,
        });
        write_json(ctx, "summary.json", &summary)?;
        ctx.set_status(format!(
            "inertia {:.4} (restart {}) in {seconds:.1} s",
            fit.inertia, fit.chosen
        ));
        Ok(fit)
    }
}
