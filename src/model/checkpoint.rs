//! Training checkpoints: named tensors (model parameters and buffers, optimiser state) and
//! JSON metadata (epoch, step, RNG state, operator fields, format version) in ONE
//! safetensors file, the metadata under the header's `__metadata__["scanflow"]`.
//!
//! Files are written atomically (temp file, fsync, rename) as
//! `checkpoint-epoch-00012.safetensors` (12 epochs completed); a resumed run picks the
//! newest with [`latest_in`]. Non-finite tensors are refused both ways, so a diverged run
//! can never replace its last good checkpoint.

mod files;
mod format;

pub use files::{checkpoint_path, checkpoints_in, latest_in, remove_checkpoints};

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use candle_core::{Tensor, Var};
use serde::{Deserialize, Serialize};

use crate::model::train_error::{CheckpointError, TrainError};

/// The checkpoint format this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// The metadata of a checkpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointMeta {
    /// The format version ([`FORMAT_VERSION`] when written by this build).
    pub format_version: u32,
    /// Epochs completed; a resumed run starts at this (0-based) epoch.
    pub epoch: usize,
    /// Optimiser steps completed.
    pub step: u64,
    /// The state of the run's random generator (`crate::rng::SplitMix64::state`).
    pub rng_state: u64,
    /// Whatever else the training operator needs to resume (data cursor, settings to check).
    #[serde(default)]
    pub fields: BTreeMap<String, serde_json::Value>,
}

/// A checkpoint in memory: metadata and named tensors (snapshots, not live parameters).
#[derive(Clone, Debug)]
pub struct Checkpoint {
    /// The metadata.
    pub meta: CheckpointMeta,
    tensors: BTreeMap<String, Tensor>,
    origin: PathBuf,
}

impl Checkpoint {
    /// An empty checkpoint after `epoch` epochs and `step` steps, with RNG state `rng_state`.
    pub fn new(epoch: usize, step: u64, rng_state: u64) -> Self {
        let meta = CheckpointMeta {
            format_version: FORMAT_VERSION,
            epoch,
            step,
            rng_state,
            fields: BTreeMap::new(),
        };
        Checkpoint {
            meta,
            tensors: BTreeMap::new(),
            origin: PathBuf::new(),
        }
    }

    /// Stores snapshots of `tensors` as `<prefix><name>` (e.g. prefix `model.` or `optim.`).
    pub fn insert_tensors(
        &mut self,
        prefix: &str,
        tensors: &[(String, Tensor)],
    ) -> candle_core::Result<()> {
        for (name, tensor) in tensors {
            self.tensors
                .insert(format!("{prefix}{name}"), tensor.copy()?);
        }
        Ok(())
    }

    /// Stores snapshots of the values of `vars` as `<prefix><name>`.
    pub fn insert_vars(&mut self, prefix: &str, vars: &[(String, Var)]) -> candle_core::Result<()> {
        for (name, var) in vars {
            self.tensors
                .insert(format!("{prefix}{name}"), var.as_tensor().copy()?);
        }
        Ok(())
    }

    /// The tensor stored as `name`.
    pub fn tensor(&self, name: &str) -> Result<&Tensor, CheckpointError> {
        self.tensors
            .get(name)
            .ok_or_else(|| CheckpointError::MissingTensor {
                path: self.origin.clone(),
                tensor: name.to_string(),
            })
    }

    /// All tensors whose names start with `prefix`, with the prefix removed (e.g. the
    /// optimiser state for `Optimizer::load_state`).
    pub fn tensors_with_prefix(&self, prefix: &str) -> Vec<(String, Tensor)> {
        self.tensors
            .iter()
            .filter_map(|(name, t)| Some((name.strip_prefix(prefix)?.to_string(), t.clone())))
            .collect()
    }

    /// Sets every var of `vars` from the tensor `<prefix><name>`, on the var's device and type;
    /// checks all of them before changing any.
    pub fn restore_vars(
        &self,
        prefix: &str,
        vars: &[(String, Var)],
    ) -> Result<(), CheckpointError> {
        let mut values = Vec::with_capacity(vars.len());
        for (name, var) in vars {
            let key = format!("{prefix}{name}");
            let stored = self.tensor(&key)?;
            if stored.dims() != var.dims() {
                return Err(CheckpointError::ShapeMismatch {
                    path: self.origin.clone(),
                    tensor: key,
                    expected: var.dims().to_vec(),
                    found: stored.dims().to_vec(),
                });
            }
            let value = stored
                .to_device(var.device())
                .and_then(|t| t.to_dtype(var.dtype()));
            values.push(value.map_err(|source| self.tensor_error(&key, source))?);
        }
        for ((name, var), value) in vars.iter().zip(values) {
            var.set(&value)
                .map_err(|source| self.tensor_error(&format!("{prefix}{name}"), source))?;
        }
        Ok(())
    }

    /// Writes the checkpoint to `path` atomically; refuses non-finite tensors.
    pub fn save(&self, path: &Path) -> Result<(), CheckpointError> {
        let bytes = format::encode(&self.meta, &self.tensors, path)?;
        let (head, tail) = bytes.split_at(bytes.len() / 2);
        crate::fsutil::write_atomic_with(path, |out| {
            out.write_all(head)?;
            out.flush()?;
            crate::fault::crash_point(crate::fault::CHECKPOINT_WRITE);
            out.write_all(tail)
        })
        .map_err(|source| CheckpointError::Io {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Writes the checkpoint as [`checkpoint_path`]`(folder, meta.epoch)`, then deletes older
    /// checkpoints so that `keep` (at least 1) remain; later epochs are never touched.
    pub fn save_in(&self, folder: &Path, keep: usize) -> Result<PathBuf, CheckpointError> {
        let path = checkpoint_path(folder, self.meta.epoch);
        self.save(&path)?;
        files::prune(folder, self.meta.epoch, keep.max(1))?;
        Ok(path)
    }

    /// Reads a checkpoint; its tensors are on the CPU.
    pub fn load(path: &Path) -> Result<Checkpoint, CheckpointError> {
        let bytes = std::fs::read(path).map_err(|source| CheckpointError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let (meta, tensors) = format::decode(&bytes, path)?;
        Ok(Checkpoint {
            meta,
            tensors,
            origin: path.to_path_buf(),
        })
    }

    fn tensor_error(&self, tensor: &str, source: candle_core::Error) -> CheckpointError {
        CheckpointError::Tensor {
            path: self.origin.clone(),
            tensor: tensor.to_string(),
            source,
        }
    }
}

/// `Ok` for a finite loss; otherwise the error that stops the run, naming `epoch` and `step`.
pub fn check_finite(loss: f32, epoch: usize, step: u64) -> Result<(), TrainError> {
    if loss.is_finite() {
        Ok(())
    } else {
        Err(TrainError::NonFiniteLoss {
            epoch,
            step,
            value: loss,
        })
    }
}

#[cfg(test)]
mod tests;
