//! Dense f32 matrix products on strided views of slices: the one checked, safe wrapper
//! around the `gemm` crate that the CPU kernels, the exact kNN tiles, k-means and the
//! cluster heads all call, and around the bf16 kernels the convolutions may use instead
//! (see [`precision`]).

pub mod bf16;
pub mod precision;

use std::mem::MaybeUninit;

pub use precision::Precision;

/// Magnitudes below this are stored as 0 where trained values are written (optimiser
/// updates, the cluster heads' probabilities and gradients). Weights that decay towards 0
/// and confident softmax outputs otherwise end in the subnormal range (below 1.2e-38),
/// where every multiplication takes a slow microcode path: on this project's machine the
/// heads with a hidden layer fell from ~20,000 to ~1,000 pairs/s after four epochs, their
/// matrix products spending 95 % of the time on 30,000 subnormal weights. Values this
/// small change no sum they enter.
pub const FLUSH_BELOW: f32 = 1e-30;

/// `v`, or 0 when its magnitude is below [`FLUSH_BELOW`].
pub fn flushed(v: f32) -> f32 {
    if v.abs() < FLUSH_BELOW {
        0.0
    } else {
        v
    }
}

/// A strided matrix: `rows × cols`, element (i, j) at `i·rs + j·cs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mat {
    rows: usize,
    cols: usize,
    rs: usize,
    cs: usize,
}

impl Mat {
    /// A dense row-major matrix.
    pub fn rows(rows: usize, cols: usize) -> Self {
        Self {
            rows,
            cols,
            rs: cols,
            cs: 1,
        }
    }

    /// `cols` consecutive columns of a row-major matrix whose rows are `stride` values long:
    /// a block of columns of a wider matrix, viewed from the slice that starts at the
    /// block's first column.
    pub fn columns_of(rows: usize, cols: usize, stride: usize) -> Self {
        Self {
            rows,
            cols,
            rs: stride,
            cs: 1,
        }
    }

    /// The transpose, as a view of the same data.
    pub fn t(self) -> Self {
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

/// Operands whose shapes do not agree, or views that reach outside their buffers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("matmul operands do not fit: dst {dst:?}, lhs {lhs:?}, rhs {rhs:?}")]
pub struct ShapeMismatch {
    /// The destination view.
    pub dst: Mat,
    /// The left operand's view.
    pub lhs: Mat,
    /// The right operand's view.
    pub rhs: Mat,
}

/// `dst ← lhs · rhs`, or `dst ← dst + lhs · rhs` when `accumulate`; gemm splits the work over
/// `threads` rayon threads when above one (results do not depend on it: gemm never splits the
/// inner dimension).
pub fn matmul(
    (dst, d): (&mut [f32], Mat),
    lhs: (&[f32], Mat),
    rhs: (&[f32], Mat),
    accumulate: bool,
    threads: usize,
) -> Result<(), ShapeMismatch> {
    matmul_at(Precision::F32, (dst, d), lhs, rhs, accumulate, threads)
}

/// [`matmul`] at a chosen precision (`Bf16` runs on the CPU's bf16 kernel where
/// [`Precision::kernel`] finds one; results then do not depend on `threads` either).
pub fn matmul_at(
    precision: Precision,
    (dst, d): (&mut [f32], Mat),
    lhs: (&[f32], Mat),
    rhs: (&[f32], Mat),
    accumulate: bool,
    threads: usize,
) -> Result<(), ShapeMismatch> {
    let dst = (dst.as_mut_ptr(), dst.len());
    product_checked(precision.kernel(), dst, d, lhs, rhs, accumulate, threads)
}

/// `dst ← lhs · rhs` into memory not yet initialised: gemm never reads the destination
/// unless asked to accumulate, and writes every element of the view `d`.
pub fn matmul_into(
    (dst, d): (&mut [MaybeUninit<f32>], Mat),
    lhs: (&[f32], Mat),
    rhs: (&[f32], Mat),
    threads: usize,
) -> Result<(), ShapeMismatch> {
    matmul_into_at(Precision::F32, (dst, d), lhs, rhs, threads)
}

/// [`matmul_into`] at a chosen precision (see [`matmul_at`]).
pub fn matmul_into_at(
    precision: Precision,
    (dst, d): (&mut [MaybeUninit<f32>], Mat),
    lhs: (&[f32], Mat),
    rhs: (&[f32], Mat),
    threads: usize,
) -> Result<(), ShapeMismatch> {
    let dst = (dst.as_mut_ptr().cast::<f32>(), dst.len());
    product_checked(precision.kernel(), dst, d, lhs, rhs, false, threads)
}

/// Checks that the views fit their buffers, then calls gemm, or the bf16 kernel when given
/// one (which must be one [`bf16::available`] lists).
#[allow(clippy::too_many_arguments)]
fn product_checked(
    bf16_kernel: Option<bf16::Kernel>,
    (dst, len): (*mut f32, usize),
    d: Mat,
    (lhs, l): (&[f32], Mat),
    (rhs, r): (&[f32], Mat),
    accumulate: bool,
    threads: usize,
) -> Result<(), ShapeMismatch> {
    let agree = d.rows == l.rows && l.cols == r.rows && d.cols == r.cols;
    if !(agree && d.fits(len) && l.fits(lhs.len()) && r.fits(rhs.len())) {
        return Err(ShapeMismatch {
            dst: d,
            lhs: l,
            rhs: r,
        });
    }
    if let Some(kernel) = bf16_kernel {
        // SAFETY: the CPU has the kernel (the contract above), and every view fits its
        // buffer (checked above); `dst` comes from a unique borrow.
        unsafe { bf16::matmul(kernel, (dst, d), (lhs, l), (rhs, r), accumulate, threads) };
        return Ok(());
    }
    let parallelism = match threads > 1 {
        true => gemm::Parallelism::Rayon(threads),
        false => gemm::Parallelism::None,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// a = [[1, 2], [3, 4]], b = [[5, 6], [7, 8]].
    const A: [f32; 4] = [1.0, 2.0, 3.0, 4.0];
    const B: [f32; 4] = [5.0, 6.0, 7.0, 8.0];

    #[test]
    fn products_of_transposed_views_match_worked_values() {
        let m = Mat::rows(2, 2);
        let mut out = [0f32; 4];
        matmul((&mut out, m), (&A, m), (&B, m), false, 1).unwrap();
        assert_eq!(out, [19.0, 22.0, 43.0, 50.0]);
        matmul((&mut out, m), (&A, m), (&B, m.t()), false, 1).unwrap();
        assert_eq!(out, [17.0, 23.0, 39.0, 53.0], "a·bᵀ");
        matmul((&mut out, m), (&A, m.t()), (&B, m), true, 1).unwrap();
        assert_eq!(
            out,
            [17.0 + 26.0, 23.0 + 30.0, 39.0 + 38.0, 53.0 + 44.0],
            "+ aᵀ·b"
        );
    }

    #[test]
    fn views_outside_their_buffers_are_refused() {
        let mut out = [0f32; 6];
        let error = matmul(
            (&mut out, Mat::rows(2, 3)),
            (&A, Mat::rows(2, 2)),
            (&B, Mat::rows(2, 3)),
            false,
            1,
        )
        .unwrap_err();
        assert_eq!(error.rhs, Mat::rows(2, 3));
        let short = matmul(
            (&mut out[..3], Mat::rows(2, 2)),
            (&A, Mat::rows(2, 2)),
            (&B, Mat::rows(2, 2)),
            false,
            1,
        );
        assert!(short.is_err());
    }
}
