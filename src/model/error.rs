//! Errors of the model side: bad configurations, parameter files that do not fit the model
//! (each problem naming the file and tensor), batches too small to normalise, and devices
//! that are not there.

use std::fmt;
use std::path::PathBuf;

/// Why a model could not be built, loaded, saved or run.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A field of an encoder or head description is out of range.
    #[error("model configuration: `{field}` {message}")]
    Config {
        /// The field, e.g. `SmallCnn.widths`.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// Two parameters were registered under one name (a bug in a model definition).
    #[error("parameter `{name}` is registered twice")]
    DuplicateParam {
        /// The name.
        name: String,
    },
    /// A batch of images has the wrong shape or dtype for the encoder.
    #[error("encoder input: expected {expected}, found {found}")]
    Input {
        /// What the encoder accepts.
        expected: String,
        /// The dtype and shape given.
        found: String,
    },
    /// A parameter file does not fit the model; every problem found is listed.
    #[error("`{}` does not fit the model: {}", path.display(), Problems(problems))]
    Load {
        /// The safetensors file.
        path: PathBuf,
        /// Every missing, unexpected or mis-shaped tensor.
        problems: Vec<TensorProblem>,
    },
    /// A parameter file could not be read or is not safetensors.
    #[error("cannot read `{}`: {message}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O or format error.
        message: String,
    },
    /// A parameter file could not be written.
    #[error("cannot write `{}`: {message}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O or serialisation error.
        message: String,
    },
    /// Batch normalisation in training mode saw one value per channel.
    #[error("batch norm `{layer}` needs more than one value per channel in training mode (batch of 1 at 1×1?)")]
    BatchTooSmall {
        /// The layer's parameter prefix.
        layer: String,
    },
    /// A CUDA device was asked for but this build has no CUDA support.
    #[error("CUDA device {ordinal} requested, but scanflow was built without CUDA; rebuild with `--features cuda`")]
    CudaNotBuilt {
        /// The device ordinal asked for.
        ordinal: usize,
    },
    /// A CUDA device could not be opened.
    #[error("cannot open CUDA device {ordinal}: {source}")]
    Cuda {
        /// The device ordinal asked for.
        ordinal: usize,
        /// candle's error.
        source: candle_core::Error,
    },
    /// A tensor operation failed (shapes inside the model; internal).
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}

/// One way a tensor in a parameter file disagrees with the model.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TensorProblem {
    /// The model has this parameter; the file does not.
    #[error("tensor `{name}` is missing")]
    Missing {
        /// The parameter's name as the file should spell it.
        name: String,
    },
    /// The file has a tensor the model does not know.
    #[error("unexpected tensor `{name}`{}", hint.as_ref().map(|h| format!(" ({h})")).unwrap_or_default())]
    Unexpected {
        /// The name in the file.
        name: String,
        /// A "did you mean" among the missing names, if one is close.
        hint: Option<String>,
    },
    /// The tensor has another shape than the parameter.
    #[error("tensor `{name}` has shape {found:?}, the model expects {expected:?}")]
    Shape {
        /// The name in the file.
        name: String,
        /// The parameter's shape.
        expected: Vec<usize>,
        /// The file's shape.
        found: Vec<usize>,
    },
    /// The tensor is not f32.
    #[error("tensor `{name}` is {found}, the model expects F32")]
    Dtype {
        /// The name in the file.
        name: String,
        /// The file's dtype, as safetensors names it.
        found: String,
    },
}

/// Displays a list of problems separated by semicolons.
struct Problems<'a>(&'a [TensorProblem]);

impl fmt::Display for Problems<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}
