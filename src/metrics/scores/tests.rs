//! Scores on small tables whose values are worked out by hand below (the ARI and NMI cases
//! are the examples of sklearn's documentation, recomputed here from the textbook formulas).

use super::*;

fn table(pred: &[u32], labels: &[u32]) -> Contingency {
    Contingency::new(pred, labels).unwrap()
}

fn close(got: f64, want: f64) {
    assert!((got - want).abs() < 1e-9, "got {got}, want {want}");
}

#[test]
fn permuted_labels_score_one() {
    // Cluster ids are the classes renamed 0→2, 1→0, 2→1: a perfect clustering.
    let t = table(&[2, 2, 0, 0, 1, 1, 1], &[0, 0, 1, 1, 2, 2, 2]);
    assert_eq!(hungarian_mapping(&t), [Some(1), Some(2), Some(0)]);
    for score in [acc_hungarian(&t), acc_majority(&t), nmi(&t), ari(&t)] {
        close(score, 1.0);
    }
}

#[test]
fn split_class_sklearn_example() {
    // labels [0,0,1,1], pred [0,0,1,2]: rows (clusters) [2,0], [0,1], [0,1].
    // ARI, Hubert & Arabie: index = Σ C(n_ck,2) = C(2,2) = 1; Σ C(a_c,2) = 1 + 0 + 0 = 1;
    // Σ C(b_k,2) = 1 + 1 = 2; expected = 1·2 / C(4,2) = 1/3; max = (1 + 2)/2 = 3/2;
    // ARI = (1 − 1/3) / (3/2 − 1/3) = (2/3)/(7/6) = 4/7 = 0.5714285714.
    // NMI: the clusters determine the class, so I = H(Y) = ln 2; H(Ŷ) = −(½ln½ + 2·¼ln¼)
    // = 1.5 ln 2; NMI = ln 2 / ((ln 2 + 1.5 ln 2)/2) = 1/1.25 = 0.8.
    let t = table(&[0, 0, 1, 2], &[0, 0, 1, 1]);
    close(ari(&t), 4.0 / 7.0);
    close(nmi(&t), 0.8);
    // One-to-one: clusters 0→0 and 1 or 2→1 match 3 of 4; majority maps all three: 4 of 4.
    close(acc_hungarian(&t), 0.75);
    close(acc_majority(&t), 1.0);
}

#[test]
fn overlapping_three_clusters() {
    // labels [0,0,0,1,1,1], pred [0,0,1,1,2,2]: rows [2,0], [1,1], [0,2].
    // ARI: index = 1 + 0 + 0 + 0 + 0 + 1 = 2; Σ C(a_c,2) = 3·C(2,2) = 3; Σ C(b_k,2) =
    // 2·C(3,2) = 6; expected = 3·6 / C(6,2) = 18/15 = 1.2; max = (3 + 6)/2 = 4.5;
    // ARI = (2 − 1.2)/(4.5 − 1.2) = 0.8/3.3 = 8/33 = 0.2424242424.
    // NMI: I = 2·(2/6)·ln((2/6)/((2/6)(3/6))) + 2·(1/6)·ln((1/6)/((2/6)(3/6))) = (2/3) ln 2
    // (the second term is ln 1 = 0); H(Y) = ln 2, H(Ŷ) = ln 3;
    // NMI = (2/3) ln 2 / ((ln 2 + ln 3)/2) = (4/3) ln 2 / ln 6 = 0.5158...
    let t = table(&[0, 0, 1, 1, 2, 2], &[0, 0, 0, 1, 1, 1]);
    close(ari(&t), 8.0 / 33.0);
    close(nmi(&t), 4.0 / 3.0 * 2f64.ln() / 6f64.ln());
    // Hungarian: 0→0, 2→1: 4 of 6. Majority: 0→0, 1→0 (tie, lowest), 2→1: 5 of 6.
    close(acc_hungarian(&t), 4.0 / 6.0);
    close(acc_majority(&t), 5.0 / 6.0);
}

#[test]
fn everything_in_one_cluster_scores_zero() {
    // labels [0,0,1,1], one cluster: I = 0 so NMI = 0. ARI: index = C(2,2)+C(2,2) = 2;
    // Σ C(a_c,2) = C(4,2) = 6; Σ C(b_k,2) = 2; expected = 6·2/6 = 2; max = 4; ARI = 0/2 = 0.
    let t = table(&[0, 0, 0, 0], &[0, 0, 1, 1]);
    close(nmi(&t), 0.0);
    close(ari(&t), 0.0);
    close(acc_hungarian(&t), 0.5);
}

#[test]
fn single_groups_on_both_sides_agree_perfectly() {
    // sklearn's limit case: neither side splits the data, a perfect match.
    let t = table(&[3, 3, 3], &[1, 1, 1]);
    close(nmi(&t), 1.0);
    close(ari(&t), 1.0);
    let empty = Contingency::from_counts(0, 0, vec![]).unwrap();
    close(nmi(&empty), 1.0);
    close(ari(&empty), 1.0);
    close(acc_hungarian(&empty), 0.0);
}

#[test]
fn more_clusters_than_classes() {
    // labels [0,0,0,0,1,1], pred [0,0,1,1,2,2]: one-to-one leaves cluster 1 unmatched (4 of
    // 6 right); majority voting maps clusters 0 and 1 to class 0 (6 of 6).
    let t = table(&[0, 0, 1, 1, 2, 2], &[0, 0, 0, 0, 1, 1]);
    let mapping = hungarian_mapping(&t);
    assert_eq!(mapping.iter().flatten().count(), 2);
    assert_eq!(mapping[2], Some(1));
    close(acc_hungarian(&t), 4.0 / 6.0);
    assert_eq!(majority_mapping(&t), [Some(0), Some(0), Some(1)]);
    close(acc_majority(&t), 1.0);
}

#[test]
fn fewer_clusters_than_classes() {
    // labels [0,1,2,2], pred [0,0,1,1]: rows [1,1,0], [0,0,2]; best: 0→0 or 1, 1→2: 3 of 4.
    let t = table(&[0, 0, 1, 1], &[0, 1, 2, 2]);
    close(acc_hungarian(&t), 0.75);
    assert_eq!(hungarian_mapping(&t)[1], Some(2));
}

#[test]
fn top5_counts_mapped_classes_among_the_five_most_probable() {
    // 6 clusters; cluster c stands for class (c + 5) % 6, so class 0 is cluster 1.
    let mapping: Vec<Option<u32>> = (0..6).map(|c| Some((c + 5) % 6)).collect();
    // Sample 0 (class 0): cluster 1 is 5th most probable → hit. Sample 1 (class 3):
    // cluster 4 is least probable (6th) → miss. Sample 2 (class 5): cluster 0 ties cluster 1
    // for 5th place with probability 0.1 and wins on its lower id → hit.
    let probs = [
        0.30, 0.05, 0.25, 0.20, 0.15, 0.04, //
        0.30, 0.25, 0.20, 0.15, 0.01, 0.09, //
        0.10, 0.10, 0.30, 0.20, 0.15, 0.15,
    ];
    close(top5(&probs, 6, &[0, 3, 5], &mapping).unwrap(), 2.0 / 3.0);
    // With 3 clusters every cluster is in the top 5.
    let mapping = [Some(0), Some(1), Some(2)];
    close(top5(&[0.2, 0.3, 0.5], 3, &[0], &mapping).unwrap(), 1.0);
    let err = top5(&[0.5, 0.5], 3, &[0], &mapping)
        .unwrap_err()
        .to_string();
    assert_eq!(err, "the cluster probabilities holds 2 values, not 1 × 3");
}

#[test]
fn top5_ranks_nan_lowest() {
    // Cluster 0 is NaN; clusters 1..=5 fill the top 5, so class 0 (cluster 0) misses.
    let mapping: Vec<Option<u32>> = (0..6).map(Some).collect();
    let probs = [f32::NAN, 0.1, 0.1, 0.1, 0.1, 0.1];
    close(top5(&probs, 6, &[0], &mapping).unwrap(), 0.0);
}
