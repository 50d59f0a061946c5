//! `ChannelStats`: per-channel mean and standard deviation of every pixel it receives
//! (values scaled to [0, 1]), as a metrics document — what a `Normalize` step needs,
//! like Keras' `Normalization.adapt`.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{BuildContext, InputPort, Operator, ParamDoc, ParamError};
use crate::data::ImageBatch;
use crate::payload::{Payload, PortType};
use crate::runtime::{Context, OpError};

/// Parameters of [`ChannelStats`] (none).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelStatsParams {}

/// The `ChannelStats` operator.
pub struct ChannelStats;

/// Running sums of one channel, in f64 so 10⁸ pixels lose no precision.
#[derive(Clone, Copy, Default)]
struct Sums {
    sum: f64,
    squares: f64,
}

impl Operator for ChannelStats {
    type Params = ChannelStatsParams;
    const NAME: &'static str = "ChannelStats";
    const SUMMARY: &'static str = "Computes the per-channel mean and standard deviation of all pixels it receives (scaled to [0, 1]).";
    const PARAMS: &'static [ParamDoc] = &[];
    const INPUTS: &'static [InputPort] = &[InputPort {
        field: "input",
        payload: PortType::Images,
        required: true,
        doc: "the images to measure",
    }];
    const OUTPUT: Option<PortType> = Some(PortType::Metrics);

    fn build(_params: ChannelStatsParams, _ctx: &BuildContext) -> Result<Self, Vec<ParamError>> {
        Ok(ChannelStats)
    }

    fn run(self, ctx: &mut Context) -> Result<(), OpError> {
        let mut sums: Vec<Sums> = Vec::new();
        let (mut images, mut pixels) = (0u64, 0u64);
        while let Some(batch) = ctx.recv_images("input")? {
            accumulate(&batch, &mut sums);
            images += batch.len() as u64;
            pixels += u64::from(batch.height * batch.width) * batch.len() as u64;
        }
        if images == 0 {
            return Err(OpError::Failed("received no image".into()));
        }
        ctx.send(Payload::Metrics(summarise(&sums, images, pixels).into()))
    }
}

fn accumulate(batch: &ImageBatch, sums: &mut Vec<Sums>) {
    let channels = batch.channels as usize;
    sums.resize(channels, Sums::default());
    let mut local = vec![(0u64, 0u64); channels];
    for pixel in batch.pixels.chunks_exact(channels) {
        for (acc, &v) in local.iter_mut().zip(pixel) {
            acc.0 += u64::from(v);
            acc.1 += u64::from(v) * u64::from(v);
        }
    }
    for (s, (sum, squares)) in sums.iter_mut().zip(local) {
        s.sum += sum as f64 / 255.0;
        s.squares += squares as f64 / (255.0 * 255.0);
    }
}

/// Mean and (population) standard deviation per channel over `pixels` pixels.
fn summarise(sums: &[Sums], images: u64, pixels: u64) -> serde_json::Value {
    let n = pixels as f64;
    let mean: Vec<f64> = sums.iter().map(|s| s.sum / n).collect();
    let std: Vec<f64> = sums
        .iter()
        .zip(&mean)
        .map(|(s, m)| (s.squares / n - m * m).max(0.0).sqrt())
        .collect();
    json!({ "images": images, "pixels": pixels, "mean": mean, "std": std })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn accumulates_exact_sums() {
        let batch = ImageBatch {
            height: 1,
            width: 2,
            channels: 3,
            pixels: vec![0, 255, 51, 255, 255, 102],
            indices: vec![0],
            labels: None,
            classes: Arc::from(Vec::new()),
            epoch: 0,
            epoch_size: 0,
            store: None,
            names: None,
        };
        let mut sums = Vec::new();
        accumulate(&batch, &mut sums);
        assert!((sums[0].sum - 1.0).abs() < 1e-12);
        assert!((sums[1].squares - 2.0).abs() < 1e-12);
        assert!((sums[2].sum - 0.6).abs() < 1e-12);
        // Channel 0 holds 0 and 1: mean 0.5, population std 0.5; channel 1 is constant.
        let doc = summarise(&sums, 1, 2);
        assert_eq!(doc["mean"][0], 0.5);
        assert_eq!(doc["std"][0], 0.5);
        assert_eq!(doc["std"][1], 0.0);
    }
}
