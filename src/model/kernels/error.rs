//! Errors of the fast CPU kernels: tensors whose shapes do not fit the operation. Every
//! variant names the operation and the tensor at fault; they reach callers wrapped in
//! `candle_core::Error` so the kernel functions keep candle's `Result`.

/// Why a kernel refused its operands.
#[derive(Debug, thiserror::Error)]
pub enum KernelError {
    /// A tensor has the wrong number of dimensions.
    #[error("{op}: {tensor} must have {expected} dimensions, found shape {found:?}")]
    Rank {
        /// The operation.
        op: &'static str,
        /// The tensor at fault.
        tensor: &'static str,
        /// Dimensions wanted.
        expected: usize,
        /// The shape found.
        found: Vec<usize>,
    },
    /// The input and the weight disagree on the number of input channels.
    #[error("{op}: input x has {x_channels} channels but weight w expects {w_channels}")]
    Channels {
        /// The operation.
        op: &'static str,
        /// Channels of `x` (last dimension).
        x_channels: usize,
        /// Channels of `w` (last dimension).
        w_channels: usize,
    },
    /// The kernel window does not fit the padded input, or the stride is zero.
    #[error(
        "{op}: a {kh}×{kw} kernel with stride {stride} and padding {padding} does not fit \
         input x of {height}×{width}"
    )]
    Window {
        /// The operation.
        op: &'static str,
        /// Kernel height.
        kh: usize,
        /// Kernel width.
        kw: usize,
        /// Stride.
        stride: usize,
        /// Zero padding on each side.
        padding: usize,
        /// Input height.
        height: usize,
        /// Input width.
        width: usize,
    },
    /// A per-channel parameter does not have one value per channel.
    #[error("{op}: {tensor} must have shape [{channels}], found {found:?}")]
    PerChannel {
        /// The operation.
        op: &'static str,
        /// The tensor at fault (`gamma`, `beta`, …).
        tensor: &'static str,
        /// Channels of the input.
        channels: usize,
        /// The shape found.
        found: Vec<usize>,
    },
    /// An operand reached a CPU operation without a contiguous layout.
    #[error("{op}: {tensor} is not contiguous")]
    NotContiguous {
        /// The operation.
        op: &'static str,
        /// The tensor at fault.
        tensor: &'static str,
    },
}

impl From<crate::linalg::ShapeMismatch> for candle_core::Error {
    fn from(error: crate::linalg::ShapeMismatch) -> Self {
        candle_core::Error::wrap(error)
    }
}

impl From<KernelError> for candle_core::Error {
    fn from(error: KernelError) -> Self {
        candle_core::Error::wrap(error)
    }
}
