//! One prediction from many heads. SCAN trains several heads from different random starts
//! and keeps the one with the lowest training loss, but on weak features that loss barely
//! tells the heads apart while their accuracy differs by points: which head is kept is
//! close to a draw. The consensus keeps them all instead. Each head's clusters are
//! renumbered to match a common reference (a maximum-weight matching of the heads' hard
//! assignments of the training points, [`align`]) and the renumbered probabilities are
//! averaged ([`mean_probabilities`]). The reference starts as one head's clusters and
//! becomes the consensus' own after each of a few rounds.

use crate::metrics::max_weight_assignment;

/// Rounds of matching every head to the reference, each taking the last consensus as the
/// next reference (the first round's reference is the starting head).
pub const ROUNDS: usize = 3;

/// How the heads were matched: `perms[h][c]` is the cluster of head `h` that plays the
/// consensus' cluster `c`, and `agreement[h]` the share of the rows whose renumbered hard
/// assignment under head `h` equals the consensus'.
#[derive(Clone, Debug, PartialEq)]
pub struct Alignment {
    /// Each head's cluster for each consensus cluster.
    pub perms: Vec<Vec<usize>>,
    /// Each head's agreement with the consensus, in `[0, 1]`.
    pub agreement: Vec<f64>,
}

/// Matches the clusters of the `heads` heads whose logits are `logits` (`rows × (H·C)`,
/// head-major columns) over [`ROUNDS`] rounds, starting from head `start`'s clusters.
pub fn align(logits: &[f32], heads: usize, clusters: usize, start: usize) -> Alignment {
    let hard: Vec<Vec<usize>> = (0..heads)
        .map(|h| hard_assignments(logits, heads, clusters, h))
        .collect();
    let mut reference = hard[start].clone();
    let mut perms = Vec::new();
    for _ in 0..ROUNDS {
        perms = hard
            .iter()
            .map(|head| match_clusters(&reference, head, clusters))
            .collect();
        reference = argmax_rows(&mean_probabilities(logits, &perms, clusters), clusters);
    }
    let agreement = hard
        .iter()
        .zip(&perms)
        .map(|(head, perm)| agreement(&reference, head, perm))
        .collect();
    Alignment { perms, agreement }
}

/// The mean over heads of the renumbered probabilities, `rows × C`: the consensus'
/// prediction, and the reference of each next round of matching.
pub fn mean_probabilities(logits: &[f32], perms: &[Vec<usize>], clusters: usize) -> Vec<f32> {
    let heads = perms.len();
    let mut mean = vec![0f32; logits.len() / heads];
    let rows = logits.chunks_exact(heads * clusters);
    for (row, out) in rows.zip(mean.chunks_exact_mut(clusters)) {
        for (h, perm) in perms.iter().enumerate() {
            let z = &row[h * clusters..(h + 1) * clusters];
            let max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let total: f32 = z.iter().map(|v| (v - max).exp()).sum::<f32>() * heads as f32;
            for (o, &own) in out.iter_mut().zip(perm) {
                *o += (z[own] - max).exp() / total;
            }
        }
    }
    mean
}

/// Each row's most likely cluster under head `head`.
fn hard_assignments(logits: &[f32], heads: usize, clusters: usize, head: usize) -> Vec<usize> {
    let columns = heads * clusters;
    let own = |row: &[f32]| argmax(&row[head * clusters..(head + 1) * clusters]);
    logits.chunks_exact(columns).map(own).collect()
}

/// Each row's largest column (the first on ties).
fn argmax_rows(values: &[f32], clusters: usize) -> Vec<usize> {
    values.chunks_exact(clusters).map(argmax).collect()
}

fn argmax(row: &[f32]) -> usize {
    (0..row.len()).fold(0, |best, c| if row[c] > row[best] { c } else { best })
}

/// For each reference cluster, the cluster of `other` sharing the most rows with it under
/// a one-to-one matching.
fn match_clusters(reference: &[usize], other: &[usize], clusters: usize) -> Vec<usize> {
    let mut counts = vec![0i64; clusters * clusters];
    for (&r, &o) in reference.iter().zip(other) {
        counts[r * clusters + o] += 1;
    }
    max_weight_assignment(&counts, clusters, clusters)
        .expect("a clusters × clusters table")
        .into_iter()
        .enumerate()
        .map(|(r, o)| o.unwrap_or(r))
        .collect()
}

/// The share of rows where `head`, renumbered by `perm`, agrees with `reference`.
fn agreement(reference: &[usize], head: &[usize], perm: &[usize]) -> f64 {
    let mut own_to_consensus = vec![0; perm.len()];
    perm.iter()
        .enumerate()
        .for_each(|(c, &own)| own_to_consensus[own] = c);
    let same = reference
        .iter()
        .zip(head)
        .filter(|(&r, &h)| own_to_consensus[h] == r)
        .count();
    same as f64 / reference.len().max(1) as f64
}

#[cfg(test)]
mod tests;
