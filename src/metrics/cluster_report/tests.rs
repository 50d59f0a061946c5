//! The assembled report: orientation of the confusion matrix, empty clusters, notes and
//! refusals. Expected scores are the hand-worked cases of `scores::tests`.

use super::*;

#[test]
fn permuted_labels_give_a_perfect_report() {
    // Clusters are classes renamed 0→1, 1→2, 2→0; probabilities put the right cluster first.
    let labels = [0, 0, 1, 1, 2, 2];
    let pred = [1, 1, 2, 2, 0, 0];
    let probs: Vec<f32> = pred
        .iter()
        .flat_map(|&c| (0..3).map(move |j| if j == c { 0.8 } else { 0.1 }))
        .collect();
    let report = ClusterReport::compute(&pred, &labels, Some((&probs, 3))).unwrap();
    assert_eq!((report.samples, report.clusters, report.classes), (6, 3, 3));
    for score in [
        report.acc_hungarian,
        report.acc_majority,
        report.nmi,
        report.ari,
    ] {
        assert!((score - 1.0).abs() < 1e-12, "{score}");
    }
    assert_eq!(report.top5, Some(1.0));
    // Rows are classes, columns cluster ids: class 0 sits in cluster 1.
    assert_eq!(report.confusion, [[0, 2, 0], [0, 0, 2], [2, 0, 0]]);
    assert_eq!(report.match_order(), [1, 2, 0]);
    assert_eq!(
        report.confusion_by_match(),
        [[2, 0, 0], [0, 2, 0], [0, 0, 2]]
    );
    assert!(report.notes.is_empty(), "{:?}", report.notes);
}

#[test]
fn empty_and_leftover_clusters_are_noted() {
    // 4 declared clusters, 2 classes; cluster 2 is empty; cluster 3 holds the two class-0
    // samples the matching cannot give it (clusters 0→0, 1→1 are the matched pairs).
    let pred = [0, 0, 0, 1, 1, 3, 3];
    let labels = [0, 0, 0, 1, 1, 0, 0];
    let report = ClusterReport::compute_with_clusters(&pred, &labels, None, Some(4)).unwrap();
    assert_eq!(report.clusters, 4);
    assert!((report.acc_hungarian - 5.0 / 7.0).abs() < 1e-12);
    assert_eq!(report.acc_majority, 1.0);
    assert_eq!(report.top5, None);
    let empty = &report.per_cluster[2];
    assert_eq!(
        (empty.size, empty.purity, empty.majority_class),
        (0, None, None)
    );
    assert_eq!(report.per_cluster[3].majority_class, Some(0));
    assert_eq!(report.match_order(), [0, 1, 2, 3]);
    assert_eq!(
        report.notes,
        [
            "cluster 2 is empty (size 0, purity null)",
            "4 clusters for 2 classes: one-to-one ACC leaves 2 clusters unmatched (their \
             samples count as wrong); majority ACC maps every cluster to its majority class",
            "top-5 skipped: no cluster probabilities given",
        ]
    );
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["per_cluster"][2]["purity"], serde_json::Value::Null);
    assert_eq!(json["confusion"][0], serde_json::json!([3, 0, 0, 2]));
}

#[test]
fn top5_needs_as_many_clusters_as_classes() {
    let probs = [0.5f32, 0.5, 0.0, 0.5, 0.5, 0.0];
    let report = ClusterReport::compute(&[0, 1], &[0, 0], Some((&probs, 3))).unwrap();
    assert_eq!(report.top5, None);
    assert!(report.notes.contains(
        &"top-5 skipped: it needs as many clusters as classes (3 clusters, 1 classes)".into()
    ));
}

#[test]
fn refusals() {
    let err = |result: Result<ClusterReport, MetricsError>| result.unwrap_err().to_string();
    assert_eq!(
        err(ClusterReport::compute(&[0, 1, 1], &[0, 1], None)),
        "3 predictions but 2 labels: they must pair up one to one"
    );
    assert_eq!(
        err(ClusterReport::compute(&[], &[], None)),
        "no samples to evaluate"
    );
    assert_eq!(
        err(ClusterReport::compute(&[0, 0], &[0, 1], None)),
        "1 cluster(s): scoring a clustering needs at least 2"
    );
    assert_eq!(
        err(ClusterReport::compute(
            &[0, 1],
            &[0, 1],
            Some((&[0.5; 3], 2))
        )),
        "the cluster probabilities holds 3 values, not 2 × 2"
    );
    assert_eq!(
        err(ClusterReport::compute_with_clusters(
            &[0, 1],
            &[0, 1],
            Some((&[0.5; 4], 2)),
            Some(3)
        )),
        "the cluster probabilities holds 4 values, not 2 × 3"
    );
    assert_eq!(
        err(ClusterReport::compute(
            &[0, 2],
            &[0, 1],
            Some((&[0.5; 4], 2))
        )),
        "prediction 1 is cluster 2, but there are only 2 clusters"
    );
}

#[test]
fn several_empty_clusters_share_one_note() {
    let report = ClusterReport::compute_with_clusters(&[0, 1], &[0, 1], None, Some(5)).unwrap();
    assert_eq!(
        report.notes[0],
        "3 clusters are empty (size 0, purity null): 2, 3, 4"
    );
    assert_eq!(report.match_order(), [0, 1, 2, 3, 4]);
}
