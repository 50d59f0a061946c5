//! The matching recovers renumbered clusters and follows the majority of heads; the
//! consensus is the mean of the renumbered probabilities.

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
    let mean = mean_probabilities(&logits, &alignment.perms, 3);
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
    let consensus = argmax_rows(&mean_probabilities(&logits, &alignment.perms, 4), 4);
    assert_eq!(consensus, truth);
    assert_eq!(alignment.agreement, vec![0.75, 1.0, 1.0]);
}

#[test]
fn the_consensus_averages_the_renumbered_probabilities() {
    let logits = random(5 * 2 * 3, 2.0, 7);
    let perms = vec![vec![0, 1, 2], vec![2, 0, 1]];
    let mean = mean_probabilities(&logits, &perms, 3);
    for (row, got) in logits.chunks_exact(6).zip(mean.chunks_exact(3)) {
        let softmax = |z: &[f32]| -> Vec<f32> {
            let total: f32 = z.iter().map(|v| v.exp()).sum();
            z.iter().map(|v| v.exp() / total).collect()
        };
        let (first, second) = (softmax(&row[..3]), softmax(&row[3..]));
        for c in 0..3 {
            let want = (first[c] + second[perms[1][c]]) / 2.0;
            assert!((got[c] - want).abs() < 1e-6, "{got:?}");
        }
        assert!((got.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    }
}
