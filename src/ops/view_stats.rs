//! `ViewStats`: per-channel mean and standard deviation of every augmented view it receives
//! — a check that a recipe's normalisation does what it should (≈ 0 and ≈ 1) — and a sink
//! that consumes a whole view stream, e.g. to measure the data path alone.

use serde_json::json;

use super::{BuildContext, ChannelStatsParams, InputPort, Operator, ParamDoc, ParamError};
use crate::data::ViewBatch;
use crate::payload::{Payload, PortType};
use crate::runtime::{Context, OpError};

/// The `ViewStats` operator.
pub struct ViewStats;

/// Running sums of one channel.
#[derive(Clone, Copy, Default)]
struct Sums {
    count: f64,
    sum: f64,
    squares: f64,
}

impl Operator for ViewStats {
    type Params = ChannelStatsParams;
    const NAME: &'static str = "ViewStats";
    const SUMMARY: &'static str =
        "Computes the per-channel mean and standard deviation of all augmented views it receives.";
    const PARAMS: &'static [ParamDoc] = &[];
    const INPUTS: &'static [InputPort] = &[InputPort {
        field: "input",
        payload: PortType::Views,
        required: true,
        doc: "the views",
    }];
    const OUTPUT: Option<PortType> = Some(PortType::Metrics);

    fn build(_params: ChannelStatsParams, _ctx: &BuildContext) -> Result<Self, Vec<ParamError>> {
        Ok(ViewStats)
    }

    fn run(self, ctx: &mut Context) -> Result<(), OpError> {
        let mut sums = [Sums::default(); 3];
        let mut views = 0u64;
        while let Some(payload) = ctx.recv("input")? {
            if let Some(batch) = payload.as_views() {
                accumulate(batch, &mut sums);
                views += (batch.views * batch.batch) as u64;
            }
        }
        if views == 0 {
            return Err(OpError::Failed("received no view".into()));
        }
        let mean: Vec<f64> = sums.iter().map(|s| s.sum / s.count).collect();
        let std: Vec<f64> = sums
            .iter()
            .zip(&mean)
            .map(|(s, m)| (s.squares / s.count - m * m).max(0.0).sqrt())
            .collect();
        ctx.send(Payload::Metrics(
            json!({ "views": views, "mean": mean, "std": std }).into(),
        ))
    }
}

fn accumulate(batch: &ViewBatch, sums: &mut [Sums; 3]) {
    let plane = (batch.width * batch.height) as usize;
    for chw in batch.data.chunks_exact(batch.view_len()) {
        for (channel, values) in chw.chunks_exact(plane).enumerate().take(3) {
            let (sum, squares) = values.iter().fold((0.0f64, 0.0f64), |(s, q), &v| {
                (s + f64::from(v), q + f64::from(v) * f64::from(v))
            });
            sums[channel].count += plane as f64;
            sums[channel].sum += sum;
            sums[channel].squares += squares;
        }
    }
}
