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
    /// The views of a multi-view pipeline come out at different sizes.
    #[error("augmentation views must share one size, but view {view} is {got:?} against view 0's {expected:?} (width, height)")]
    ViewSizes {
        /// The first view whose size differs.
        view: usize,
        /// Its output size.
        got: (u32, u32),
        /// View 0's output size.
        expected: (u32, u32),
    },
}
