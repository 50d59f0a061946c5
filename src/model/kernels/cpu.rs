//! Plumbing shared by the CPU operations: contiguous f32 views of candle storage, a bounds-
//! checked wrapper around `gemm::gemm`, per-thread scratch buffers and the thread count.

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

/// A strided matrix: `rows × cols`, element (i, j) at `i·rs + j·cs`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Mat {
    rows: usize,
    cols: usize,
    rs: usize,
    cs: usize,
}

impl Mat {
    /// A dense row-major matrix.
    pub(super) fn rows(rows: usize, cols: usize) -> Self {
        Self {
            rows,
            cols,
            rs: cols,
            cs: 1,
        }
    }

    /// The transpose, as a view of the same data.
    pub(super) fn t(self) -> Self {
        Self {
            rows: self.cols,
            cols: self.rows,
            rs: self.cs,
            cs: self.rs,
        }
    }

    fn fits(self, len: usize) -> bool {
        self.rows == 0
            || self.cols == 0
            || (self.rows - 1) * self.rs + (self.cols - 1) * self.cs < len
    }
}

/// `dst ← lhs · rhs`, or `dst ← dst + lhs · rhs` when `accumulate`; gemm splits the work over
/// `threads` rayon threads when above one (results do not depend on it: gemm never splits the
/// inner dimension).
#[allow(clippy::too_many_arguments)]
pub(super) fn matmul(
    dst: &mut [f32],
    d: Mat,
    lhs: &[f32],
    l: Mat,
    rhs: &[f32],
    r: Mat,
    accumulate: bool,
    threads: usize,
) -> Result<()> {
    gemm_checked(
        (dst.as_mut_ptr(), dst.len()),
        d,
        (lhs, l),
        (rhs, r),
        accumulate,
        threads,
    )
}

/// `dst ← lhs · rhs` into memory not yet initialised: gemm never reads the destination
/// unless asked to accumulate, and writes every element of the view `d`.
pub(super) fn matmul_into(
    dst: &mut [MaybeUninit<f32>],
    d: Mat,
    (lhs, l): (&[f32], Mat),
    (rhs, r): (&[f32], Mat),
    threads: usize,
) -> Result<()> {
    let dst = (dst.as_mut_ptr().cast::<f32>(), dst.len());
    gemm_checked(dst, d, (lhs, l), (rhs, r), false, threads)
}

/// Checks that the views fit their buffers, then calls gemm.
fn gemm_checked(
    (dst, len): (*mut f32, usize),
    d: Mat,
    (lhs, l): (&[f32], Mat),
    (rhs, r): (&[f32], Mat),
    accumulate: bool,
    threads: usize,
) -> Result<()> {
    let agree = d.rows == l.rows && l.cols == r.rows && d.cols == r.cols;
    if !(agree && d.fits(len) && l.fits(lhs.len()) && r.fits(rhs.len())) {
        candle_core::bail!("matmul operands do not fit: dst {d:?}, lhs {l:?}, rhs {r:?}");
    }
    let parallelism = if threads > 1 {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    // SAFETY: every element the three views reach lies inside its buffer (checked above);
    // `dst` comes from a unique borrow, so it aliases neither operand; without `accumulate`
    // gemm writes the destination (zeros when the inner dimension is 0) and never reads it.
    unsafe {
        gemm::gemm(
            d.rows,
            d.cols,
            l.cols,
            dst,
            d.cs as isize,
            d.rs as isize,
            accumulate,
            lhs.as_ptr(),
            l.cs as isize,
            l.rs as isize,
            rhs.as_ptr(),
            r.cs as isize,
            r.rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
    Ok(())
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
