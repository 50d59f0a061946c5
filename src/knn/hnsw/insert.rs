//! Parallel insertion that gives the same graph on any number of threads. Points are
//! inserted in batches of consecutive indices. Within a batch every point first plans its
//! links in parallel against the graph as it stood before the batch (read only): the
//! usual HNSW descent and width-ef searches, plus an exact scan of the batch's earlier
//! points, which the graph does not hold yet. Then each point writes its own lists, and
//! the links back to it are applied grouped by the node that receives them, each group
//! in index order. Nothing depends on which thread ran first, so the same points always
//! give the same links, harvest and neighbour table; a batch's scan also means no two
//! points miss each other because they were inserted at the same moment.
//!
//! Batches grow with the graph (an eighth of the points already linked, at most
//! [`MAX_BATCH`]): a small graph takes few points at a time, so each still finds the
//! points it should link to; the batch scan costs at most `MAX_BATCH / 2` inner products
//! per point, a fraction of one width-100 search.

use std::ops::Range;

use rayon::prelude::*;

use super::harvest::Harvest;
use super::search::{Near, View};

/// The most points inserted in one batch.
const MAX_BATCH: u32 = 512;

/// One point's planned links: for each of its layers, top first, the nodes it links to.
struct Plan {
    q: u32,
    layers: Vec<(u8, Vec<Near>)>,
}

/// Inserts points 1..N of `view`'s graph (node 0 is the first entry point) with search
/// width `ef`, recording into `harvest` if given; call it inside the caller's pool.
pub(super) fn insert_all(view: &View<'_>, ef: usize, harvest: Option<&Harvest>) {
    let n = view.graph.len() as u32;
    let mut start = 1;
    while start < n {
        let end = n.min(start + (start / 8).clamp(1, MAX_BATCH));
        insert_batch(view, start..end, ef, harvest);
        start = end;
    }
}

/// Plans every point of `batch` in parallel, then writes the links (see the module notes).
fn insert_batch(view: &View<'_>, batch: Range<u32>, ef: usize, harvest: Option<&Harvest>) {
    let plans: Vec<Plan> = batch
        .clone()
        .into_par_iter()
        .map(|q| plan(view, q, batch.start, ef, harvest))
        .collect();
    plans.par_iter().for_each(|plan| {
        for (layer, chosen) in &plan.layers {
            let ids: Vec<u32> = chosen.iter().map(|n| n.id).collect();
            let _lock = view.graph.lock(plan.q);
            view.graph.set_neighbours(plan.q, *layer, &ids);
        }
    });
    let mut back: Vec<(u32, u8, Near)> = plans
        .iter()
        .flat_map(|plan| {
            plan.layers.iter().flat_map(move |(layer, chosen)| {
                chosen.iter().map(move |n| {
                    let link = Near {
                        dist: n.dist,
                        id: plan.q,
                    };
                    (n.id, *layer, link)
                })
            })
        })
        .collect();
    back.sort_unstable_by_key(|&(node, layer, link)| (node, layer, link.id));
    back.par_chunk_by(|a, b| (a.0, a.1) == (b.0, b.1))
        .for_each(|group| {
            for &(node, layer, link) in group {
                view.connect(node, link, layer);
            }
        });
    for q in batch {
        view.graph.raise_entry(q);
    }
}

/// Point `q`'s links, chosen from what a search of the current graph finds and from the
/// batch's points before it (`first_new..q`); on layer 0 the measured distances go to
/// `harvest`.
fn plan(view: &View<'_>, q: u32, first_new: u32, ef: usize, harvest: Option<&Harvest>) -> Plan {
    let graph = view.graph;
    let (entry, top) = graph.entry();
    let query = view.rows.row(q as usize);
    let level = graph.levels[q as usize];
    let offer = |node: u32, dist: f32| {
        if let Some(harvest) = harvest {
            harvest.offer(node, Near { dist, id: q });
        }
    };
    let mut near = Near {
        dist: view.dist(query, entry),
        id: entry,
    };
    for layer in (level.saturating_add(1)..=top).rev() {
        near = view.greedy(query, near, layer);
    }
    let mut layers = Vec::with_capacity(usize::from(level) + 1);
    for layer in (0..=level).rev() {
        let found = match layer {
            0 => view.search_layer_seen(query, near, ef, 0, |n| offer(n.id, n.dist)),
            _ if layer <= top => view.search_layer(query, near, ef, layer),
            _ => Vec::new(),
        };
        near = found.first().copied().unwrap_or(near);
        let mut mates: Vec<Near> = (first_new..q)
            .filter(|&p| graph.levels[p as usize] >= layer)
            .map(|p| Near {
                dist: view.dist(query, p),
                id: p,
            })
            .collect();
        if layer == 0 {
            mates.iter().for_each(|n| offer(n.id, n.dist));
        }
        mates.sort_unstable();
        let found = merge_nearest(&found, &mates, ef);
        if let (0, Some(harvest)) = (layer, harvest) {
            harvest.keep_nearest(q, &found);
        }
        layers.push((layer, view.select(&found, graph.m)));
    }
    Plan { q, layers }
}

/// The `ef` nearest of two lists sorted nearest first, nearest first.
fn merge_nearest(a: &[Near], b: &[Near], ef: usize) -> Vec<Near> {
    let mut merged = Vec::with_capacity(ef.min(a.len() + b.len()));
    let (mut i, mut j) = (0, 0);
    while merged.len() < ef {
        let next = match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) if x <= y => {
                i += 1;
                *x
            }
            (_, Some(y)) => {
                j += 1;
                *y
            }
            (Some(x), None) => {
                i += 1;
                *x
            }
            (None, None) => break,
        };
        merged.push(next);
    }
    merged
}
