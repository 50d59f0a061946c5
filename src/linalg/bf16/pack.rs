//! Rounding f32 to bfloat16 and laying operands out as the tiles load them.
//!
//! A is packed one block of 32 rows at a time: per step of 32 along K, the 32 rows of 32
//! values (tile rows 64 bytes apart, the block's two tiles one after the other). B is
//! packed in panels of 16 columns: per step, 16 rows each holding the 16 columns' pairs
//! `(B[k][n], B[k+1][n])` for an even `k` (Intel's VNNI layout). Padding is zero.

use super::super::Mat;

/// Rows of A in one packed block.
pub(super) const BLOCK_ROWS: usize = 32;
/// Columns of B in one packed panel.
pub(super) const PANEL_COLS: usize = 16;
/// Values of K in one step.
pub(super) const STEP: usize = 32;
/// `u16` values in one packed 16×32 tile: 16 rows of A's 32 values of K, or 16 pair rows of
/// B's 16 columns.
pub(super) const TILE_VALUES: usize = 16 * 32;

/// The bfloat16 bits nearest to `x` (ties to even); NaN stays NaN. Branch-free, so the
/// packing loops vectorise.
#[inline(always)]
pub(super) fn bf16(x: f32) -> u16 {
    let bits = x.to_bits();
    let rounded = bits.wrapping_add(0x7fff + ((bits >> 16) & 1)) >> 16;
    let quiet_nan = (bits >> 16) | 0x40;
    let is_nan = bits & 0x7fff_ffff > 0x7f80_0000;
    (if is_nan { quiet_nan } else { rounded }) as u16
}

/// Packs rows `first..first + 32` of `a` (rows past its end as zeros) into `out`, which
/// holds `steps · 1,024` values.
pub(super) fn a_block(a: &[f32], view: Mat, first: usize, out: &mut [u16]) {
    let rows = view.rows.saturating_sub(first).min(BLOCK_ROWS);
    if rows < BLOCK_ROWS || !view.cols.is_multiple_of(STEP) {
        out.fill(0);
    }
    if view.cs == 1 {
        for r in 0..rows {
            let row = &a[(first + r) * view.rs..][..view.cols];
            for (step, chunk) in row.chunks(STEP).enumerate() {
                let dst = &mut out[step * 2 * TILE_VALUES + r * STEP..][..chunk.len()];
                // SAFETY: the module is only used where a bf16 kernel, hence AVX-512, is available.
                unsafe { convert(chunk, dst) };
            }
        }
        return;
    }
    let mut column = [0u16; BLOCK_ROWS];
    for k in 0..view.cols {
        let dst = &mut out[(k / STEP) * 2 * TILE_VALUES + k % STEP..];
        if view.rs == 1 {
            // SAFETY: as above.
            unsafe { convert(&a[first + k * view.cs..][..rows], &mut column[..rows]) };
            for (d, &v) in dst.iter_mut().step_by(STEP).zip(&column[..rows]) {
                *d = v;
            }
        } else {
            for r in 0..rows {
                dst[r * STEP] = bf16(a[(first + r) * view.rs + k * view.cs]);
            }
        }
    }
}

/// Packs columns `16·panel..16·panel + 16` of `b` (columns past its end as zeros) into
/// `out`, which holds `steps · 512` values.
pub(super) fn b_panel(b: &[f32], view: Mat, panel: usize, out: &mut [u16]) {
    let first = panel * PANEL_COLS;
    let cols = view.cols.saturating_sub(first).min(PANEL_COLS);
    if cols < PANEL_COLS || !view.rows.is_multiple_of(STEP) {
        out.fill(0);
    }
    if cols == 0 {
        return;
    }
    for k in (0..view.rows).step_by(2) {
        let dst =
            &mut out[(k / STEP) * TILE_VALUES + (k % STEP) / 2 * 2 * PANEL_COLS..][..2 * cols];
        let row = |k: usize| &b[k * view.rs + first * view.cs..];
        if view.cs == 1 {
            let second = (k + 1 < view.rows).then(|| &row(k + 1)[..cols]);
            // SAFETY: as in `a_block`.
            unsafe { interleave(&row(k)[..cols], second, dst) };
            continue;
        }
        for t in 0..2.min(view.rows - k) {
            let row = row(k + t);
            for n in 0..cols {
                dst[2 * n + t] = bf16(row[n * view.cs]);
            }
        }
    }
}

/// `dst[i] = bf16(src[i])`. (Compiled for AVX-512, this loop packed faster on Zen 4 than
/// the conversion instructions of AVX-512 BF16 did: 1,370 against 1,290 img/s in the
/// pretext.)
#[target_feature(enable = "avx512f,avx512bw")]
fn convert(src: &[f32], dst: &mut [u16]) {
    dst.iter_mut().zip(src).for_each(|(d, &s)| *d = bf16(s));
}

/// `dst = [bf16(first[0]), bf16(second[0]), bf16(first[1]), …]` (zeros for a missing second).
#[target_feature(enable = "avx512f,avx512bw")]
fn interleave(first: &[f32], second: Option<&[f32]>, dst: &mut [u16]) {
    let pairs = dst.chunks_exact_mut(2).zip(first);
    match second {
        Some(second) => pairs.zip(second).for_each(|((d, &x), &y)| {
            d[0] = bf16(x);
            d[1] = bf16(y);
        }),
        None => pairs.for_each(|(d, &x)| d[0] = bf16(x)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_to_bf16_is_to_nearest_even() {
        assert_eq!(bf16(1.0), 0x3f80);
        assert_eq!(bf16(-2.0), 0xc000);
        // 1 + 2^-8 lies halfway between 1 and 1 + 2^-7: ties go to the even 1.
        assert_eq!(bf16(1.0 + 1.0 / 256.0), 0x3f80);
        // 1 + 3·2^-8 lies halfway between 1 + 2^-7 and 1 + 2^-6: ties go to the even 1 + 2^-6.
        assert_eq!(bf16(1.0 + 3.0 / 256.0), 0x3f82);
        assert_eq!(bf16(1.0 + 1.5 / 256.0), 0x3f81);
        assert_eq!(bf16(f32::INFINITY), 0x7f80);
        assert_eq!(bf16(f32::MAX), 0x7f80, "rounds up to infinity");
        assert!(half::bf16::from_bits(bf16(f32::NAN)).is_nan());
    }

    #[test]
    fn a_block_puts_each_value_at_its_tile_row_and_step() {
        // 3 × 40: two steps along K, one block with rows 3.. padded.
        let a: Vec<f32> = (0..120).map(|v| v as f32).collect();
        let mut out = vec![7u16; 2 * 1024];
        a_block(&a, Mat::rows(3, 40), 0, &mut out);
        assert_eq!(out[0], bf16(0.0));
        assert_eq!(out[2 * 32 + 5], bf16(85.0), "row 2, k 5");
        assert_eq!(out[1024 + 32 + 3], bf16(75.0), "row 1, k 35");
        assert_eq!(out[1024 + 32 + 8], 0, "k 40 is padding");
        assert_eq!(out[5 * 32], 0, "row 5 is padding");
        // The same matrix stored transposed packs identically.
        let t: Vec<f32> = (0..120).map(|i| a[(i % 3) * 40 + i / 3]).collect();
        let (mut direct, mut transposed) = (vec![0u16; 2048], vec![0u16; 2048]);
        a_block(&a, Mat::rows(3, 40), 0, &mut direct);
        a_block(&t, Mat::rows(40, 3).t(), 0, &mut transposed);
        assert_eq!(direct, transposed);
    }

    #[test]
    fn b_panel_interleaves_pairs_of_rows() {
        // 3 × 18: panel 0 holds columns 0..16, panel 1 columns 16, 17 and padding.
        let b: Vec<f32> = (0..54).map(|v| v as f32).collect();
        let view = Mat::rows(3, 18);
        let mut out = vec![7u16; 512];
        b_panel(&b, view, 0, &mut out);
        assert_eq!(&out[..4], &[bf16(0.0), bf16(18.0), bf16(1.0), bf16(19.0)]);
        assert_eq!(out[32], bf16(36.0), "k 2 starts the second pair row");
        assert_eq!(out[33], 0, "k 3 is padding");
        b_panel(&b, view, 1, &mut out);
        assert_eq!(&out[..4], &[bf16(16.0), bf16(34.0), bf16(17.0), bf16(35.0)]);
        assert_eq!(out[4], 0, "column 18 is padding");
    }
}
