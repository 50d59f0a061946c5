//! Matrix products with operands rounded to bfloat16 and products summed in f32 — what
//! mixed-precision training does on GPUs — on the CPU units built for it: Intel's AMX tiles
//! (Sapphire Rapids and later) or, failing them, the AVX-512 BF16 dot-product instruction
//! (AMD Zen 4 and later, Intel Cooper Lake). Both double the multiply rate of f32 and halve
//! the bytes each operand takes.
//!
//! Both kernels read the same packed operands: B is packed once per product; each task
//! packs one 32-row block of A at a time and computes its 32×32 blocks of the result over
//! the whole of K. Every block is computed the same way whichever task runs it, so results
//! do not depend on the thread count.

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
mod amx;
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
mod dot;
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
mod pack;
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
mod scratch;

use std::sync::OnceLock;

use super::Mat;

/// The CPU units a bf16 product can run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kernel {
    /// Intel's AMX tiles (`tdpbf16ps`): 16×16 blocks per instruction.
    Amx,
    /// AVX-512 BF16 (`vdpbf16ps`): 16 pairs per instruction.
    Avx512,
}

/// The fastest bf16 kernel this CPU offers, if any (detected once).
pub fn best() -> Option<Kernel> {
    static BEST: OnceLock<Option<Kernel>> = OnceLock::new();
    *BEST.get_or_init(|| available().into_iter().next())
}

/// Every bf16 kernel this CPU offers, fastest first.
pub fn available() -> Vec<Kernel> {
    let mut kernels = Vec::new();
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    {
        // Both pack their operands with AVX-512 code.
        let vectors = is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512bw");
        if vectors && amx::detect() {
            kernels.push(Kernel::Amx);
        }
        if vectors && is_x86_feature_detected!("avx512bf16") {
            kernels.push(Kernel::Avx512);
        }
    }
    kernels
}

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
thread_local! {
    /// This thread's buffer for packed B, kept between products.
    static PACKED_B: scratch::Buffer = scratch::Buffer::default();
    /// This thread's buffer for packed blocks of A, kept between products.
    static PACKED_A: scratch::Buffer = scratch::Buffer::default();
}

/// A destination pointer shared by tasks that write disjoint blocks of it.
#[derive(Clone, Copy)]
struct Dst(*mut f32);
// SAFETY: tasks write disjoint rows through it, and the caller keeps the buffer alive.
unsafe impl Send for Dst {}
unsafe impl Sync for Dst {}

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
impl Dst {
    /// The element `offset` values past the start.
    ///
    /// # Safety
    /// `offset` lies inside the buffer.
    unsafe fn at(self, offset: usize) -> *mut f32 {
        // SAFETY: the caller's contract.
        unsafe { self.0.add(offset) }
    }
}

/// `dst ← lhs·rhs` (`dst += lhs·rhs` when `accumulate`) with both operands rounded to bf16,
/// on `kernel`.
///
/// # Safety
/// [`available`] lists `kernel`, and the views were checked against their buffers
/// (`dst` points to a buffer that `d` fits and that nothing else accesses meanwhile).
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
pub(super) unsafe fn matmul(
    kernel: Kernel,
    (dst, d): (*mut f32, Mat),
    (lhs, l): (&[f32], Mat),
    (rhs, r): (&[f32], Mat),
    accumulate: bool,
    threads: usize,
) {
    use pack::{BLOCK_ROWS, PANEL_COLS, STEP, TILE_VALUES};
    use rayon::prelude::*;

    if d.rows == 0 || d.cols == 0 {
        return;
    }
    let dst = Dst(dst);
    let steps = l.cols.div_ceil(STEP).max(1);
    let panel_len = steps * TILE_VALUES;
    let panels = d.cols.div_ceil(2 * PANEL_COLS) * 2;
    let mut b = scratch::take(&PACKED_B, panels * panel_len);
    let pack_panel = |(panel, out): (usize, &mut [u16])| pack::b_panel(rhs, r, panel, out);
    if threads > 1 {
        b.par_chunks_mut(panel_len).enumerate().for_each(pack_panel);
    } else {
        b.chunks_mut(panel_len).enumerate().for_each(pack_panel);
    }
    let blocks = d.rows.div_ceil(BLOCK_ROWS);
    let run = |range: std::ops::Range<usize>| {
        let mut a = scratch::take(&PACKED_A, steps * 2 * TILE_VALUES);
        let mut c = [0f32; BLOCK_ROWS * 2 * PANEL_COLS];
        // SAFETY: the CPU has `kernel` (the caller's contract); each packed operand holds
        // `steps` tiles; `c` holds the 32×32 block the kernel stores.
        if kernel == Kernel::Amx {
            unsafe { amx::configure() };
        }
        for block in range {
            pack::a_block(lhs, l, block * BLOCK_ROWS, &mut a);
            for pair in 0..panels / 2 {
                let (b0, b1) = (&b[2 * pair * panel_len..], &b[(2 * pair + 1) * panel_len..]);
                let operands = (a.as_ptr(), b0.as_ptr(), b1.as_ptr());
                let at = (block * BLOCK_ROWS, pair * 2 * PANEL_COLS);
                // SAFETY: this task alone writes rows of `block`; `d` fits the buffer, and a
                // block stored in place lies wholly inside it, rows `d.rs` apart.
                unsafe {
                    if inside(d, at, accumulate) {
                        let out = dst.at(at.0 * d.rs + at.1);
                        block_on(kernel, operands, steps, (out, d.rs));
                    } else {
                        block_on(kernel, operands, steps, (c.as_mut_ptr(), 2 * PANEL_COLS));
                        write_block(dst, d, at, &c, accumulate);
                    }
                }
            }
        }
        if kernel == Kernel::Amx {
            unsafe { amx::release() };
        }
        scratch::give_back(&PACKED_A, a);
    };
    let tasks = if threads > 1 {
        (threads * 4).min(blocks)
    } else {
        1
    };
    if tasks <= 1 {
        run(0..blocks);
    } else {
        (0..tasks)
            .into_par_iter()
            .for_each(|t| run(t * blocks / tasks..(t + 1) * blocks / tasks));
    }
    scratch::give_back(&PACKED_B, b);
}

/// Whether the kernel can store the 32×32 block at `(row, col)` straight into `d`: the
/// block lies wholly inside it, its rows are contiguous, and nothing is to be added.
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
fn inside(d: Mat, (row, col): (usize, usize), accumulate: bool) -> bool {
    use pack::{BLOCK_ROWS, PANEL_COLS};
    !accumulate && d.cs == 1 && row + BLOCK_ROWS <= d.rows && col + 2 * PANEL_COLS <= d.cols
}

/// One 32×32 block of the result into `c`, rows `ldc` f32 apart (see [`amx::block`] and
/// [`dot::block`]).
///
/// # Safety
/// As the kernel's `block`; AMX tiles configured on this thread for [`Kernel::Amx`].
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
unsafe fn block_on(
    kernel: Kernel,
    (a, b0, b1): (*const u16, *const u16, *const u16),
    steps: usize,
    (c, ldc): (*mut f32, usize),
) {
    // SAFETY: the caller's contract.
    unsafe {
        match kernel {
            Kernel::Amx => amx::block(a, b0, b1, steps, (c, ldc)),
            Kernel::Avx512 => dot::block(a, b0, b1, steps, (c, ldc)),
        }
    }
}

/// Writes (or adds) the part of the 32×32 block `c` that lies inside `d`, at `(row, col)`.
///
/// # Safety
/// `dst` points to a buffer `d` fits, and no other thread touches these elements.
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
unsafe fn write_block(dst: Dst, d: Mat, (row, col): (usize, usize), c: &[f32], accumulate: bool) {
    let rows = (d.rows - row).min(32);
    let cols = d.cols.saturating_sub(col).min(32);
    for i in 0..rows {
        let values = &c[i * 32..][..cols];
        if d.cs == 1 {
            // SAFETY: the row's `cols` elements lie inside `d`, touched by this task alone,
            // and they are initialised when asked to accumulate.
            unsafe {
                let out = dst.0.add((row + i) * d.rs + col);
                match accumulate {
                    true => std::slice::from_raw_parts_mut(out, cols)
                        .iter_mut()
                        .zip(values)
                        .for_each(|(o, v)| *o += v),
                    false => std::ptr::copy_nonoverlapping(values.as_ptr(), out, cols),
                }
            }
            continue;
        }
        for (j, &v) in values.iter().enumerate() {
            // SAFETY: (row + i, col + j) lies inside `d`, which fits the buffer.
            unsafe {
                let p = dst.0.add((row + i) * d.rs + (col + j) * d.cs);
                *p = if accumulate { *p + v } else { v };
            }
        }
    }
}

/// Never called: [`available`] is empty on this platform.
///
/// # Safety
/// None needed; it panics.
#[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
pub(super) unsafe fn matmul(
    _kernel: Kernel,
    _dst: (*mut f32, Mat),
    _lhs: (&[f32], Mat),
    _rhs: (&[f32], Mat),
    _accumulate: bool,
    _threads: usize,
) {
    unreachable!("bf16 matrix products on a platform without a bf16 kernel")
}

#[cfg(test)]
mod tests;
