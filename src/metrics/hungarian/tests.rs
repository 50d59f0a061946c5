//! Hungarian assignment against brute force: every injective row→column map of small random
//! matrices (≤ 6 on the short side) is enumerated and the best total compared.

use super::*;

/// A small deterministic generator (64-bit LCG, Knuth's constants) for test matrices.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> i64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % n) as i64
    }
}

/// The best total over all injective maps of the `n` short-side indices into the `m` long-side
/// ones, `weight(short, long)` giving each pair's weight.
fn brute_force(n: usize, m: usize, weight: &dyn Fn(usize, usize) -> i64) -> i64 {
    fn go(k: usize, n: usize, m: usize, used: &mut [bool], w: &dyn Fn(usize, usize) -> i64) -> i64 {
        if k == n {
            return 0;
        }
        let mut best = i64::MIN;
        for j in 0..m {
            if !used[j] {
                used[j] = true;
                best = best.max(w(k, j) + go(k + 1, n, m, used, w));
                used[j] = false;
            }
        }
        best
    }
    go(0, n, m, &mut vec![false; m], weight)
}

/// Checks the assignment is one-to-one with min(rows, cols) pairs; returns its total weight.
fn total(weights: &[i64], rows: usize, cols: usize, assignment: &[Option<usize>]) -> i64 {
    assert_eq!(assignment.len(), rows);
    let cols_used: Vec<usize> = assignment.iter().flatten().copied().collect();
    assert_eq!(cols_used.len(), rows.min(cols));
    let mut seen = vec![false; cols];
    for &c in &cols_used {
        assert!(!seen[c], "column {c} assigned twice");
        seen[c] = true;
    }
    let pairs = assignment.iter().enumerate();
    pairs
        .filter_map(|(r, c)| c.map(|c| weights[r * cols + c]))
        .sum()
}

#[test]
fn matches_brute_force_on_random_rectangles() {
    let mut rng = Lcg(7);
    for rows in 1..=6 {
        for cols in 1..=6 {
            for trial in 0..20 {
                // Small ranges make ties common; large ones exercise the potentials.
                let range = if trial % 2 == 0 { 4 } else { 1000 };
                let weights: Vec<i64> = (0..rows * cols).map(|_| rng.below(range) - 3).collect();
                let assignment = max_weight_assignment(&weights, rows, cols).unwrap();
                let got = total(&weights, rows, cols, &assignment);
                let best = if rows <= cols {
                    brute_force(rows, cols, &|r, c| weights[r * cols + c])
                } else {
                    brute_force(cols, rows, &|c, r| weights[r * cols + c])
                };
                assert_eq!(got, best, "{rows}x{cols} {weights:?}");
            }
        }
    }
}

#[test]
fn finds_the_hidden_permutation() {
    // Rows 0..3 prefer columns 2, 0, 3, 1 by a wide margin; a greedy pass would also find
    // it, the point is the orientation of the answer.
    let weights = [
        1, 0, 9, 0, //
        9, 1, 0, 0, //
        0, 0, 1, 9, //
        0, 9, 0, 1,
    ];
    let assignment = max_weight_assignment(&weights, 4, 4).unwrap();
    assert_eq!(assignment, [Some(2), Some(0), Some(3), Some(1)]);
}

#[test]
fn greedy_is_not_enough() {
    // Greedy takes (0,0)=10 then (1,1)=1: 11. The optimum is (0,1)+(1,0) = 9 + 9 = 18.
    let weights = [10, 9, 9, 1];
    let assignment = max_weight_assignment(&weights, 2, 2).unwrap();
    assert_eq!(assignment, [Some(1), Some(0)]);
}

#[test]
fn tall_matrices_leave_rows_unassigned() {
    // 3 rows, 1 column: the heaviest row takes it.
    let assignment = max_weight_assignment(&[2, 7, 5], 3, 1).unwrap();
    assert_eq!(assignment, [None, Some(0), None]);
    assert_eq!(max_weight_assignment(&[], 0, 3).unwrap(), []);
    assert_eq!(max_weight_assignment(&[], 2, 0).unwrap(), [None, None]);
}

#[test]
fn refuses_a_wrong_length() {
    let err = max_weight_assignment(&[1, 2, 3], 2, 2)
        .unwrap_err()
        .to_string();
    assert_eq!(err, "the assignment weights holds 3 values, not 2 × 2");
}
