//! The precision of the convolutions' matrix products on the CPU, chosen per training
//! operator and carried by the thread that runs it.
//!
//! A training operator sets it for its own thread with [`scoped`]; the convolution kernels
//! read it with [`current`] when called on that thread (forward and backward both run
//! there) and hand it to [`matmul_at`](super::matmul_at) from their worker threads.
//! Everything else multiplies in f32.

use std::cell::Cell;

use serde::{Deserialize, Serialize};

use super::bf16;

/// How matrix products multiply.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Precision {
    /// f32 operands and sums (the `gemm` crate).
    #[default]
    F32,
    /// Operands rounded to bfloat16 (round to nearest even), products summed in f32, on the
    /// CPU's AMX tiles or AVX-512 BF16 units; f32 where the CPU has neither (see
    /// [`Precision::effective`]).
    Bf16,
}

impl Precision {
    /// Whether this is the default, f32 (graph files that leave it out keep their cache keys).
    pub fn is_f32(&self) -> bool {
        *self == Precision::F32
    }

    /// The precision products actually run at here: `Bf16` needs a bf16 kernel (AMX, with
    /// the kernel's permission, or AVX-512 BF16), and falls back to `F32` without one.
    pub fn effective(self) -> Precision {
        match self.kernel() {
            Some(_) => Precision::Bf16,
            None => Precision::F32,
        }
    }

    /// The bf16 kernel products run on at this precision here (none for f32).
    pub fn kernel(self) -> Option<bf16::Kernel> {
        match self {
            Precision::Bf16 => bf16::best(),
            Precision::F32 => None,
        }
    }
}

thread_local! {
    static CURRENT: Cell<Precision> = const { Cell::new(Precision::F32) };
}

/// The precision set for this thread (f32 unless a [`scoped`] guard is alive).
pub fn current() -> Precision {
    CURRENT.with(Cell::get)
}

/// Sets this thread's precision until the returned guard is dropped.
pub fn scoped(precision: Precision) -> PrecisionScope {
    let previous = CURRENT.with(|c| c.replace(precision));
    PrecisionScope { previous }
}

/// Restores the thread's previous precision when dropped.
#[must_use = "the precision reverts when the guard is dropped"]
pub struct PrecisionScope {
    previous: Precision,
}

impl Drop for PrecisionScope {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.previous));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scope_sets_the_threads_precision_and_restores_it() {
        assert_eq!(current(), Precision::F32);
        {
            let _outer = scoped(Precision::Bf16);
            assert_eq!(current(), Precision::Bf16);
            {
                let _inner = scoped(Precision::F32);
                assert_eq!(current(), Precision::F32);
            }
            assert_eq!(current(), Precision::Bf16);
            let other = std::thread::spawn(current).join().unwrap();
            assert_eq!(other, Precision::F32, "other threads keep their own");
        }
        assert_eq!(current(), Precision::F32);
    }
}
