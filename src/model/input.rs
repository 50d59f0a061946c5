//! Turning view batches into encoder input: `[views][batch][C][H][W]` (the augmentation
//! layout) → one channels-last tensor `(views·batch, H, W, C)`, view-major, so rows
//! `v·B..(v+1)·B` are view `v` — the stacking SimCLR's loss expects.

use candle_core::{Device, Result, Tensor};

use crate::data::ViewBatch;

/// The first view of every image in `batch` as a `(B, H, W, C)` tensor on `device` — what
/// evaluation-mode encoding reads (an `Eval` recipe makes one deterministic view).
pub fn first_views_to_nhwc(batch: &ViewBatch, device: &Device) -> Result<Tensor> {
    views_to_nhwc(batch, device)?.narrow(0, 0, batch.batch)
}

/// Every view of every image in `batch` as one `(V·B, H, W, C)` f32 tensor on `device`.
pub fn views_to_nhwc(batch: &ViewBatch, device: &Device) -> Result<Tensor> {
    let (c, h, w) = (
        batch.channels as usize,
        batch.height as usize,
        batch.width as usize,
    );
    let images = batch.views * batch.batch;
    let plane = h * w;
    let mut out = vec![0f32; images * plane * c];
    for (chw, hwc) in batch
        .data
        .chunks_exact(c * plane)
        .zip(out.chunks_exact_mut(c * plane))
    {
        for channel in 0..c {
            let src = &chw[channel * plane..(channel + 1) * plane];
            for (pixel, value) in src.iter().enumerate() {
                hwc[pixel * c + channel] = *value;
            }
        }
    }
    Tensor::from_vec(out, (images, h, w, c), device)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_move_last_and_views_stay_stacked() {
        // 2 views × 1 image × 2 channels × 1×2 pixels; value = 10·view + 2·channel + pixel.
        let data = vec![0., 1., 2., 3., 10., 11., 12., 13.];
        let batch = ViewBatch {
            views: 2,
            batch: 1,
            channels: 2,
            height: 1,
            width: 2,
            data,
            indices: vec![7],
            labels: None,
            epoch: 0,
            epoch_size: 0,
            names: None,
            cropped_from: None,
            eval_views: None,
        };
        let t = views_to_nhwc(&batch, &Device::Cpu).unwrap();
        assert_eq!(t.dims(), &[2, 1, 2, 2]);
        let flat: Vec<f32> = t.flatten_all().unwrap().to_vec1().unwrap();
        assert_eq!(flat, vec![0., 2., 1., 3., 10., 12., 11., 13.]);
    }
}
