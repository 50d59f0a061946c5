//! The model side of SCAN on candle: compute kernels on channels-last tensors, encoders,
//! heads, losses, optimisers, schedules and checkpoints.

pub mod kernels;

pub mod device;
pub mod encoder;
pub mod error;
pub mod head;
pub mod layers;
pub mod network;
pub mod params;

pub use encoder::{Encoder, EncoderKind};
pub use error::{ModelError, TensorProblem};
pub use head::{Head, HeadKind};
pub use network::ContrastiveModel;
pub use params::{Init, Params};
