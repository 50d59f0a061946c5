//! The HNSW link structure (Malkov & Yashunin 2018), flat like hnswlib's: every node owns
//! one block of `u32`s holding, for layer 0, a count and up to 2m links, then for each
//! upper layer it reaches a count and up to m links. Levels are drawn up front from a
//! seeded generator (level = ⌊−ln U / ln m⌋), so the layout is fixed before any insertion.
//! Links are atomics and each node has a lock for writers: searches read lists without
//! locking and may see a list mid-rewrite, which only ever holds valid node ids.

use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::rng::SplitMix64;

/// Seed of the level draw: the same points always get the same levels.
const LEVEL_SEED: u64 = 0x4853_4e57;
/// Highest level a node may reach.
pub(crate) const MAX_LEVEL: u8 = 15;

/// The links of an HNSW graph over nodes 0..N.
pub(crate) struct Graph {
    /// Links per node on upper layers (layer 0 keeps 2m).
    pub(crate) m: usize,
    /// Each node's top layer.
    pub(crate) levels: Vec<u8>,
    /// Start of each node's block in `links` (N + 1 entries).
    offsets: Vec<usize>,
    /// All blocks: per layer a count then its link slots.
    pub(crate) links: Vec<AtomicU32>,
    /// One writer lock per node.
    locks: Vec<Mutex<()>>,
    /// The entry point and its level.
    entry: Mutex<(u32, u8)>,
}

impl Graph {
    /// An empty graph over `n` nodes with seeded levels; node 0 is the entry point.
    pub(crate) fn new(n: usize, m: usize) -> Self {
        let scale = 1.0 / (m.max(2) as f64).ln();
        let mut rng = SplitMix64::new(LEVEL_SEED);
        let levels: Vec<u8> = (0..n)
            .map(|_| {
                let u = f64::from(rng.uniform_f32(f32::EPSILON, 1.0));
                (-u.ln() * scale).min(f64::from(MAX_LEVEL)) as u8
            })
            .collect();
        let links = vec![0u32; block_offsets(&levels, m).last().copied().unwrap_or(0)];
        Self::from_parts(m, levels, links, 0)
    }

    /// A graph from its levels, the flat link array and the entry point (the caller checks
    /// that `links` matches the layout and `entry` is a node).
    pub(crate) fn from_parts(m: usize, levels: Vec<u8>, links: Vec<u32>, entry: u32) -> Self {
        let offsets = block_offsets(&levels, m);
        let entry = (entry, levels.get(entry as usize).copied().unwrap_or(0));
        Graph {
            m,
            locks: (0..levels.len()).map(|_| Mutex::new(())).collect(),
            links: links.into_iter().map(AtomicU32::new).collect(),
            offsets,
            levels,
            entry: Mutex::new(entry),
        }
    }

    /// Number of nodes.
    pub(crate) fn len(&self) -> usize {
        self.levels.len()
    }

    /// Link slots on `layer`: 2m on layer 0, m above.
    pub(crate) fn capacity(&self, layer: u8) -> usize {
        if layer == 0 {
            2 * self.m
        } else {
            self.m
        }
    }

    /// Index in `links` of node `i`'s count on `layer` (its links follow).
    fn slot(&self, i: u32, layer: u8) -> usize {
        let base = self.offsets[i as usize];
        match layer {
            0 => base,
            l => base + 2 * self.m + 1 + (usize::from(l) - 1) * (self.m + 1),
        }
    }

    /// Copies node `i`'s links on `layer` into `out` (cleared first), without locking.
    pub(crate) fn neighbours(&self, i: u32, layer: u8, out: &mut Vec<u32>) {
        out.clear();
        let slot = self.slot(i, layer);
        let count = (self.links[slot].load(Relaxed) as usize).min(self.capacity(layer));
        out.extend(
            self.links[slot + 1..slot + 1 + count]
                .iter()
                .map(|l| l.load(Relaxed)),
        );
    }

    /// Replaces node `i`'s links on `layer` (the caller holds its lock).
    pub(crate) fn set_neighbours(&self, i: u32, layer: u8, ids: &[u32]) {
        let slot = self.slot(i, layer);
        let count = ids.len().min(self.capacity(layer));
        for (cell, &id) in self.links[slot + 1..].iter().zip(&ids[..count]) {
            cell.store(id, Relaxed);
        }
        self.links[slot].store(count as u32, Relaxed);
    }

    /// Node `i`'s writer lock.
    pub(crate) fn lock(&self, i: u32) -> MutexGuard<'_, ()> {
        self.locks[i as usize]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The entry point and its level.
    pub(crate) fn entry(&self) -> (u32, u8) {
        *self.entry.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Makes `i` the entry point if its level is above the current one.
    pub(crate) fn raise_entry(&self, i: u32) {
        let mut entry = self.entry.lock().unwrap_or_else(PoisonError::into_inner);
        if self.levels[i as usize] > entry.1 {
            *entry = (i, self.levels[i as usize]);
        }
    }
}

/// Where each node's block starts in the flat link array, plus its total length.
pub(crate) fn block_offsets(levels: &[u8], m: usize) -> Vec<usize> {
    let mut offsets = Vec::with_capacity(levels.len() + 1);
    let mut next = 0;
    for &level in levels {
        offsets.push(next);
        next += 2 * m + 1 + usize::from(level) * (m + 1);
    }
    offsets.push(next);
    offsets
}
