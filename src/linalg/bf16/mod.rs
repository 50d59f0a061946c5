//! Matrix products on Intel's AMX tiles: operands rounded to bfloat16, products summed in
//! f32 — what mixed-precision training does on GPUs, at several times the f32 speed of the
//! vector units on CPUs that have it (Sapphire Rapids and later).
//!
//! B is packed once per product; each task packs one 32-row block of A at a time and
//! computes its 32×32 blocks of the result over the whole of K. Every block is computed the
//! same way whichever task runs it, so results do not depend on the thread count.

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
mod pack;
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
mod tile;

use std::sync::OnceLock;

use super::Mat;

/// Whether this CPU has AMX with bf16 and the kernel lets this process use it (asked once).
pub fn available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(detect)
}

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
fn detect() -> bool {
    const AMX_BF16: u32 = 1 << 22;
    const AMX_TILE: u32 = 1 << 24;
    const ARCH_REQ_XCOMP_PERM: libc::c_long = 0x1023;
    const XFEATURE_XTILEDATA: libc::c_long = 18;
    let features = std::arch::x86_64::__cpuid_count(7, 0).edx;
    let vectors = is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512bw");
    if features & AMX_BF16 == 0 || features & AMX_TILE == 0 || !vectors {
        return false;
    }
    // SAFETY: arch_prctl with this request only asks for permission; it reads no memory.
    unsafe {
        libc::syscall(
            libc::SYS_arch_prctl,
            ARCH_REQ_XCOMP_PERM,
            XFEATURE_XTILEDATA,
        ) == 0
    }
}

#[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
fn detect() -> bool {
    false
}

/// A destination pointer shared by tasks that write disjoint blocks of it.
#[derive(Clone, Copy)]
struct Dst(*mut f32);
// SAFETY: tasks write disjoint rows through it, and the caller keeps the buffer alive.
unsafe impl Send for Dst {}
unsafe impl Sync for Dst {}

/// `dst ← lhs·rhs` (`dst += lhs·rhs` when `accumulate`) with both operands rounded to bf16.
///
/// # Safety
/// [`available`] returned true, and the views were checked against their buffers
/// (`dst` points to a buffer that `d` fits and that nothing else accesses meanwhile).
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
pub(super) unsafe fn matmul(
    (dst, d): (*mut f32, Mat),
    (lhs, l): (&[f32], Mat),
    (rhs, r): (&[f32], Mat),
    accumulate: bool,
    threads: usize,
) {
    use pack::{BLOCK_ROWS, PANEL_COLS, STEP};
    use rayon::prelude::*;
    use tile::TILE_VALUES;

    if d.rows == 0 || d.cols == 0 {
        return;
    }
    let dst = Dst(dst);
    let steps = l.cols.div_ceil(STEP).max(1);
    let panel_len = steps * TILE_VALUES;
    let panels = d.cols.div_ceil(2 * PANEL_COLS) * 2;
    let mut b = vec![0u16; panels * panel_len];
    let pack_panel = |(panel, out): (usize, &mut [u16])| pack::b_panel(rhs, r, panel, out);
    if threads > 1 {
        b.par_chunks_mut(panel_len).enumerate().for_each(pack_panel);
    } else {
        b.chunks_mut(panel_len).enumerate().for_each(pack_panel);
    }
    let blocks = d.rows.div_ceil(BLOCK_ROWS);
    let run = |range: std::ops::Range<usize>| {
        let mut a = vec![0u16; steps * 2 * TILE_VALUES];
        let mut c = [0f32; BLOCK_ROWS * 2 * PANEL_COLS];
        // SAFETY: AMX is available (the caller's contract); each packed operand holds
        // `steps` tiles; `c` holds the 32×32 block the kernel stores.
        unsafe { tile::configure() };
        for block in range {
            pack::a_block(lhs, l, block * BLOCK_ROWS, &mut a);
            for pair in 0..panels / 2 {
                let (b0, b1) = (&b[2 * pair * panel_len..], &b[(2 * pair + 1) * panel_len..]);
                unsafe { tile::block(a.as_ptr(), b0.as_ptr(), b1.as_ptr(), steps, c.as_mut_ptr()) };
                // SAFETY: this task alone writes rows of `block`; `d` fits the buffer.
                unsafe {
                    write_block(
                        dst,
                        d,
                        (block * BLOCK_ROWS, pair * 2 * PANEL_COLS),
                        &c,
                        accumulate,
                    )
                };
            }
        }
        unsafe { tile::release() };
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

/// Never called: [`available`] is false on this platform.
///
/// # Safety
/// None needed; it panics.
#[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
pub(super) unsafe fn matmul(
    _dst: (*mut f32, Mat),
    _lhs: (&[f32], Mat),
    _rhs: (&[f32], Mat),
    _accumulate: bool,
    _threads: usize,
) {
    unreachable!("AMX matrix products on a platform without AMX")
}

#[cfg(test)]
mod tests;
