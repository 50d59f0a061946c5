//! Querying a built graph: every indexed point for its neighbours ([`query_all`]), the
//! lists gathered while building it ([`harvested`]) and vectors from outside the index
//! ([`query_external`]). Graph results are re-scored with
//! the exact inner product and sorted by similarity then index; a list the graph left
//! short is filled by exact search, so every row holds k neighbours.

use rayon::prelude::*;
use rayon::ThreadPool;

use super::harvest::Harvest;
use super::search::View;
use crate::data::NeighbourTable;
use crate::knn::{exact, KnnError, UnitRows};

/// Queries every point for k+1 neighbours, drops itself, fills short rows exactly.
pub(super) fn query_all(
    view: &View<'_>,
    k: usize,
    ef_search: usize,
    pool: &ThreadPool,
) -> Result<NeighbourTable, KnnError> {
    view.rows.check_k(k)?;
    let ef = ef_search.max(k + 1);
    table_of(view.rows, k, pool, |i| neighbours_of(view, i, k, ef))
}

/// The lists `harvest` gathered while the graph was built (for k, already checked against
/// the points), re-scored and sorted as the graph's answers are; short rows are filled
/// exactly.
pub(super) fn harvested(
    view: &View<'_>,
    harvest: &Harvest,
    k: usize,
    pool: &ThreadPool,
) -> Result<NeighbourTable, KnnError> {
    table_of(view.rows, k, pool, |i| {
        rescored(view, view.rows.row(i), harvest.list(i))
    })
}

/// The table whose row i is `list_of(i)` ((similarity, index), best first, at most k);
/// rows with fewer than k are answered by exact search. Rows are written in place, so
/// the only memory beyond the table is the short-row list.
fn table_of(
    rows: &UnitRows,
    k: usize,
    pool: &ThreadPool,
    list_of: impl Fn(usize) -> Vec<(f32, u32)> + Sync,
) -> Result<NeighbourTable, KnnError> {
    let mut indices = vec![0u32; rows.len() * k];
    let mut similarities = vec![0f32; rows.len() * k];
    let short: Vec<usize> = pool.install(|| {
        indices
            .par_chunks_mut(k)
            .zip(similarities.par_chunks_mut(k))
            .enumerate()
            .filter_map(|(i, (ids, sims))| {
                let found = list_of(i);
                for ((id, sim), (s, j)) in ids.iter_mut().zip(sims.iter_mut()).zip(&found) {
                    (*id, *sim) = (*j, *s);
                }
                (found.len() < k).then_some(i)
            })
            .collect()
    });
    let exact = exact::search_subset(rows, &short, k, pool)?;
    for (r, &i) in short.iter().enumerate() {
        indices[i * k..(i + 1) * k].copy_from_slice(exact.neighbours(r));
        similarities[i * k..(i + 1) * k].copy_from_slice(&exact.similarities[r * k..(r + 1) * k]);
    }
    Ok(NeighbourTable {
        k,
        indices,
        similarities,
        labels: None,
        ids: None,
    })
}

/// Point `i`'s best `k` graph neighbours other than itself, as (similarity, index) sorted
/// by similarity descending then index; fewer than `k` when the graph returned fewer.
fn neighbours_of(view: &View<'_>, i: usize, k: usize, ef: usize) -> Vec<(f32, u32)> {
    nearest(view, view.rows.row(i), k, ef, Some(i as u32))
}

/// The best `k` graph neighbours of `query` other than point `own`, sorted as
/// [`neighbours_of`]'s.
fn nearest(
    view: &View<'_>,
    query: &[f32],
    k: usize,
    ef: usize,
    own: Option<u32>,
) -> Vec<(f32, u32)> {
    let wanted = k + usize::from(own.is_some());
    let found = view.search(query, wanted, ef).into_iter().map(|n| n.id);
    let mut found = rescored(view, query, found.filter(|&id| Some(id) != own));
    found.truncate(k);
    found
}

/// `ids` as (⟨query, row⟩, index), sorted by similarity descending then index.
fn rescored(view: &View<'_>, query: &[f32], ids: impl Iterator<Item = u32>) -> Vec<(f32, u32)> {
    let mut found: Vec<(f32, u32)> = ids
        .map(|j| ((view.dot)(query, view.rows.row(j as usize)), j))
        .collect();
    found.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    found
}

/// The `k` nearest indexed points (`rows`) to each of `queries`, vectors from outside the
/// index; lists the graph left short are filled by exact search.
pub(super) fn query_external(
    view: &View<'_>,
    queries: &UnitRows,
    k: usize,
    ef: usize,
    pool: &ThreadPool,
) -> Result<NeighbourTable, KnnError> {
    exact::check_external(view.rows, queries, k)?;
    let lists: Vec<Vec<(f32, u32)>> = pool.install(|| {
        (0..queries.len())
            .into_par_iter()
            .map(|q| nearest(view, queries.row(q), k, ef.max(k), None))
            .collect()
    });
    let short: Vec<usize> = (0..lists.len()).filter(|&q| lists[q].len() < k).collect();
    let short_rows: Vec<f32> = short
        .iter()
        .flat_map(|&q| queries.row(q))
        .copied()
        .collect();
    let filled = match short.is_empty() {
        true => None,
        false => {
            let rows = UnitRows::normalise(short_rows, queries.dim())?;
            Some(exact::search_external(view.rows, &rows, k, pool)?)
        }
    };
    let mut table = NeighbourTable {
        k,
        indices: Vec::with_capacity(lists.len() * k),
        similarities: Vec::with_capacity(lists.len() * k),
        labels: None,
        ids: None,
    };
    for (q, list) in lists.iter().enumerate() {
        match (short.binary_search(&q), &filled) {
            (Ok(r), Some(exact)) => {
                table.indices.extend_from_slice(exact.neighbours(r));
                table
                    .similarities
                    .extend_from_slice(&exact.similarities[r * k..(r + 1) * k]);
            }
            _ => {
                table.indices.extend(list.iter().map(|n| n.1));
                table.similarities.extend(list.iter().map(|n| n.0));
            }
        }
    }
    Ok(table)
}
