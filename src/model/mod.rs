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

pub mod device;
pub mod encoder;
pub mod error;
pub mod head;
pub mod layers;
pub mod network;
pub mod params;

pub use artifact::ModelArtifact;
pub use encoder::{Encoder, EncoderKind};
pub use error::{ModelError, TensorProblem};
pub use head::{Head, HeadKind};
pub use network::ContrastiveModel;
pub use params::{Init, Params};

pub mod cluster;
pub use cluster::{ClusterArchitecture, ClusterModel, HeadSpec};
