//! The contrastive model SCAN's pretext task trains: encoder → projection head → L2
//! normalisation, `(B,H,W,3)` → `(B, out)` with unit rows. One [`Params`] store holds
//! everything, the encoder's tensors named `encoder.…`, the head's `head.…`.

#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use candle_core::{Device, Tensor};

use super::encoder::{Encoder, EncoderKind};
use super::error::ModelError;
use super::head::{Head, HeadKind};
use super::params::Params;
use crate::hash::StableHasher;

/// Prefix of the encoder's tensor names.
pub const ENCODER_PREFIX: &str = "encoder.";
/// Prefix of the head's tensor names.
pub const HEAD_PREFIX: &str = "head.";

/// Encoder, projection head and their parameters.
#[derive(Debug)]
pub struct ContrastiveModel {
    encoder: Encoder,
    head: Head,
    params: Params,
    train_steps: AtomicU64,
}

impl ContrastiveModel {
    /// Builds and initialises the model on `device`; the same `seed` gives the same
    /// weights.
    pub fn new(
        encoder: &EncoderKind,
        head: &HeadKind,
        seed: u64,
        device: &Device,
    ) -> Result<Self, ModelError> {
        let mut params = Params::new(seed, device);
        let encoder = Encoder::new(encoder, &mut params, ENCODER_PREFIX)?;
        let head = Head::new(head, &mut params, HEAD_PREFIX, encoder.out_dim())?;
        Ok(ContrastiveModel {
            encoder,
            head,
            params,
            train_steps: AtomicU64::new(0),
        })
    }

    /// L2-normalised projections `(B, out)`. In training, batch norms use (and update)
    /// batch statistics and dropout draws from a seed derived from the model seed and the
    /// number of training forwards so far, which this call increments.
    pub fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor, ModelError> {
        let features = self.encoder.forward(x, train)?;
        let seed = if train { self.next_dropout_seed() } else { 0 };
        l2_normalise(&self.head.forward(&features, train, seed)?)
    }

    /// Encoder features `(B, D)` in evaluation mode (running statistics).
    pub fn features(&self, x: &Tensor) -> Result<Tensor, ModelError> {
        self.encoder.forward(x, false)
    }

    fn next_dropout_seed(&self) -> u64 {
        let step = self.train_steps.fetch_add(1, Ordering::Relaxed);
        StableHasher::default()
            .write(&self.params.seed().to_le_bytes())
            .write_str("dropout")
            .write(&step.to_le_bytes())
            .finish()
    }

    /// Training forwards so far (what a checkpoint must keep for dropout to resume).
    pub fn train_steps(&self) -> u64 {
        self.train_steps.load(Ordering::Relaxed)
    }

    /// Restores the training-forward count from a checkpoint.
    pub fn set_train_steps(&self, steps: u64) {
        self.train_steps.store(steps, Ordering::Relaxed);
    }

    /// The encoder.
    pub fn encoder(&self) -> &Encoder {
        &self.encoder
    }

    /// The projection head.
    pub fn head(&self) -> &Head {
        &self.head
    }

    /// Every parameter and buffer.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// Saves the whole model (encoder and head, with running statistics).
    pub fn save(&self, path: &Path) -> Result<(), ModelError> {
        self.params.save(path)
    }

    /// Saves the encoder alone, its names keeping the `encoder.` prefix.
    pub fn save_encoder(&self, path: &Path) -> Result<(), ModelError> {
        self.params.save_prefix(path, ENCODER_PREFIX)
    }

    /// Loads a whole model saved by [`ContrastiveModel::save`].
    pub fn load(&self, path: &Path) -> Result<(), ModelError> {
        self.params.load(path)
    }

    /// Loads the encoder from a whole-model file, an encoder file, or a user's file whose
    /// names lack the `encoder.` prefix (see the tensor names in `model::params`).
    pub fn load_encoder(&self, path: &Path) -> Result<(), ModelError> {
        self.params.load_prefix(path, ENCODER_PREFIX)
    }
}

/// Rows divided by their norm (at least 1e-12, as `torch.nn.functional.normalize`).
pub(crate) fn l2_normalise(z: &Tensor) -> Result<Tensor, ModelError> {
    let norm = z.sqr()?.sum_keepdim(1)?.sqrt()?.maximum(1e-12)?;
    Ok(z.broadcast_div(&norm)?)
}
