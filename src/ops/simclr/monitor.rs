//! The kNN monitor: a labelled set of evaluation views (from an `Augment` with the `Eval`
//! recipe) collected alongside training; at the end of monitored epochs the encoder embeds
//! them and the leave-one-out weighted kNN accuracy (k neighbours, votes `exp(sim / 0.07)`)
//! tells how well the features separate classes — the figure SimCLR papers watch.

use std::sync::Arc;

use candle_core::Device;

use super::trainer::failed;
use crate::data::ViewBatch;
use crate::knn::classify::{weighted_knn_accuracy, MONITOR_TEMPERATURE};
use crate::knn::{exact, UnitRows};
use crate::model::input::first_views_to_nhwc;
use crate::model::network::ContrastiveModel;
use crate::runtime::{Context, OpError, Polled};

/// Input field of the monitor views.
pub const FIELD: &str = "monitor";

/// The monitor's views and labels, filled as they arrive.
#[derive(Default)]
pub struct Monitor {
    batches: Vec<Arc<ViewBatch>>,
    labels: Vec<u32>,
    ended: bool,
}

impl Monitor {
    /// Takes whatever monitor views are ready, without waiting (training must not stall on
    /// them, and they may share an upstream node with the training stream).
    pub fn poll(&mut self, ctx: &mut Context) -> Result<(), OpError> {
        while !self.ended {
            match ctx.poll(FIELD)? {
                Polled::Ready(payload) => self.take(payload, ctx)?,
                Polled::Ended => self.ended = true,
                Polled::Empty => break,
            }
        }
        Ok(())
    }

    /// Reads the rest of the monitor stream, waiting for it (once training input has ended).
    pub fn finish(&mut self, ctx: &mut Context) -> Result<(), OpError> {
        while !self.ended {
            match ctx.recv(FIELD)? {
                Some(payload) => self.take(payload, ctx)?,
                None => self.ended = true,
            }
        }
        Ok(())
    }

    fn take(&mut self, payload: crate::payload::Payload, ctx: &Context) -> Result<(), OpError> {
        let batch = payload.as_views().cloned().ok_or_else(|| {
            OpError::Failed(format!(
                "node `{}`: `monitor` must receive view batches",
                ctx.id()
            ))
        })?;
        let labels = batch.labels.as_ref().ok_or_else(|| {
            OpError::Failed(format!(
                "node `{}`: the monitor images have no labels; the kNN monitor needs a labelled set",
                ctx.id()
            ))
        })?;
        self.labels.extend_from_slice(labels);
        self.batches.push(batch);
        Ok(())
    }

    /// True once every monitor view has arrived.
    pub fn complete(&self) -> bool {
        self.ended && !self.labels.is_empty()
    }

    /// Leave-one-out weighted kNN accuracy of the encoder's features, with `k` neighbours.
    pub fn accuracy(
        &self,
        model: &ContrastiveModel,
        device: &Device,
        k: usize,
        pool: &rayon::ThreadPool,
    ) -> Result<f64, OpError> {
        let mut features = Vec::new();
        let mut dim = 0;
        for batch in &self.batches {
            let x = first_views_to_nhwc(batch, device).map_err(failed)?;
            let f = model.features(&x).map_err(failed)?;
            dim = f.dim(1).map_err(failed)?;
            features.extend(
                f.flatten_all()
                    .and_then(|t| t.to_vec1::<f32>())
                    .map_err(failed)?,
            );
        }
        let rows = UnitRows::normalise(features, dim).map_err(failed)?;
        let k = k.min(rows.len().saturating_sub(1)).max(1);
        let table = exact::search(&rows, k, pool).map_err(failed)?;
        Ok(weighted_knn_accuracy(
            &table,
            &self.labels,
            MONITOR_TEMPERATURE,
        ))
    }
}
