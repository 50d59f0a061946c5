//! Safetensors in and out for [`Params`]. Saving writes every tensor (or those under a
//! prefix) under its full name, atomically. Loading checks every name, shape and dtype
//! before it changes anything, and reports all problems at once, naming file and tensor.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Tensor, Var};
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};

use super::Params;
use crate::diagnostic::did_you_mean;
use crate::model::error::{ModelError, TensorProblem};

impl Params {
    /// Writes every tensor to a safetensors file.
    pub fn save(&self, path: &Path) -> Result<(), ModelError> {
        self.save_prefix(path, "")
    }

    /// Writes the tensors whose names start with `prefix`, under their full names.
    pub fn save_prefix(&self, path: &Path, prefix: &str) -> Result<(), ModelError> {
        let tensors = self
            .iter()
            .filter(|(name, _)| name.starts_with(prefix))
            .map(|(name, var)| (name, var.as_tensor()));
        let metadata = HashMap::from([("layout".to_string(), "NHWC".to_string())]);
        let write_error = |message: String| ModelError::Write {
            path: path.to_path_buf(),
            message,
        };
        let bytes = safetensors::serialize(tensors, Some(metadata))
            .map_err(|e| write_error(e.to_string()))?;
        crate::fsutil::write_atomic(path, &bytes).map_err(|e| write_error(e.to_string()))
    }

    /// Loads every tensor from a file that must hold exactly this store's names, shapes
    /// and dtype (f32).
    pub fn load(&self, path: &Path) -> Result<(), ModelError> {
        self.load_prefix(path, "")
    }

    /// Loads the tensors whose names start with `prefix`. The file may spell them in full
    /// (`encoder.conv1.weight`; tensors outside the prefix, such as a head, are then
    /// ignored) or without the prefix (`conv1.weight`, a user's encoder-only file); it is
    /// read in the first form when any of its names starts with `prefix`.
    pub fn load_prefix(&self, path: &Path, prefix: &str) -> Result<(), ModelError> {
        let bytes = std::fs::read(path).map_err(|e| read_error(path, e.to_string()))?;
        let file = SafeTensors::deserialize(&bytes).map_err(|e| read_error(path, e.to_string()))?;
        let full_names = prefix.is_empty() || file.names().iter().any(|n| n.starts_with(prefix));
        let wanted: Vec<(String, &Var)> = self
            .iter()
            .filter_map(|(name, var)| {
                let rest = name.strip_prefix(prefix)?;
                Some((if full_names { name } else { rest }.to_string(), var))
            })
            .collect();
        let views = check(&file, &wanted, |n| !full_names || n.starts_with(prefix)).map_err(
            |problems| ModelError::Load {
                path: path.to_path_buf(),
                problems,
            },
        )?;
        for ((_, var), view) in wanted.iter().zip(views) {
            let tensor =
                Tensor::from_raw_buffer(view.data(), DType::F32, view.shape(), var.device())?;
            var.set(&tensor)?;
        }
        Ok(())
    }
}

fn read_error(path: &Path, message: String) -> ModelError {
    ModelError::Read {
        path: path.to_path_buf(),
        message,
    }
}

/// The file's view of each wanted tensor, in order, or every problem found: missing,
/// mis-shaped or non-f32 tensors, and names the file holds (among those `considered`)
/// that the model does not.
fn check<'a>(
    file: &SafeTensors<'a>,
    wanted: &[(String, &Var)],
    considered: impl Fn(&str) -> bool,
) -> Result<Vec<TensorView<'a>>, Vec<TensorProblem>> {
    let mut problems = Vec::new();
    let mut views = Vec::new();
    for (name, var) in wanted {
        match file.tensor(name) {
            Ok(view) => {
                problems.extend(fit(name, var.dims(), &view));
                views.push(view);
            }
            Err(_) => problems.push(TensorProblem::Missing { name: name.clone() }),
        }
    }
    let missing: Vec<String> = problems
        .iter()
        .filter_map(|p| match p {
            TensorProblem::Missing { name } => Some(name.clone()),
            _ => None,
        })
        .collect();
    problems.extend(unexpected(file, wanted, considered, &missing));
    if problems.is_empty() {
        Ok(views)
    } else {
        Err(problems)
    }
}

/// The names the file holds (among those `considered`) that no wanted tensor has, sorted,
/// each with a "did you mean" among the `missing` names.
fn unexpected(
    file: &SafeTensors,
    wanted: &[(String, &Var)],
    considered: impl Fn(&str) -> bool,
    missing: &[String],
) -> Vec<TensorProblem> {
    let mut names: Vec<&str> = file.names().into_iter().filter(|n| considered(n)).collect();
    names.retain(|n| !wanted.iter().any(|(w, _)| w == n));
    names.sort_unstable();
    names
        .into_iter()
        .map(|name| TensorProblem::Unexpected {
            name: name.to_string(),
            hint: did_you_mean(name, missing.iter().map(String::as_str)),
        })
        .collect()
}

/// The problem with one tensor of the file, if its dtype or shape does not fit.
fn fit(name: &str, expected: &[usize], view: &TensorView) -> Option<TensorProblem> {
    if view.dtype() != Dtype::F32 {
        Some(TensorProblem::Dtype {
            name: name.to_string(),
            found: format!("{:?}", view.dtype()),
        })
    } else if view.shape() != expected {
        Some(TensorProblem::Shape {
            name: name.to_string(),
            expected: expected.to_vec(),
            found: view.shape().to_vec(),
        })
    } else {
        None
    }
}
