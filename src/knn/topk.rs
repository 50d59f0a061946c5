//! A fixed-capacity top-k buffer for one query row: at most `k` (similarity, index) pairs,
//! sorted by similarity descending. Candidates must be offered in increasing index order;
//! an equal similarity then never displaces an earlier (lower) index, so ties resolve to the
//! lower index and results are deterministic.

/// The best `k` candidates seen so far for one query.
#[derive(Clone, Debug)]
pub(crate) struct TopK {
    k: usize,
    sims: Vec<f32>,
    ids: Vec<u32>,
}

impl TopK {
    /// An empty buffer of capacity `k`.
    pub(crate) fn new(k: usize) -> Self {
        TopK {
            k,
            sims: Vec::with_capacity(k + 1),
            ids: Vec::with_capacity(k + 1),
        }
    }

    /// The similarity a candidate must exceed to enter (−∞ while not full).
    #[inline]
    pub(crate) fn threshold(&self) -> f32 {
        if self.sims.len() < self.k {
            f32::NEG_INFINITY
        } else {
            self.sims[self.k - 1]
        }
    }

    /// Offers candidate `id` with similarity `sim`; kept when it beats the threshold.
    #[inline]
    pub(crate) fn offer(&mut self, sim: f32, id: u32) {
        if sim <= self.threshold() {
            return;
        }
        let at = self.sims.partition_point(|&s| s >= sim);
        self.sims.insert(at, sim);
        self.ids.insert(at, id);
        self.sims.truncate(self.k);
        self.ids.truncate(self.k);
    }

    /// Writes the kept candidates, best first, into `ids` and `sims` (each `k` long).
    pub(crate) fn write(&self, ids: &mut [u32], sims: &mut [f32]) {
        ids[..self.ids.len()].copy_from_slice(&self.ids);
        sims[..self.sims.len()].copy_from_slice(&self.sims);
    }
}
