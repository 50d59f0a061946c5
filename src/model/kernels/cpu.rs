//! Plumbing shared by the CPU operations: contiguous f32 views of candle storage, per-thread
//! scratch buffers and the thread count (the products themselves are [`crate::linalg`]'s).

use std::cell::Cell;
use std::mem::MaybeUninit;

use candle_core::{CpuStorage, Layout, Result};

use super::error::KernelError;

/// The contiguous f32 data of one operand.
pub(super) fn slice<'a>(
    storage: &'a CpuStorage,
    layout: &Layout,
    op: &'static str,
    tensor: &'static str,
) -> Result<&'a [f32]> {
    let data = storage.as_slice::<f32>()?;
    let (start, end) = layout
        .contiguous_offsets()
        .ok_or(KernelError::NotContiguous { op, tensor })?;
    Ok(&data[start..end])
}

/// The dimensions of an operand that must have rank `N`.
pub(super) fn dims<const N: usize>(
    layout: &Layout,
    op: &'static str,
    tensor: &'static str,
) -> Result<[usize; N]> {
    <[usize; N]>::try_from(layout.dims()).map_err(|_| {
        KernelError::Rank {
            op,
            tensor,
            expected: N,
            found: layout.dims().to_vec(),
        }
        .into()
    })
}

/// Compute threads, as candle counts them (`RAYON_NUM_THREADS`, else the CPU count).
pub(super) fn threads() -> usize {
    candle_core::utils::get_num_threads().max(1)
}

/// A vector of `len` floats that `fill` writes without it being zeroed first (an output
/// buffer of tens of MB would otherwise be written twice). `fill` sees the elements as
/// `MaybeUninit`, so it cannot read one it has not written.
///
/// # Safety
/// When `fill` returns `Ok`, it must have written every one of the `len` elements.
pub(super) unsafe fn uninit_vec(
    len: usize,
    fill: impl FnOnce(&mut [MaybeUninit<f32>]) -> Result<()>,
) -> Result<Vec<f32>> {
    let mut out = Vec::<f32>::with_capacity(len);
    fill(&mut out.spare_capacity_mut()[..len])?;
    // SAFETY: the caller guarantees that `fill` initialised all `len` elements.
    unsafe { out.set_len(len) };
    Ok(out)
}

thread_local! {
    static SCRATCH: Cell<Vec<f32>> = const { Cell::new(Vec::new()) };
}

/// Runs `f` on this thread's scratch buffer of `len` floats (stale contents: `f` must write
/// before it reads). The buffer is taken out while `f` runs, so a nested call on the same
/// thread (rayon work stealing inside gemm) simply gets a fresh one.
pub(super) fn with_scratch<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    let mut buffer = SCRATCH.take();
    if buffer.len() < len {
        buffer.resize(len, 0.0);
    }
    let result = f(&mut buffer[..len]);
    SCRATCH.set(buffer);
    result
}
