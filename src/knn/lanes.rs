//! The hot comparison of the top-k scan: does any of 16 scores reach a threshold? On
//! x86-64 it is four SSE2 compares (part of every x86-64 CPU, so no feature detection)
//! or-ed into one mask; elsewhere a plain loop. Scores that reach a threshold are rare once
//! the lists fill, so the caller branches on one mask per 16 scores.

/// Scores compared per call.
pub(crate) const LANES: usize = 16;

/// Whether any of `chunk`'s scores (16 of them) is ≥ `bound`.
#[inline(always)]
pub(crate) fn reaches(chunk: &[f32], bound: f32) -> bool {
    reaches_either(chunk, bound, &[f32::INFINITY; LANES])
}

/// Whether any score `chunk[l]` (16 of them) is ≥ `bound` or ≥ its own threshold
/// `worst[l]`.
#[inline(always)]
pub(crate) fn reaches_either(chunk: &[f32], bound: f32, worst: &[f32]) -> bool {
    #[cfg(target_arch = "x86_64")]
    if chunk.len() == LANES && worst.len() == LANES {
        // SAFETY: both slices hold exactly 16 floats (checked above), so the four unaligned
        // 4-float loads from each stay inside them; SSE2 is baseline on x86-64.
        return unsafe { sse2::reaches_either(chunk.as_ptr(), bound, worst.as_ptr()) };
    }
    chunk.iter().zip(worst).any(|(&s, &w)| s >= bound || s >= w)
}

#[cfg(target_arch = "x86_64")]
mod sse2 {
    use std::arch::x86_64::{
        _mm_cmpge_ps, _mm_loadu_ps, _mm_movemask_ps, _mm_or_ps, _mm_set1_ps, _mm_setzero_ps,
    };

    /// [`super::reaches_either`] on 16 floats at `chunk` and 16 at `worst`.
    ///
    /// # Safety
    /// Both pointers must be valid for reading 16 floats.
    #[inline(always)]
    pub(super) unsafe fn reaches_either(chunk: *const f32, bound: f32, worst: *const f32) -> bool {
        let bound = _mm_set1_ps(bound);
        let mut hit = _mm_setzero_ps();
        for quad in 0..4 {
            let s = _mm_loadu_ps(chunk.add(4 * quad));
            let w = _mm_loadu_ps(worst.add(4 * quad));
            hit = _mm_or_ps(hit, _mm_or_ps(_mm_cmpge_ps(s, bound), _mm_cmpge_ps(s, w)));
        }
        _mm_movemask_ps(hit) != 0
    }
}

#[cfg(test)]
mod tests {
    use super::{reaches, reaches_either, LANES};

    #[test]
    fn every_lane_counts_and_equality_reaches() {
        let scores: Vec<f32> = (0..LANES).map(|l| l as f32 / 16.0).collect();
        let high = [2.0; LANES];
        // Highest score 15/16: a row bound of 15/16 is reached (ties must reach), above not.
        assert!(reaches(&scores, 15.0 / 16.0));
        assert!(!reaches(&scores, 15.5 / 16.0));
        assert!(!reaches_either(&scores, 1.0, &high));
        for l in 0..LANES {
            let mut worst = high;
            worst[l] = l as f32 / 16.0; // only lane l reaches its own threshold
            assert!(reaches_either(&scores, 1.0, &worst), "lane {l}");
            worst[l] = f32::NEG_INFINITY; // an empty list takes anything
            assert!(reaches_either(&scores, 1.0, &worst), "lane {l}");
            worst[l] = (l as f32 + 0.5) / 16.0;
            assert!(!reaches_either(&scores, 1.0, &worst), "lane {l}");
        }
        // A tail shorter than 16 takes the portable path with the same meaning.
        assert!(reaches_either(&scores[..3], 1.0, &[2.0, 0.0625, 2.0]));
        assert!(!reaches_either(&scores[..3], 1.0, &[2.0, 0.07, 2.0]));
    }
}
