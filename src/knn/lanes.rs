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
