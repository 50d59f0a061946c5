//! The matching recovers renumbered clusters, follows the majority of heads, and the
//! combined weights compute exactly the mean of the renumbered logits.

use super::*;
use crate::rng::SplitMix64;

fn random(n: usize, scale: f32, seed: u64) -> Vec<f32> {
    let mut rng = SplitMix64::new(seed);
    (0..n).map(|_| rng.uniform_f32(-scale, scale)).collect()
}

/// Logits of `rows` rows under heads given as, per head, each row's cluster (a clear
/// winner at 3.0 over 0.0).
fn logits_of(assignments: &[Vec<usize>], clusters: usize) -> Vec<f32> {
    let (heads, rows) = (assignments.len(), assignments[0].len());
    let mut z = vec![0f32; rows * heads * clusters];
    for (h, head) in assignments.iter().enumerate() {
        for (row, &c) in head.iter().enumerate() {
            z[row * heads * clusters + h * clusters + c] = 3.0;
        }
    }
    z
}

#[test]
fn renumbered_copies_of_one_partition_match_exactly() {
    let base: Vec<usize> = (0..30).map(|i| (i * 7 + i / 4) % 3).collect();
    let renumber = [2, 0, 1];
    let other: Vec<usize> = base.iter().map(|&c| renumber[c]).collect();
    let logits = logits_of(&[base.clone(), other], 3);
    let alignment = align(&logits, 2, 3, 0);
    assert_eq!(alignment.perms, vec![vec![0, 1, 2], vec![2, 0, 1]]);
    assert_eq!(alignment.agreement, vec![1.0, 1.0]);
    let mean = mean_logits(&logits, &alignment.perms, 3);
    assert_eq!(argmax_rows(&mean, 3), base);
}

#[test]
fn the_consensus_follows_the_majority_of_heads() {
    let truth: Vec<usize> = (0..40).map(|i| i % 4).collect();
    let mut stray = truth.clone();
    stray[..10].iter_mut().for_each(|c| *c = (*c + 1) % 4);
    let renumbered: Vec<usize> = truth.iter().map(|&c| 3 - c).collect();
    let logits = logits_of(&[stray, truth.clone(), renumbered], 4);
    let alignment = align(&logits, 3, 4, 0);
    let consensus = argmax_rows(&mean_logits(&logits, &alignment.perms, 4), 4);
    assert_eq!(consensus, truth);
    assert_eq!(alignment.agreement, vec![0.75, 1.0, 1.0]);
}

#[test]
fn the_linear_consensus_head_computes_the_mean_of_renumbered_logits() {
    let shape = HeadShape {
        heads: 3,
        clusters: 4,
        dim: 5,
    };
    let weight = random(shape.columns() * shape.dim, 1.0, 1);
    let bias = random(shape.columns(), 0.5, 2);
    let x = random(7 * shape.dim, 1.0, 3);
    let perms = vec![vec![0, 1, 2, 3], vec![3, 2, 1, 0], vec![1, 3, 0, 2]];
    let (one, w, b) = linear_consensus(&shape, &weight, &bias, &perms);
    assert_eq!(one.heads, 1);
    let expected = mean_logits(&shape.logits(&weight, &bias, &x), &perms, 4);
    assert_close(&one.logits(&w, &b, &x), &expected);
}

#[test]
fn the_hidden_layer_consensus_head_computes_the_mean_of_renumbered_logits() {
    let shape = MlpShape {
        heads: 3,
        clusters: 4,
        dim: 5,
        hidden: 6,
    };
    let values: Vec<Vec<f32>> = shape
        .sizes()
        .iter()
        .enumerate()
        .map(|(i, &n)| random(n, 1.0, 10 + i as u64))
        .collect();
    let w = [&values[0][..], &values[1], &values[2], &values[3]];
    let x = random(7 * shape.dim, 1.0, 3);
    let perms = vec![vec![2, 1, 0, 3], vec![0, 1, 2, 3], vec![3, 0, 1, 2]];
    let (one, combined) = mlp_consensus(&shape, w, &perms);
    assert_eq!((one.heads, one.hidden), (1, 18));
    let expected = mean_logits(&shape.logits(w, &x), &perms, 4);
    let c = [&combined[0][..], &combined[1], &combined[2], &combined[3]];
    assert_close(&one.logits(c, &x), &expected);
}

fn assert_close(got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() < 1e-5, "{g} against {w}");
    }
}
