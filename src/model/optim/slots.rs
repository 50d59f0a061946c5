//! The per-parameter bookkeeping both optimisers share: each parameter with its weight
//! decay, its state buffers (zeros until the first step) and how many updates it received;
//! export to and import from named tensors for checkpoints.

use std::collections::{HashMap, HashSet};

use candle_core::backprop::GradStore;
use candle_core::{bail, DType, Tensor, Var};

use crate::model::train_error::TrainError;

/// The name of the scalar that counts calls to `step`.
const STEPS: &str = "steps";

/// One parameter and its optimiser state.
pub(crate) struct Slot {
    /// The parameter's name.
    pub name: String,
    /// The parameter.
    pub var: Var,
    /// The weight decay applied to it (0 for exempt biases and batch-norm parameters).
    pub weight_decay: f64,
    /// Its state buffers, in the order of the optimiser's buffer names.
    pub buffers: Vec<Tensor>,
    /// How many updates it has received (Adam's bias-correction step `t`).
    pub updates: u64,
}

/// All parameters of one optimiser, with the buffer names it keeps per parameter.
pub(crate) struct Slots {
    /// The parameters, in the order given.
    pub slots: Vec<Slot>,
    /// Calls to `step` so far.
    pub steps: u64,
    buffer_names: &'static [&'static str],
}

impl Slots {
    /// Slots for `params` with zeroed `buffer_names`; rank ≤ 1 tensors get no weight decay
    /// unless `decay_bn_and_bias`.
    pub fn new(
        params: &[(String, Var)],
        buffer_names: &'static [&'static str],
        weight_decay: f64,
        decay_bn_and_bias: bool,
    ) -> Result<Self, TrainError> {
        let mut seen = HashSet::new();
        let mut slots = Vec::with_capacity(params.len());
        for (name, var) in params {
            if !seen.insert(name.as_str()) {
                return Err(TrainError::DuplicateParameter { name: name.clone() });
            }
            let exempt = var.rank() <= 1 && !decay_bn_and_bias;
            let buffers = buffer_names
                .iter()
                .map(|_| var.zeros_like())
                .collect::<candle_core::Result<_>>()?;
            let weight_decay = if exempt { 0.0 } else { weight_decay };
            slots.push(Slot {
                name: name.clone(),
                var: var.clone(),
                weight_decay,
                buffers,
                updates: 0,
            });
        }
        Ok(Slots {
            slots,
            steps: 0,
            buffer_names,
        })
    }

    /// Counts one step and runs `update` on every parameter that has a gradient in `grads`,
    /// after counting its update (so `slot.updates` is the 1-based update number `t`).
    pub fn update_each(
        &mut self,
        grads: &GradStore,
        mut update: impl FnMut(&mut Slot, &Tensor) -> candle_core::Result<()>,
    ) -> candle_core::Result<()> {
        for slot in &mut self.slots {
            let Some(grad) = grads.get(slot.var.as_tensor()) else {
                continue;
            };
            if grad.dims() != slot.var.dims() {
                bail!(
                    "gradient of `{}` has shape {:?} but the parameter has {:?}",
                    slot.name,
                    grad.dims(),
                    slot.var.dims()
                );
            }
            slot.updates += 1;
            update(slot, grad)?;
        }
        self.steps += 1;
        Ok(())
    }

    /// Copies of every buffer as `<parameter>.<buffer>`, each parameter's update count as
    /// `<parameter>.updates`, and the step count as `steps` (counts as `f64` scalars).
    pub fn export(&self) -> candle_core::Result<Vec<(String, Tensor)>> {
        let mut state = vec![(STEPS.to_string(), count(self.steps)?)];
        for slot in &self.slots {
            let (buffer_names, updates_name) = self.names(slot);
            for (name, tensor) in buffer_names.into_iter().zip(&slot.buffers) {
                state.push((name, tensor.copy()?));
            }
            state.push((updates_name, count(slot.updates)?));
        }
        Ok(state)
    }

    /// Restores what [`Slots::export`] wrote, onto each parameter's device and type. Nothing
    /// changes unless every entry is present, fits, and no entry is left over.
    pub fn import(&mut self, state: &[(String, Tensor)]) -> Result<(), TrainError> {
        let by_name: HashMap<&str, &Tensor> = state.iter().map(|(n, t)| (n.as_str(), t)).collect();
        let mut expected = HashSet::from([STEPS.to_string()]);
        let steps = read_count(&by_name, STEPS)?;
        let mut restored = Vec::with_capacity(self.slots.len());
        for slot in &self.slots {
            let (buffer_names, updates_name) = self.names(slot);
            let buffers = buffer_names
                .iter()
                .map(|name| read_buffer(&by_name, name, &slot.var))
                .collect::<Result<Vec<_>, _>>()?;
            restored.push((buffers, read_count(&by_name, &updates_name)?));
            expected.extend(buffer_names);
            expected.insert(updates_name);
        }
        if let Some((name, _)) = state.iter().find(|(n, _)| !expected.contains(n)) {
            return Err(TrainError::UnexpectedState { name: name.clone() });
        }
        for (slot, (buffers, updates)) in self.slots.iter_mut().zip(restored) {
            slot.buffers = buffers;
            slot.updates = updates;
        }
        self.steps = steps;
        Ok(())
    }

    /// The state names of `slot`: its buffers', and its update count's.
    fn names(&self, slot: &Slot) -> (Vec<String>, String) {
        let buffers = self
            .buffer_names
            .iter()
            .map(|b| format!("{}.{b}", slot.name))
            .collect();
        (buffers, format!("{}.updates", slot.name))
    }
}

/// A count as an `f64` scalar tensor (exact up to 2⁵³).
fn count(value: u64) -> candle_core::Result<Tensor> {
    Tensor::new(value as f64, &candle_core::Device::Cpu)
}

/// The count stored under `name`; it must be a non-negative whole number.
fn read_count(by_name: &HashMap<&str, &Tensor>, name: &str) -> Result<u64, TrainError> {
    let tensor = by_name.get(name).ok_or_else(|| TrainError::MissingState {
        name: name.to_string(),
    })?;
    if tensor.elem_count() != 1 {
        return Err(TrainError::ShapeMismatch {
            name: name.to_string(),
            expected: vec![],
            found: tensor.dims().to_vec(),
        });
    }
    let value = tensor
        .flatten_all()?
        .to_dtype(DType::F64)?
        .to_vec1::<f64>()?[0];
    if !(value >= 0.0 && value.fract() == 0.0 && value < 2f64.powi(53)) {
        return Err(TrainError::InvalidState {
            name: name.to_string(),
            message: format!("{value} is not a whole number ≥ 0"),
        });
    }
    Ok(value as u64)
}

/// An independent copy of the buffer stored under `name`, on `var`'s device and type.
fn read_buffer(
    by_name: &HashMap<&str, &Tensor>,
    name: &str,
    var: &Var,
) -> Result<Tensor, TrainError> {
    let tensor = by_name.get(name).ok_or_else(|| TrainError::MissingState {
        name: name.to_string(),
    })?;
    if tensor.dims() != var.dims() {
        return Err(TrainError::ShapeMismatch {
            name: name.to_string(),
            expected: var.dims().to_vec(),
            found: tensor.dims().to_vec(),
        });
    }
    Ok(tensor
        .to_device(var.device())?
        .to_dtype(var.dtype())?
        .copy()?)
}
