//! Top-k lists for a block of points, written in place into the caller's output rows: row
//! `r` holds `k` (similarity, index) pairs, best first, under the total order "higher
//! similarity first, then lower index first". Because that order is total, the kept set
//! does not depend on the order candidates are offered in, so tiles may be scanned in any
//! order (and by any number of threads) with identical results.
//!
//! Rows start full of sentinels (−∞, `u32::MAX`) that every real candidate beats, and
//! `worst[r]` mirrors the k-th similarity of row `r` so a scan can compare a whole SIMD
//! lane of scores against contiguous thresholds.

/// The top-k lists of one block of points.
pub(crate) struct TopK<'a> {
    k: usize,
    sims: &'a mut [f32],
    ids: &'a mut [u32],
    worst: Vec<f32>,
}

impl<'a> TopK<'a> {
    /// Lists over `sims` and `ids` (each `rows × k` long), reset to sentinels.
    pub(crate) fn new(k: usize, sims: &'a mut [f32], ids: &'a mut [u32]) -> Self {
        debug_assert_eq!(sims.len(), ids.len());
        sims.fill(f32::NEG_INFINITY);
        ids.fill(u32::MAX);
        let worst = vec![f32::NEG_INFINITY; sims.len() / k];
        TopK {
            k,
            sims,
            ids,
            worst,
        }
    }

    /// Per row, the similarity of its k-th entry: a candidate below it cannot enter, one
    /// equal to it enters only with a lower index.
    #[inline]
    pub(crate) fn worst(&self) -> &[f32] {
        &self.worst
    }

    /// Offers candidate `id` with similarity `sim` to row `r`; kept when it ranks above the
    /// row's k-th entry.
    #[inline]
    pub(crate) fn offer(&mut self, r: usize, sim: f32, id: u32) {
        let sims = &mut self.sims[r * self.k..(r + 1) * self.k];
        let ids = &mut self.ids[r * self.k..(r + 1) * self.k];
        let last = self.k - 1;
        if !ranks_above(sim, id, sims[last], ids[last]) {
            return;
        }
        let mut at = last;
        while at > 0 && ranks_above(sim, id, sims[at - 1], ids[at - 1]) {
            sims[at] = sims[at - 1];
            ids[at] = ids[at - 1];
            at -= 1;
        }
        sims[at] = sim;
        ids[at] = id;
        self.worst[r] = sims[last];
    }
}

/// The total order of the lists: higher similarity first, then lower index.
#[inline]
fn ranks_above(sim: f32, id: u32, other_sim: f32, other_id: u32) -> bool {
    sim > other_sim || (sim == other_sim && id < other_id)
}
