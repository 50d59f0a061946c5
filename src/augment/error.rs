//! Errors raised while building an augmentation pipeline or augmenting a batch.

/// An error in an augmentation pipeline's configuration or input.
#[derive(Debug, thiserror::Error)]
pub enum AugmentError {
    /// An operation's parameters are out of range.
    #[error("augmentation `{op}`: {message}")]
    InvalidOp {
        /// The operation's name, as written in RON.
        op: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The batch's images are not 3-channel RGB.
    #[error("augmentation input must have 3 channels (RGB), got {channels}")]
    Channels {
        /// The batch's channel count.
        channels: u32,
    },
    /// The input images are empty (zero width or height).
    #[error("augmentation input images are {width}x{height}; both sides must be at least 1")]
    EmptyImage {
        /// Input width.
        width: u32,
        /// Input height.
        height: u32,
    },
}
