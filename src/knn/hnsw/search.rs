//! Searching an HNSW [`Graph`] and linking into it, as hnswlib does: a greedy descent
//! through the upper layers, a best-first search of width ef on each lower layer, and the
//! neighbour-selection heuristic (keep a candidate only if it is closer to the base point
//! than to every candidate already kept) both for a new node's links and when a full list
//! takes a new link. Distance is 1 − ⟨a, b⟩; visited nodes are marked with a per-thread
//! epoch array, so a search allocates nothing proportional to N. Before a neighbour list
//! is scanned, the rows of its unvisited nodes are prefetched.

use std::cell::RefCell;
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use super::distance::Dot;
use super::graph::Graph;
use crate::knn::UnitRows;

/// A node and its distance to the point searched for; ordered by distance, then id.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Near {
    /// 1 − ⟨query, node⟩.
    pub(crate) dist: f32,
    /// The node.
    pub(crate) id: u32,
}

impl Eq for Near {}

impl Ord for Near {
    fn cmp(&self, other: &Self) -> Ordering {
        self.dist
            .total_cmp(&other.dist)
            .then(self.id.cmp(&other.id))
    }
}

impl PartialOrd for Near {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Per-thread scratch: visit marks (a node is visited when its mark equals the epoch) and
/// a neighbour-list buffer.
#[derive(Default)]
struct Scratch {
    marks: Vec<u32>,
    epoch: u32,
    links: Vec<u32>,
}

impl Scratch {
    /// Starts a new search over `n` nodes: nothing is visited.
    fn reset(&mut self, n: usize) {
        if self.marks.len() < n {
            self.marks.resize(n, 0);
        }
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            self.marks.fill(0);
            self.epoch = 1;
        }
    }

    /// Marks `i` visited; false when it already was.
    fn visit(&mut self, i: u32) -> bool {
        let mark = &mut self.marks[i as usize];
        let fresh = *mark != self.epoch;
        *mark = self.epoch;
        fresh
    }
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// A graph with the points it links and the distance routine.
pub(crate) struct View<'a> {
    pub(crate) graph: &'a Graph,
    pub(crate) rows: &'a UnitRows,
    pub(crate) dot: Dot,
}

impl View<'_> {
    /// 1 − ⟨query, row j⟩.
    pub(crate) fn dist(&self, query: &[f32], j: u32) -> f32 {
        1.0 - (self.dot)(query, self.rows.row(j as usize))
    }

    /// The `k` nodes nearest `query` found with search width `ef` (≥ k), nearest first.
    pub(crate) fn search(&self, query: &[f32], k: usize, ef: usize) -> Vec<Near> {
        let (entry, top) = self.graph.entry();
        let mut near = Near {
            dist: self.dist(query, entry),
            id: entry,
        };
        for layer in (1..=top).rev() {
            near = self.greedy(query, near, layer);
        }
        let mut found = self.search_layer(query, near, ef.max(k), 0);
        found.truncate(k);
        found
    }

    /// Adds `new` to node `base`'s links on `layer`, re-selecting them when full.
    pub(super) fn connect(&self, base: u32, new: Near, layer: u8) {
        let _lock = self.graph.lock(base);
        let mut ids = Vec::with_capacity(self.graph.capacity(layer) + 1);
        self.graph.neighbours(base, layer, &mut ids);
        if ids.contains(&new.id) {
            return;
        }
        if ids.len() < self.graph.capacity(layer) {
            ids.push(new.id);
            self.graph.set_neighbours(base, layer, &ids);
            return;
        }
        let row = self.rows.row(base as usize);
        for &id in &ids {
            prefetch(self.rows.row(id as usize));
        }
        let mut candidates: Vec<Near> = ids
            .iter()
            .map(|&id| Near {
                dist: self.dist(row, id),
                id,
            })
            .collect();
        candidates.push(new);
        candidates.sort_unstable();
        let kept: Vec<u32> = self
            .select(&candidates, self.graph.capacity(layer))
            .iter()
            .map(|n| n.id)
            .collect();
        self.graph.set_neighbours(base, layer, &kept);
    }

    /// The heuristic: from `candidates` (nearest first) keep at most `cap`, each closer to
    /// the base point than to every one kept before it.
    pub(super) fn select(&self, candidates: &[Near], cap: usize) -> Vec<Near> {
        let mut kept: Vec<Near> = Vec::with_capacity(cap);
        for &c in candidates {
            if kept.len() >= cap {
                break;
            }
            let row = self.rows.row(c.id as usize);
            if kept.iter().all(|k| self.dist(row, k.id) >= c.dist) {
                kept.push(c);
            }
        }
        kept
    }

    /// Greedy walk on `layer`: moves to a nearer neighbour until none is nearer.
    pub(super) fn greedy(&self, query: &[f32], mut near: Near, layer: u8) -> Near {
        SCRATCH.with_borrow_mut(|scratch| loop {
            self.graph.neighbours(near.id, layer, &mut scratch.links);
            let before = near.id;
            for &id in &scratch.links {
                let dist = self.dist(query, id);
                if dist < near.dist {
                    near = Near { dist, id };
                }
            }
            if near.id == before {
                return near;
            }
        })
    }

    /// Best-first search of width `ef` on `layer` from `start`; the ef nearest, nearest
    /// first.
    pub(super) fn search_layer(
        &self,
        query: &[f32],
        start: Near,
        ef: usize,
        layer: u8,
    ) -> Vec<Near> {
        self.search_layer_seen(query, start, ef, layer, |_| {})
    }

    /// [`View::search_layer`], telling `seen` every node it measures, `start` included.
    pub(super) fn search_layer_seen(
        &self,
        query: &[f32],
        start: Near,
        ef: usize,
        layer: u8,
        mut seen: impl FnMut(Near),
    ) -> Vec<Near> {
        SCRATCH.with_borrow_mut(|scratch| {
            scratch.reset(self.graph.len());
            scratch.visit(start.id);
            seen(start);
            let mut frontier = BinaryHeap::from([Reverse(start)]);
            let mut best = BinaryHeap::from([start]);
            let mut links = std::mem::take(&mut scratch.links);
            while let Some(Reverse(current)) = frontier.pop() {
                let worst = best.peek().map_or(f32::INFINITY, |w| w.dist);
                if current.dist > worst && best.len() >= ef {
                    break;
                }
                self.graph.neighbours(current.id, layer, &mut links);
                links.retain(|&id| scratch.visit(id));
                for &id in &links {
                    prefetch(self.rows.row(id as usize));
                }
                for &id in &links {
                    let dist = self.dist(query, id);
                    seen(Near { dist, id });
                    let worst = best.peek().map_or(f32::INFINITY, |w| w.dist);
                    if best.len() < ef || dist < worst {
                        frontier.push(Reverse(Near { dist, id }));
                        best.push(Near { dist, id });
                        if best.len() > ef {
                            best.pop();
                        }
                    }
                }
            }
            scratch.links = links;
            best.into_sorted_vec()
        })
    }
}

/// Asks the CPU to start loading the cache lines of `values` (at most the first 512 bytes:
/// a 128-D row) before they are read. A search reads the rows of a whole neighbour list in
/// an order no hardware prefetcher can guess; issuing their loads first overlaps the
/// cache misses (hnswlib prefetches one row ahead). [`Harvest::refine`] does the same.
pub(crate) fn prefetch<T>(values: &[T]) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let bytes = std::mem::size_of_val(values).min(512);
        let start = values.as_ptr().cast::<i8>();
        for offset in (0..bytes).step_by(64) {
            // SAFETY: `offset` is within `values`; a prefetch reads and writes nothing.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(start.add(offset)) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = values;
}
