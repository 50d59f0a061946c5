//! Rounding f32 to bfloat16 and laying operands out as the tiles load them.
//!
//! A is packed one block of 32 rows at a time: per step of 32 along K, the 32 rows of 32
//! values (tile rows 64 bytes apart, the block's two tiles one after the other). B is
//! packed in panels of 16 columns: per step, 16 rows each holding the 16 columns' pairs
//! `(B[k][n], B[k+1][n])` for an even `k` (Intel's VNNI layout). Padding is zero.

use std::arch::x86_64::{
    __m256i, __m512i, _mm256_mask_storeu_epi16, _mm512_cvtne2ps_pbh, _mm512_cvtneps_pbh,
    _mm512_mask_storeu_epi16, _mm512_maskz_loadu_ps, _mm512_permutexvar_epi16, _mm512_set_epi16,
    _mm512_setzero_ps,
};

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

/// `dst[i] = bf16(src[i])` for the common length, 16 values at a time with the CPU's
/// conversion instruction (`vcvtneps2bf16`: nearest even, NaN kept, subnormal values
/// flushed to zero, as both kernels read them anyway).
#[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
fn convert(src: &[f32], dst: &mut [u16]) {
    let len = src.len().min(dst.len());
    for start in (0..len).step_by(16) {
        let mask = lanes(len - start);
        // SAFETY: the masks keep every load and store inside `len` values of both slices.
        unsafe {
            let values = _mm512_maskz_loadu_ps(mask, src.as_ptr().add(start));
            let halves: __m256i = std::mem::transmute(_mm512_cvtneps_pbh(values));
            _mm256_mask_storeu_epi16(dst.as_mut_ptr().add(start).cast(), mask, halves);
        }
    }
}

/// `dst = [bf16(first[0]), bf16(second[0]), bf16(first[1]), …]` (zeros for a missing
/// second), 16 pairs at a time, for as many pairs as all three slices hold; rounding as in
/// [`convert`].
#[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
fn interleave(first: &[f32], second: Option<&[f32]>, dst: &mut [u16]) {
    let len = first
        .len()
        .min(dst.len() / 2)
        .min(second.map_or(usize::MAX, <[f32]>::len));
    let order = _mm512_set_epi16(
        31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22, 6, 21, 5, 20, 4,
        19, 3, 18, 2, 17, 1, 16, 0,
    );
    for start in (0..len).step_by(16) {
        let mask = lanes(len - start);
        let pairs = if mask == 0xffff {
            u32::MAX
        } else {
            (1u32 << (2 * (len - start))) - 1
        };
        // SAFETY: the masks keep every load inside `len` values of `first` and `second` and
        // every store inside `2·len` values of `dst`.
        unsafe {
            let x = _mm512_maskz_loadu_ps(mask, first.as_ptr().add(start));
            let y = match second {
                Some(second) => _mm512_maskz_loadu_ps(mask, second.as_ptr().add(start)),
                None => _mm512_setzero_ps(),
            };
            let both: __m512i = std::mem::transmute(_mm512_cvtne2ps_pbh(y, x));
            let woven = _mm512_permutexvar_epi16(order, both);
            _mm512_mask_storeu_epi16(dst.as_mut_ptr().add(2 * start).cast(), pairs, woven);
        }
    }
}

/// The mask of the first `min(n, 16)` lanes.
fn lanes(n: usize) -> u16 {
    if n >= 16 {
        u16::MAX
    } else {
        (1u16 << n) - 1
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
    fn the_vector_conversions_round_as_bf16_does() {
        if super::super::available().is_empty() {
            eprintln!("skipped: this CPU has no bf16 kernel");
            return;
        }
        let mut src: Vec<f32> = (0..37).map(|i| (i as f32 - 18.0) * 0.3711 + 1e-3).collect();
        src.extend([
            1.0 + 1.0 / 256.0,
            1.0 + 3.0 / 256.0,
            f32::INFINITY,
            -f32::MAX,
            1e-39,
        ]);
        let want: Vec<u16> = src.iter().map(|&x| bf16(x)).collect();
        let mut got = vec![7u16; src.len() + 3];
        // SAFETY: the CPU has AVX-512 with BF16 (checked above).
        unsafe { convert(&src, &mut got) };
        let last = src.len() - 1;
        assert_eq!(&got[..last], &want[..last]);
        assert_eq!(
            got[last], 0,
            "a subnormal value is flushed, as the kernels read it"
        );
        assert_eq!(
            &got[src.len()..],
            &[7, 7, 7],
            "nothing past the source is written"
        );
        let nan = [f32::NAN];
        unsafe { convert(&nan, &mut got) };
        assert!(half::bf16::from_bits(got[0]).is_nan());

        let (first, second) = (&src[..20], &src[20..40]);
        let mut woven = vec![7u16; 42];
        unsafe { interleave(first, Some(second), &mut woven) };
        for i in 0..20 {
            assert_eq!(
                [woven[2 * i], woven[2 * i + 1]],
                [want[i], want[20 + i]],
                "pair {i}"
            );
        }
        assert_eq!(&woven[40..], &[7, 7]);
        unsafe { interleave(&first[..3], None, &mut woven) };
        assert_eq!(&woven[..6], &[want[0], 0, want[1], 0, want[2], 0]);
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
