//! Data augmentation: torchvision-, PIL- and Keras-compatible image operations on `f32` RGB in
//! `[0, 1]`, named recipes (SimCLR, SCAN's strong augmentation, the Keras clustering example)
//! and the multi-view batch kernel.
//!
//! ```text
//! ImageBatch (u8 NHWC) ──augment_batch(Pipeline, views)──> f32 [views][batch][3][H][W]
//! ```
//!
//! Each (image, view) pair is augmented on a worker's reused [`Scratch`] (HWC), with a
//! generator seeded from `(seed, epoch, dataset index, view)`; the final write transposes to
//! CHW.

pub mod batch;
pub mod color;
pub mod crop;
pub mod error;
pub mod filter;
pub mod image;
pub mod op;
pub mod pipeline;
pub mod randaugment;
pub mod recipe;
pub mod resample;
mod validate;
pub mod warp;

pub use batch::{augment_batch, augment_sources, sample_rng, Draw};
pub use error::AugmentError;
pub use image::{Image, Scratch};
pub use op::AugmentOp;
pub use pipeline::Pipeline;
pub use recipe::Recipe;

#[cfg(test)]
mod tests;
