//! The multi-view batch kernel: every (view, image) pair augmented in parallel into one `f32`
//! tensor laid out `[views][batch][3][H][W]` (view-major: view `v` of every image is one
//! contiguous block, ready to feed to an encoder as its own batch).
//!
//! Each pair draws from its own generator, seeded by hashing `(seed, epoch, dataset index,
//! view)`, so results never depend on the pool size or on the order work is scheduled.

use rayon::prelude::*;

use crate::augment::error::AugmentError;
use crate::augment::image::Scratch;
use crate::augment::pipeline::Pipeline;
use crate::data::ImageBatch;
use crate::hash::StableHasher;
use crate::rng::SplitMix64;

/// The generator of view `view` of the image with dataset index `index` in epoch `epoch`.
pub fn sample_rng(seed: u64, epoch: u64, index: u64, view: u64) -> SplitMix64 {
    let mut hasher = StableHasher::default();
    for word in [seed, epoch, index, view] {
        hasher.write(&word.to_le_bytes());
    }
    SplitMix64::new(hasher.finish())
}

/// Augments `views` views of every image of `batch` with `pipeline` on `pool`, writing
/// `views × batch.len() × 3 × H × W` values into `out` (its allocation is reused; its length is
/// set exactly). Returns the output `(width, height)`.
///
/// Each worker keeps one [`Scratch`] across the images it handles, so warm buffers make the
/// hot path allocation-free. The output is identical for every pool size.
pub fn augment_batch(
    pipeline: &Pipeline,
    batch: &ImageBatch,
    views: usize,
    seed: u64,
    epoch: u64,
    pool: &rayon::ThreadPool,
    out: &mut Vec<f32>,
) -> Result<(u32, u32), AugmentError> {
    let sources = |_view: usize, i: usize| batch.image(i);
    let draw = Draw { seed, epoch, views };
    augment_sources(pipeline, batch, draw, &sources, pool, out)
}

/// Which views to draw: `views` per image, from generators keyed by `(seed, epoch, …)`.
#[derive(Clone, Copy, Debug)]
pub struct Draw {
    /// The node's seed.
    pub seed: u64,
    /// The pass over the data.
    pub epoch: u64,
    /// Views per image.
    pub views: usize,
}

/// Like [`augment_batch`], but view `v` of image `i` starts from the pixels
/// `source(v, i)` (same size as `batch`'s images) instead of image `i` itself — e.g. one of
/// its neighbours. The generator stays keyed by image `i`'s dataset index and `v`.
pub fn augment_sources<'a>(
    pipeline: &Pipeline,
    batch: &ImageBatch,
    draw: Draw,
    source: &(dyn Fn(usize, usize) -> &'a [u8] + Sync),
    pool: &rayon::ThreadPool,
    out: &mut Vec<f32>,
) -> Result<(u32, u32), AugmentError> {
    if batch.channels != 3 {
        return Err(AugmentError::Channels {
            channels: batch.channels,
        });
    }
    if batch.width == 0 || batch.height == 0 {
        return Err(AugmentError::EmptyImage {
            width: batch.width,
            height: batch.height,
        });
    }
    let (ow, oh) = pipeline.shared_output_size((batch.width, batch.height))?;
    let per_view = 3 * ow as usize * oh as usize;
    let n = batch.len();
    out.resize(draw.views * n * per_view, 0.0);
    if out.is_empty() {
        return Ok((ow, oh));
    }
    let (w, h) = (batch.width as usize, batch.height as usize);
    pool.install(|| {
        out.par_chunks_mut(per_view).enumerate().for_each_init(
            Scratch::default,
            |s, (k, chunk)| {
                let (view, i) = (k / n, k % n);
                s.image.load_rgb8(source(view, i), w, h);
                let mut rng = sample_rng(draw.seed, draw.epoch, batch.indices[i], view as u64);
                pipeline.apply(view, s, &mut rng);
                s.image.write_chw(chunk);
            },
        );
    });
    Ok((ow, oh))
}
