//! The model side of SCAN on candle: compute kernels on channels-last tensors, encoders,
//! heads, losses, optimisers, schedules and checkpoints.

pub mod artifact;
pub mod input;
pub mod kernels;

pub mod checkpoint;
pub mod loss;
pub mod optim;
pub mod schedule;
pub mod train_error;

pub use artifact::ModelArtifact;
