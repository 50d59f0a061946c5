//! The parameter store: named tensors in insertion order, trainable [`Var`]s (what an
//! optimiser updates) kept apart from buffers (batch-norm running statistics, which only
//! checkpoints need), with seeded initialisation and safetensors in and out.
//!
//! Layers hold clones of the store's `Var`s (they share storage), so loading a file or an
//! optimiser step updates every layer at once.
#![doc = include_str!("../MODEL_FORMAT.md")]

mod init;
mod io;
#[cfg(test)]
mod tests;

use candle_core::{Device, Tensor, Var};

pub use init::Init;

use super::error::ModelError;

/// Named model parameters: trainables and buffers, each list in insertion order.
#[derive(Debug)]
pub struct Params {
    device: Device,
    seed: u64,
    trainables: Vec<(String, Var)>,
    buffers: Vec<(String, Var)>,
}

impl Params {
    /// An empty store whose tensors will live on `device` and draw from `seed`.
    pub fn new(seed: u64, device: &Device) -> Self {
        Params {
            device: device.clone(),
            seed,
            trainables: Vec::new(),
            buffers: Vec::new(),
        }
    }

    /// The device every tensor lives on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The seed initial values derive from.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Registers a trainable f32 parameter and returns it initialised.
    pub fn trainable(
        &mut self,
        name: &str,
        shape: &[usize],
        init: Init,
    ) -> Result<Var, ModelError> {
        let var = self.create(name, shape, init)?;
        self.trainables.push((name.to_string(), var.clone()));
        Ok(var)
    }

    /// Registers a non-trainable f32 buffer (saved and loaded, never optimised).
    pub fn buffer(&mut self, name: &str, shape: &[usize], init: Init) -> Result<Var, ModelError> {
        let var = self.create(name, shape, init)?;
        self.buffers.push((name.to_string(), var.clone()));
        Ok(var)
    }

    fn create(&self, name: &str, shape: &[usize], init: Init) -> Result<Var, ModelError> {
        if self.get(name).is_some() {
            return Err(ModelError::DuplicateParam {
                name: name.to_string(),
            });
        }
        let count = shape.iter().product();
        let values = init.values(count, self.seed, name);
        let tensor = Tensor::from_vec(values, shape, &self.device)?;
        Ok(Var::from_tensor(&tensor)?)
    }

    /// The trainable parameters, in insertion order (what an optimiser steps).
    pub fn trainables(&self) -> &[(String, Var)] {
        &self.trainables
    }

    /// The buffers, in insertion order.
    pub fn buffers(&self) -> &[(String, Var)] {
        &self.buffers
    }

    /// Every tensor: the trainables, then the buffers.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Var)> {
        self.trainables
            .iter()
            .chain(&self.buffers)
            .map(|(name, var)| (name.as_str(), var))
    }

    /// The tensor registered under `name`, trainable or buffer.
    pub fn get(&self, name: &str) -> Option<&Var> {
        self.iter().find(|(n, _)| *n == name).map(|(_, var)| var)
    }

    /// How many scalars the trainable parameters hold (what papers call the parameter count).
    pub fn trainable_count(&self) -> usize {
        self.trainables.iter().map(|(_, v)| v.elem_count()).sum()
    }

    /// How many scalars the buffers hold.
    pub fn buffer_count(&self) -> usize {
        self.buffers.iter().map(|(_, v)| v.elem_count()).sum()
    }
}
