//! Clustering scores from a contingency table n[c, k] (C clusters × K classes, N samples,
//! cluster sizes a_c, class sizes b_k):
//!
//! - ACC = Σ_c n[c, m(c)] / N for a cluster→class map m: the best one-to-one map (Hungarian)
//!   or each cluster's majority class (many-to-one, the Keras example's evaluation);
//! - NMI = I(Y; Ŷ) / ((H(Y) + H(Ŷ)) / 2), natural logs (sklearn's default
//!   `normalized_mutual_info_score`, arithmetic mean);
//! - ARI (Hubert & Arabie) from the pair-confusion counts, as sklearn's `adjusted_rand_score`;
//! - top-5: share of samples whose class is among the mapped classes of their 5 most probable
//!   clusters (SCAN's evaluation; k = min(5, C)).

use super::hungarian::assign;
use super::{Contingency, MetricsError};

/// The one-to-one cluster→class map maximising the matched samples (Hungarian method);
/// `None` for clusters left over when there are more clusters than classes.
pub fn hungarian_mapping(table: &Contingency) -> Vec<Option<u32>> {
    let weights: Vec<i64> = (0..table.clusters())
        .flat_map(|c| table.row(c).iter().map(|&n| n.min(i64::MAX as u64) as i64))
        .collect();
    let assignment = assign(&weights, table.clusters(), table.classes());
    assignment
        .into_iter()
        .map(|k| k.map(|k| k as u32))
        .collect()
}

/// Each cluster's most frequent class (lowest id on ties); `None` for empty clusters.
pub fn majority_mapping(table: &Contingency) -> Vec<Option<u32>> {
    (0..table.clusters()).map(|c| table.majority(c)).collect()
}

/// Share of samples whose cluster maps to their class (0 for an empty table).
pub fn mapped_accuracy(table: &Contingency, mapping: &[Option<u32>]) -> f64 {
    let hits: u64 = mapping
        .iter()
        .enumerate()
        .filter_map(|(c, k)| k.map(|k| table.count(c, k as usize)))
        .sum();
    ratio(hits, table.total())
}

/// Accuracy under the best one-to-one cluster→class matching.
pub fn acc_hungarian(table: &Contingency) -> f64 {
    mapped_accuracy(table, &hungarian_mapping(table))
}

/// Accuracy when each cluster is labelled with its majority class.
pub fn acc_majority(table: &Contingency) -> f64 {
    mapped_accuracy(table, &majority_mapping(table))
}

/// Normalised mutual information, arithmetic-mean normalisation.
///
/// As sklearn: 1 when both sides are a single group (or the table is empty), 0 when the
/// mutual information is 0.
pub fn nmi(table: &Contingency) -> f64 {
    let (sizes, class_sizes) = (table.cluster_sizes(), table.class_sizes());
    let groups = |s: &[u64]| s.iter().filter(|&&n| n > 0).count();
    if groups(&sizes) <= 1 && groups(&class_sizes) <= 1 {
        return 1.0;
    }
    let n = table.total() as f64;
    let mut mi = 0.0;
    for (c, &a) in sizes.iter().enumerate() {
        for (&nck, &b) in table.row(c).iter().zip(&class_sizes) {
            if nck > 0 {
                let p = nck as f64 / n;
                mi += p * (nck as f64 * n / (a as f64 * b as f64)).ln();
            }
        }
    }
    if mi <= 0.0 {
        return 0.0;
    }
    mi / ((entropy(&sizes, n) + entropy(&class_sizes, n)) / 2.0)
}

/// Shannon entropy (nats) of a partition with group sizes `sizes` out of `n`.
fn entropy(sizes: &[u64], n: f64) -> f64 {
    let terms = sizes.iter().filter(|&&s| s > 0).map(|&s| s as f64 / n);
    -terms.map(|p| p * p.ln()).sum::<f64>()
}

/// Adjusted Rand index from ordered pair counts (exact in integers):
/// tp = Σ n²ᵢⱼ − N, fp = Σ n_ck·a_c − Σ n², fn = Σ n_ck·b_k − Σ n², tn = N² − tp − fp − fn − N,
/// ARI = 2(tp·tn − fn·fp) / ((tp + fn)(fn + tn) + (tp + fp)(fp + tn)); 1 when fp = fn = 0.
pub fn ari(table: &Contingency) -> f64 {
    let (sizes, class_sizes) = (table.cluster_sizes(), table.class_sizes());
    let n = i128::from(table.total());
    let (mut squares, mut by_cluster, mut by_class) = (0i128, 0i128, 0i128);
    for (c, &a) in sizes.iter().enumerate() {
        for (&nck, &b) in table.row(c).iter().zip(&class_sizes) {
            let nck = i128::from(nck);
            squares += nck * nck;
            by_cluster += nck * i128::from(a);
            by_class += nck * i128::from(b);
        }
    }
    let (tp, fp, fn_) = (squares - n, by_cluster - squares, by_class - squares);
    let tn = n * n - fp - fn_ - squares;
    if fp == 0 && fn_ == 0 {
        return 1.0;
    }
    let numerator = 2.0 * (tp as f64 * tn as f64 - fn_ as f64 * fp as f64);
    numerator / ((tp + fn_) as f64 * (fn_ + tn) as f64 + (tp + fp) as f64 * (fp + tn) as f64)
}

/// Top-5 accuracy: `probs` is N × `clusters` row-major; a sample counts as right when its
/// label is among the classes `mapping` gives its min(5, C) most probable clusters (ties:
/// lower cluster first, NaN lowest).
pub fn top5(
    probs: &[f32],
    clusters: usize,
    labels: &[u32],
    mapping: &[Option<u32>],
) -> Result<f64, MetricsError> {
    if probs.len() != labels.len() * clusters || mapping.len() != clusters {
        return Err(MetricsError::Shape {
            what: "the cluster probabilities",
            len: probs.len(),
            rows: labels.len(),
            cols: clusters,
        });
    }
    let k = clusters.min(5);
    let hits = probs
        .chunks_exact(clusters.max(1))
        .zip(labels)
        .filter(|(row, &label)| top_k(row, k).any(|c| mapping[c] == Some(label)))
        .count();
    Ok(ratio(hits as u64, labels.len() as u64))
}

/// The indices of the `k` largest values of `row`, largest first.
fn top_k(row: &[f32], k: usize) -> impl Iterator<Item = usize> {
    let mut order: Vec<usize> = (0..row.len()).collect();
    let key = |v: f32| if v.is_nan() { f32::NEG_INFINITY } else { v };
    order.sort_by(|&a, &b| key(row[b]).total_cmp(&key(row[a])));
    order.into_iter().take(k)
}

/// `hits / total`, 0 when `total` is 0.
fn ratio(hits: u64, total: u64) -> f64 {
    if total == 0 {
        return 0.0;
    }
    hits as f64 / total as f64
}

#[cfg(test)]
mod tests;
