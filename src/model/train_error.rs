//! Errors of the training side: a diverged loss, optimiser state that does not fit its
//! parameters, and checkpoints that cannot be written or read (every variant names the file,
//! tensor or field involved).

use std::path::PathBuf;

/// An error while training: divergence, optimiser state, or a checkpoint.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// The loss became NaN or infinite; the run stops and the last good checkpoint is kept.
    #[error(
        "loss is {value} at epoch {epoch}, step {step}: training diverged (lower the learning \
         rate or check the inputs); the last good checkpoint is kept"
    )]
    NonFiniteLoss {
        /// The epoch (0-based) in which the loss diverged.
        epoch: usize,
        /// The global optimiser step (0-based) at which it diverged.
        step: u64,
        /// The offending loss value.
        value: f32,
    },
    /// Optimiser state to restore lacks an entry the optimiser needs.
    #[error("optimiser state `{name}` is missing")]
    MissingState {
        /// The state entry's name (`<parameter>.<buffer>` or `steps`).
        name: String,
    },
    /// Optimiser state holds an entry no parameter of this optimiser owns.
    #[error("optimiser state `{name}` belongs to no parameter of this optimiser")]
    UnexpectedState {
        /// The state entry's name.
        name: String,
    },
    /// An optimiser state entry holds a value it cannot have.
    #[error("optimiser state `{name}`: {message}")]
    InvalidState {
        /// The state entry's name.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// An optimiser state tensor has the wrong shape.
    #[error("`{name}` has shape {found:?} but {expected:?} was expected")]
    ShapeMismatch {
        /// The tensor's name.
        name: String,
        /// The shape required by the parameter.
        expected: Vec<usize>,
        /// The shape found.
        found: Vec<usize>,
    },
    /// An optimiser setting is out of its range.
    #[error("optimiser setting `{field}` is {value}, but it must be {expected}")]
    InvalidHyperparameter {
        /// The setting's name as written in RON (`lr`, `momentum`, `betas.0`, ...).
        field: &'static str,
        /// The value given.
        value: f64,
        /// The allowed range, in words.
        expected: &'static str,
    },
    /// Two trainable parameters share one name, so their optimiser state could not be told apart.
    #[error("parameter name `{name}` is used twice")]
    DuplicateParameter {
        /// The repeated name.
        name: String,
    },
    /// A checkpoint could not be written or read.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// A tensor operation failed.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}

/// An error while writing or reading a checkpoint file; every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// The file could not be read or written.
    #[error("checkpoint `{}`: {source}", path.display())]
    Io {
        /// The checkpoint file.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file ends before the data its header announces.
    #[error(
        "checkpoint `{}` is truncated: {actual} bytes, but its header needs {expected}",
        path.display()
    )]
    Truncated {
        /// The checkpoint file.
        path: PathBuf,
        /// Bytes the header announces.
        expected: u64,
        /// Bytes present.
        actual: u64,
    },
    /// The file is not a safetensors file.
    #[error("checkpoint `{}` is not a safetensors file: {message}", path.display())]
    NotSafetensors {
        /// The checkpoint file.
        path: PathBuf,
        /// What the parser reported.
        message: String,
    },
    /// The `__metadata__` header is missing or its `scanflow` entry cannot be parsed.
    #[error("checkpoint `{}` has no valid scanflow metadata: {message}", path.display())]
    BadMetadata {
        /// The checkpoint file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The file was written by an incompatible format version.
    #[error(
        "checkpoint `{}` has format version {found}; this build reads version {supported}",
        path.display()
    )]
    WrongVersion {
        /// The checkpoint file.
        path: PathBuf,
        /// The version in the file.
        found: u64,
        /// The version this build reads and writes.
        supported: u32,
    },
    /// A tensor holds NaN or infinite values; such checkpoints are neither written nor read.
    #[error("checkpoint `{}`: tensor `{tensor}` holds NaN or infinite values", path.display())]
    NonFinite {
        /// The checkpoint file.
        path: PathBuf,
        /// The tensor's name.
        tensor: String,
    },
    /// A tensor's element type cannot be stored.
    #[error("checkpoint `{}`: tensor `{tensor}` has unsupported type {dtype}", path.display())]
    UnsupportedDType {
        /// The checkpoint file.
        path: PathBuf,
        /// The tensor's name.
        tensor: String,
        /// The element type.
        dtype: String,
    },
    /// A tensor the caller needs is not in the checkpoint.
    #[error("checkpoint `{}` has no tensor `{tensor}`", path.display())]
    MissingTensor {
        /// The checkpoint file (empty for one not yet saved).
        path: PathBuf,
        /// The tensor's name.
        tensor: String,
    },
    /// A tensor in the checkpoint does not fit the parameter it restores.
    #[error(
        "checkpoint `{}`: tensor `{tensor}` has shape {found:?} but the model needs {expected:?}",
        path.display()
    )]
    ShapeMismatch {
        /// The checkpoint file.
        path: PathBuf,
        /// The tensor's name.
        tensor: String,
        /// The parameter's shape.
        expected: Vec<usize>,
        /// The stored shape.
        found: Vec<usize>,
    },
    /// A tensor operation failed while converting a tensor.
    #[error("checkpoint `{}`: tensor `{tensor}`: {source}", path.display())]
    Tensor {
        /// The checkpoint file.
        path: PathBuf,
        /// The tensor's name.
        tensor: String,
        /// The candle error.
        #[source]
        source: candle_core::Error,
    },
}
