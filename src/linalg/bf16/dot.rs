//! The AVX-512 BF16 kernel: one 32×32 block of C from the packed operands with `vdpbf16ps`,
//! which multiplies 16 pairs of bf16 values and adds each pair's two products to one f32
//! lane.
//!
//! The block is computed as four strips of 8 rows × 32 columns, each on 16 accumulator
//! registers held over the whole of K. Per pair of K values the strip loads two vectors of
//! B's pairs (16 columns each, Intel's VNNI layout) and broadcasts each row's pair of A
//! (adjacent in the packed rows) to all lanes: 16 dot products for 10 loads.

use std::arch::x86_64::{
    __m512, __m512bh, _mm512_dpbf16_ps, _mm512_loadu_si512, _mm512_set1_epi32, _mm512_setzero_ps,
    _mm512_storeu_ps,
};

use super::pack::{BLOCK_ROWS, PANEL_COLS, STEP, TILE_VALUES};

/// Rows of a strip: 8 rows × 2 vectors is 16 accumulators, half the register file.
const STRIP_ROWS: usize = 8;

/// `c` (32×32 f32, rows `ldc` values apart) `← Σ_kb A_kb · B_kb` over `k_blocks` steps of 32.
///
/// `a` holds, per step, the block's 32 rows of 32 bf16 (1,024 values); `b0` and `b1` the
/// two 16-column panels of B, per step 16 rows of 16 column pairs (512 values).
///
/// # Safety
/// The CPU has AVX-512 F and BF16; `a` is readable for `k_blocks · 1024` values, `b0` and
/// `b1` for `k_blocks · 512`, `c` writable for 32 rows of 32 f32, `ldc` apart.
#[target_feature(enable = "avx512f,avx512bf16")]
pub(super) unsafe fn block(
    a: *const u16,
    b0: *const u16,
    b1: *const u16,
    k_blocks: usize,
    (c, ldc): (*mut f32, usize),
) {
    for strip in 0..BLOCK_ROWS / STRIP_ROWS {
        let first = strip * STRIP_ROWS;
        // SAFETY: the caller's contract covers every address the strip reads or writes.
        unsafe {
            let sums = strip_sums(a.add(first * STEP), b0, b1, k_blocks);
            for (row, [left, right]) in sums.iter().enumerate() {
                let out = c.add((first + row) * ldc);
                _mm512_storeu_ps(out, *left);
                _mm512_storeu_ps(out.add(PANEL_COLS), *right);
            }
        }
    }
}

/// The 8 × 32 sums of one strip, whose first row starts at `a` in every step.
///
/// # Safety
/// As [`block`].
#[target_feature(enable = "avx512f,avx512bf16")]
#[inline]
unsafe fn strip_sums(
    a: *const u16,
    b0: *const u16,
    b1: *const u16,
    k_blocks: usize,
) -> [[__m512; 2]; STRIP_ROWS] {
    let mut sums = [[_mm512_setzero_ps(); 2]; STRIP_ROWS];
    for step in 0..k_blocks {
        // SAFETY: the caller's contract; each step reads 32 rows of 32 values of `a` and
        // 512 values of each panel.
        unsafe {
            let (a, b0, b1) = (
                a.add(step * 2 * TILE_VALUES),
                b0.add(step * TILE_VALUES),
                b1.add(step * TILE_VALUES),
            );
            for pair in 0..STEP / 2 {
                let left = pairs(b0.add(pair * 2 * PANEL_COLS));
                let right = pairs(b1.add(pair * 2 * PANEL_COLS));
                for (row, [l, r]) in sums.iter_mut().enumerate() {
                    let value = a.add(row * STEP + 2 * pair).cast::<i32>().read_unaligned();
                    let broadcast = as_bf16(_mm512_set1_epi32(value));
                    *l = _mm512_dpbf16_ps(*l, broadcast, left);
                    *r = _mm512_dpbf16_ps(*r, broadcast, right);
                }
            }
        }
    }
    sums
}

/// The 32 bf16 values (16 column pairs) at `p`.
///
/// # Safety
/// `p` is readable for 32 values.
#[target_feature(enable = "avx512f,avx512bf16")]
#[inline]
unsafe fn pairs(p: *const u16) -> __m512bh {
    // SAFETY: the caller's contract; the load is unaligned.
    as_bf16(unsafe { _mm512_loadu_si512(p.cast()) })
}

/// The same 512 bits read as 32 bf16 values.
#[target_feature(enable = "avx512f,avx512bf16")]
#[inline]
fn as_bf16(bits: std::arch::x86_64::__m512i) -> __m512bh {
    // SAFETY: both are 512-bit vectors with no invalid bit patterns.
    unsafe { std::mem::transmute(bits) }
}
