//! One similarity tile and its fused top-k scan. A tile is S = A·Bᵀ for a block A of h rows
//! and a block B of w rows (both row-major, `dim` wide), an h×w row-major f32 matrix computed
//! on the calling thread. The scan compares 16 scores at a time against
//! the lists' k-th similarities ([`lanes`](super::lanes): one packed compare per score);
//! only the rare lanes that reach a threshold go to the insertion in [`TopK::offer`].

use super::lanes::{reaches, reaches_either, LANES};
use super::topk::TopK;
use crate::linalg::{matmul, Mat};

/// `tile` (h×w, row-major) = `a` (h×dim) · `b` (w×dim)ᵀ.
pub(crate) fn inner_products(a: &[f32], b: &[f32], dim: usize, tile: &mut [f32]) {
    let (h, w) = (a.len() / dim, b.len() / dim);
    let (a, b) = ((a, Mat::rows(h, dim)), (b, Mat::rows(w, dim).t()));
    if let Err(error) = matmul((tile, Mat::rows(h, w)), a, b, false, 1) {
        panic!("similarity tile: {error}");
    }
}

/// Feeds an off-diagonal tile both ways: row `r` (point `row_first + r`) is offered every
/// column to `rows`, column `c` (point `col_first + c`) every row to `cols`. The blocks are
/// disjoint, so no point meets itself.
pub(crate) fn scan_both(
    tile: &[f32],
    (rows, row_first): (&mut TopK, u32),
    (cols, col_first): (&mut TopK, u32),
) {
    let width = cols.worst().len();
    for (r, line) in tile.chunks_exact(width).enumerate() {
        let row_id = row_first + r as u32;
        let chunks = line.chunks_exact(LANES);
        let tail = chunks.remainder();
        for (c, chunk) in chunks.enumerate() {
            let c0 = c * LANES;
            let bound = rows.worst()[r];
            if reaches_either(chunk, bound, &cols.worst()[c0..c0 + LANES]) {
                offer_both(chunk, c0, (rows, r, col_first), (cols, row_id));
            }
        }
        let c0 = line.len() - tail.len();
        offer_both(tail, c0, (rows, r, col_first), (cols, row_id));
    }
}

/// Feeds every row of a tile to `rows`: row `r` is offered point `col_first + c` for every
/// column `c` except its own point `own(r)` (excluded by index, so an identical duplicate
/// is still a neighbour).
pub(crate) fn scan_rows(
    tile: &[f32],
    width: usize,
    rows: &mut TopK,
    col_first: u32,
    own: impl Fn(usize) -> u32,
) {
    for (r, line) in tile.chunks_exact(width).enumerate() {
        let own = own(r);
        let chunks = line.chunks_exact(LANES);
        let tail = chunks.remainder();
        for (c, chunk) in chunks.enumerate() {
            if reaches(chunk, rows.worst()[r]) {
                offer_row(chunk, (c * LANES) as u32 + col_first, own, rows, r);
            }
        }
        let first = (line.len() - tail.len()) as u32 + col_first;
        offer_row(tail, first, own, rows, r);
    }
}

/// Offers scores `chunk` (columns `c0..`) to row `r` of `rows` and to their columns in
/// `cols`, each only where it reaches that list's threshold.
#[inline(never)]
fn offer_both(
    chunk: &[f32],
    c0: usize,
    (rows, r, col_first): (&mut TopK, usize, u32),
    (cols, row_id): (&mut TopK, u32),
) {
    for (l, &s) in chunk.iter().enumerate() {
        if s >= rows.worst()[r] {
            rows.offer(r, s, col_first + (c0 + l) as u32);
        }
        if s >= cols.worst()[c0 + l] {
            cols.offer(c0 + l, s, row_id);
        }
    }
}

/// Offers scores `chunk` (points `first..`) to row `r`, skipping point `own`.
#[inline(never)]
fn offer_row(chunk: &[f32], first: u32, own: u32, rows: &mut TopK, r: usize) {
    for (l, &s) in chunk.iter().enumerate() {
        let id = first + l as u32;
        if s >= rows.worst()[r] && id != own {
            rows.offer(r, s, id);
        }
    }
}
