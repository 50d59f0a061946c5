//! Maximum-weight assignment on a rectangular `rows × cols` matrix by the Hungarian method
//! (Kuhn–Munkres with row/column potentials u, v, O(n²·m) for n = min(rows, cols) ≤ m):
//! min(rows, cols) pairs, each row and each column used at most once, maximising Σ w[r, c].
//!
//! Costs are −w; one row is added at a time along a shortest augmenting path whose reduced
//! costs `cost[i, j] − u[i] − v[j]` stay ≥ 0, so the final matching is optimal.

use super::MetricsError;

/// For each row of the row-major `rows × cols` `weights`, the column it is assigned to in a
/// maximum-weight assignment; `None` for rows left over when `rows > cols`.
///
/// Ties are broken deterministically. Errors when `weights` is not `rows · cols` long.
pub fn max_weight_assignment(
    weights: &[i64],
    rows: usize,
    cols: usize,
) -> Result<Vec<Option<usize>>, MetricsError> {
    if Some(weights.len()) != rows.checked_mul(cols) {
        return Err(MetricsError::Shape {
            what: "the assignment weights",
            len: weights.len(),
            rows,
            cols,
        });
    }
    Ok(assign(weights, rows, cols))
}

/// [`max_weight_assignment`] for weights known to be `rows · cols` long.
pub(crate) fn assign(weights: &[i64], rows: usize, cols: usize) -> Vec<Option<usize>> {
    if rows <= cols {
        let cost: Vec<i128> = weights.iter().map(|&w| -i128::from(w)).collect();
        return solve_min(&cost, rows, cols).into_iter().map(Some).collect();
    }
    let mut cost = vec![0; rows * cols];
    for (i, &w) in weights.iter().enumerate() {
        cost[(i % cols) * rows + i / cols] = -i128::from(w);
    }
    let mut row_to_col = vec![None; rows];
    for (c, r) in solve_min(&cost, cols, rows).into_iter().enumerate() {
        row_to_col[r] = Some(c);
    }
    row_to_col
}

/// Minimum-cost assignment of every row of an `n × m` cost matrix (n ≤ m) to a distinct
/// column; returns the column of each row.
fn solve_min(cost: &[i128], n: usize, m: usize) -> Vec<usize> {
    let mut state = Potentials::new(n, m);
    for row in 1..=n {
        state.add_row(cost, m, row);
    }
    let mut col_of = vec![0; n];
    for (j, &i) in state.row_at.iter().enumerate().skip(1) {
        if i != 0 {
            col_of[i - 1] = j - 1;
        }
    }
    col_of
}

/// The solver state, 1-based with index 0 as a virtual row/column.
struct Potentials {
    /// Row potentials.
    u: Vec<i128>,
    /// Column potentials.
    v: Vec<i128>,
    /// `row_at[j]`: the row matched to column j (0: none).
    row_at: Vec<usize>,
    /// `way[j]`: the previous column on the shortest path to column j.
    way: Vec<usize>,
}

impl Potentials {
    fn new(n: usize, m: usize) -> Self {
        Self {
            u: vec![0; n + 1],
            v: vec![0; m + 1],
            row_at: vec![0; m + 1],
            way: vec![0; m + 1],
        }
    }

    /// Matches `row` by growing a shortest-path tree from it (Dijkstra on reduced costs)
    /// until it reaches a free column, then flips the matching along that path.
    fn add_row(&mut self, cost: &[i128], m: usize, row: usize) {
        self.row_at[0] = row;
        let mut min_to = vec![i128::MAX; m + 1];
        let mut used = vec![false; m + 1];
        let mut j0 = 0;
        loop {
            used[j0] = true;
            let (delta, j1) = self.relax(cost, m, j0, &used, &mut min_to);
            for j in 0..=m {
                if used[j] {
                    self.u[self.row_at[j]] += delta;
                    self.v[j] -= delta;
                } else {
                    min_to[j] -= delta;
                }
            }
            j0 = j1;
            if self.row_at[j0] == 0 {
                break;
            }
        }
        while j0 != 0 {
            let j1 = self.way[j0];
            self.row_at[j0] = self.row_at[j1];
            j0 = j1;
        }
    }

    /// Relaxes the edges of the row matched to column `j0`; returns the smallest tentative
    /// reduced distance to an unvisited column and that column.
    fn relax(
        &mut self,
        cost: &[i128],
        m: usize,
        j0: usize,
        used: &[bool],
        min_to: &mut [i128],
    ) -> (i128, usize) {
        let i0 = self.row_at[j0];
        let costs = &cost[(i0 - 1) * m..i0 * m];
        let (mut delta, mut j1) = (i128::MAX, 0);
        for j in 1..=m {
            if used[j] {
                continue;
            }
            let reduced = costs[j - 1] - self.u[i0] - self.v[j];
            if reduced < min_to[j] {
                min_to[j] = reduced;
                self.way[j] = j0;
            }
            if min_to[j] < delta {
                (delta, j1) = (min_to[j], j);
            }
        }
        (delta, j1)
    }
}

#[cfg(test)]
mod tests;
