//! Every point's nearest neighbours gathered while the graph is built, so that mining all
//! points needs no second pass of searches. Inserting point q runs a width-ef_construction
//! search of layer 0 among the points already linked: q is offered to every node that
//! search measures (with the distance it computed), and q's own list takes the nearest it
//! found. A true neighbour j of i is therefore caught by i's insertion search (j linked
//! first) or by j's (i linked first). One round of neighbours' neighbours ([`Harvest::
//! refine`]) then catches most of what both searches missed. Each list keeps the k nearest
//! offered, lower index first on ties.
//!
//! Lists are k packed slots per point, changed under a striped lock; each point's current
//! k-th distance is readable without locking, so most offers are refused without touching
//! a lock.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};
use std::sync::{Mutex, PoisonError};

use rayon::prelude::*;
use rayon::ThreadPool;

use super::search::{prefetch, Near, View};

/// A slot holding no neighbour.
const EMPTY: u64 = u64::MAX;
/// Lock stripes: point i's list is guarded by lock i mod STRIPES.
const STRIPES: usize = 4096;
/// How many candidate rows [`Harvest::refine`] requests before it reads them.
const PREFETCH_AHEAD: usize = 8;

/// The k nearest points offered to each point so far.
pub(crate) struct Harvest {
    k: usize,
    /// Point i's k slots, each `EMPTY` or (distance bits << 32 | id).
    slots: Vec<AtomicU64>,
    /// Point i's k-th distance (f32 bits) once its list is full, +∞ before.
    bar: Vec<AtomicU32>,
    locks: Vec<Mutex<()>>,
}

impl Harvest {
    /// Empty lists of `k` for `n` points.
    pub(crate) fn new(n: usize, k: usize) -> Self {
        Harvest {
            k,
            slots: (0..n * k).map(|_| AtomicU64::new(EMPTY)).collect(),
            bar: (0..n)
                .map(|_| AtomicU32::new(f32::INFINITY.to_bits()))
                .collect(),
            locks: (0..STRIPES.min(n.max(1))).map(|_| Mutex::new(())).collect(),
        }
    }

    /// Offers point `q` the first k of `found` (nodes nearest first).
    pub(crate) fn keep_nearest(&self, q: u32, found: &[Near]) {
        for n in found.iter().take(self.k) {
            self.offer(q, *n);
        }
    }

    /// Offers `near` to point `i`'s list: kept when the list has room or `near` beats its
    /// worst entry, unless it is already there.
    pub(crate) fn offer(&self, i: u32, near: Near) {
        let i = i as usize;
        if near.dist > f32::from_bits(self.bar[i].load(Relaxed)) {
            return;
        }
        let _lock = self.locks[i % self.locks.len()]
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let slots = &self.slots[i * self.k..(i + 1) * self.k];
        let mut worst: Option<(usize, Near)> = None;
        for (s, slot) in slots.iter().enumerate() {
            let Some(held) = unpack(slot.load(Relaxed)) else {
                slot.store(pack(near), Relaxed);
                if s + 1 == self.k {
                    self.raise_bar(i, slots);
                }
                return;
            };
            if held.id == near.id {
                return;
            }
            if worst.is_none_or(|(_, w)| held > w) {
                worst = Some((s, held));
            }
        }
        if let Some((s, w)) = worst.filter(|(_, w)| near < *w) {
            debug_assert_ne!(w.id, near.id);
            slots[s].store(pack(near), Relaxed);
            self.raise_bar(i, slots);
        }
    }

    /// Sets point `i`'s bar to the worst distance in its full list (its lock held).
    fn raise_bar(&self, i: usize, slots: &[AtomicU64]) {
        let worst = slots
            .iter()
            .filter_map(|s| unpack(s.load(Relaxed)))
            .map(|n| n.dist)
            .fold(f32::NEG_INFINITY, f32::max);
        self.bar[i].store(worst.to_bits(), Relaxed);
    }

    /// Point `i`'s list, in no particular order (final once the build and
    /// [`Harvest::refine`] are done).
    pub(crate) fn list(&self, i: usize) -> impl Iterator<Item = u32> + '_ {
        self.slots[i * self.k..(i + 1) * self.k]
            .iter()
            .filter_map(|s| unpack(s.load(Relaxed)))
            .map(|n| n.id)
    }
}

impl Harvest {
    /// One round of neighbours' neighbours: every point measures the points in its list's
    /// lists and offers itself and them to each other. The lists are read from a copy made
    /// before the round, so what a point measures does not depend on how far other threads
    /// have got (and the final lists do not depend on the number of threads). Rows are
    /// prefetched a few ahead, since the candidates are scattered over the whole matrix.
    pub(crate) fn refine(&self, view: &View<'_>, pool: &ThreadPool) {
        let n = self.bar.len();
        pool.install(|| {
            let frozen = self.frozen();
            (0..n).into_par_iter().for_each_init(
                || (vec![u32::MAX; n], Vec::new()),
                |(marks, candidates), i| {
                    second_hops(&frozen, self.k, i as u32, marks, candidates);
                    self.measure(view, i as u32, candidates);
                },
            )
        });
    }

    /// Every point's k slots as ids, `u32::MAX` for an empty slot.
    fn frozen(&self) -> Vec<u32> {
        self.slots
            .par_iter()
            .map(|s| unpack(s.load(Relaxed)).map_or(u32::MAX, |n| n.id))
            .collect()
    }

    /// Measures point `i` against each of `candidates` and offers both ways.
    fn measure(&self, view: &View<'_>, i: u32, candidates: &[u32]) {
        let row = view.rows.row(i as usize);
        for &l in candidates.iter().take(PREFETCH_AHEAD) {
            prefetch(view.rows.row(l as usize));
        }
        for (c, &l) in candidates.iter().enumerate() {
            if let Some(&next) = candidates.get(c + PREFETCH_AHEAD) {
                prefetch(view.rows.row(next as usize));
            }
            let dist = view.dist(row, l);
            self.offer(i, Near { dist, id: l });
            self.offer(l, Near { dist, id: i });
        }
    }
}

/// Collects into `candidates` the points in the lists of point `i`'s list (`lists` holds k
/// ids per point, `u32::MAX` empty) that are neither `i` nor already in its list
/// (`marks[j] == i` marks a point seen for `i`).
fn second_hops(lists: &[u32], k: usize, i: u32, marks: &mut [u32], candidates: &mut Vec<u32>) {
    let list = |j: u32| {
        lists[j as usize * k..(j as usize + 1) * k]
            .iter()
            .copied()
            .filter(|&l| l != u32::MAX)
    };
    candidates.clear();
    marks[i as usize] = i;
    for j in list(i) {
        marks[j as usize] = i;
    }
    for j in list(i) {
        for l in list(j) {
            if std::mem::replace(&mut marks[l as usize], i) != i {
                candidates.push(l);
            }
        }
    }
}

/// A slot's contents.
fn pack(near: Near) -> u64 {
    (u64::from(near.dist.to_bits()) << 32) | u64::from(near.id)
}

/// A slot's neighbour, or `None` when it is empty.
fn unpack(slot: u64) -> Option<Near> {
    (slot != EMPTY).then(|| Near {
        dist: f32::from_bits((slot >> 32) as u32),
        id: slot as u32,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn near(dist: f32, id: u32) -> Near {
        Near { dist, id }
    }

    fn sorted(h: &Harvest, i: usize) -> Vec<u32> {
        let mut ids: Vec<u32> = h.list(i).collect();
        ids.sort_unstable();
        ids
    }

    #[test]
    fn a_list_keeps_the_k_nearest_offers_once_each() {
        let h = Harvest::new(10, 3);
        for (d, id) in [(0.5, 1), (0.2, 2), (0.9, 3), (0.2, 2), (0.1, 4), (0.95, 5)] {
            h.offer(0, near(d, id));
        }
        assert_eq!(sorted(&h, 0), vec![1, 2, 4]);
        assert_eq!(f32::from_bits(h.bar[0].load(Relaxed)), 0.5);
        h.offer(0, near(0.5, 0));
        assert_eq!(sorted(&h, 0), vec![0, 2, 4], "ties go to the lower index");
    }

    #[test]
    fn an_insertion_keeps_only_the_k_nearest_it_found() {
        let h = Harvest::new(6, 2);
        h.keep_nearest(5, &[near(0.1, 1), near(0.2, 2), near(0.3, 3)]);
        assert_eq!(sorted(&h, 5), vec![1, 2]);
        assert!(sorted(&h, 1).is_empty());
    }
}
