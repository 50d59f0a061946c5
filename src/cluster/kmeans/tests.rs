//! k-means on hand-worked data: expected centroids, labels and inertias are computed by
//! hand in the comments.

use super::distances::assign_and_sum;
use super::*;

fn pool(threads: usize) -> ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
}

fn config(clusters: usize, seed: u64) -> KMeansConfig {
    KMeansConfig {
        clusters,
        restarts: 10,
        max_iter: 300,
        tol: 1e-4,
        seed,
    }
}

/// Two squares of side 2: one around (1, 1), one around (11, 11).
fn two_blobs() -> Vec<f32> {
    vec![
        0., 0., 2., 0., 10., 10., 0., 2., 12., 10., 2., 2., 10., 12., 12., 12.,
    ]
}

#[test]
fn two_blobs_give_their_centres_and_labels() {
    let fit = fit(&two_blobs(), 2, &config(2, 7), &pool(2)).unwrap();
    let mut centres: Vec<Vec<f32>> = fit.centroids.chunks(2).map(<[f32]>::to_vec).collect();
    centres.sort_by(|a, b| a[0].total_cmp(&b[0]));
    assert_eq!(centres, vec![vec![1.0, 1.0], vec![11.0, 11.0]]);
    let a = fit.labels[0];
    let expected: Vec<bool> = vec![true, true, false, true, false, true, false, false];
    let same: Vec<bool> = fit.labels.iter().map(|&l| l == a).collect();
    assert_eq!(same, expected);
    // Every point lies at squared distance 1 + 1 = 2 from its square's centre: 8 × 2.
    assert!((fit.inertia - 16.0).abs() < 1e-9, "{}", fit.inertia);
    assert_eq!(fit.restarts.len(), 10);
    assert!(fit.restarts.iter().all(|r| r.converged));
    assert!((fit.temperature() - 2.0).abs() < 1e-6);
}

#[test]
fn a_fit_depends_on_the_seed_not_the_threads() {
    let (data, _) = crate::knn::synthetic::clustered(5000, 8, 6, 1.5, 3);
    let one = fit(&data, 8, &config(6, 11), &pool(1)).unwrap();
    let two = fit(&data, 8, &config(6, 11), &pool(2)).unwrap();
    assert_eq!(one, two);
    let other = fit(&data, 8, &config(6, 12), &pool(2)).unwrap();
    assert_ne!(one.restarts, other.restarts);
}

#[test]
fn bad_inputs_are_refused() {
    let data = two_blobs();
    let refused = |k| {
        matches!(
            fit(&data, 2, &config(k, 0), &pool(1)),
            Err(KMeansError::BadClusterCount { .. })
        )
    };
    assert!(refused(1) && refused(9));
    let mut nan = data.clone();
    nan[5] = f32::NAN;
    assert!(matches!(
        fit(&nan, 2, &config(2, 0), &pool(1)),
        Err(KMeansError::NonFinite { row: 2 })
    ));
    assert!(matches!(
        fit(&data[..7], 2, &config(2, 0), &pool(1)),
        Err(KMeansError::Shape { .. })
    ));
}

#[test]
fn an_empty_cluster_takes_the_farthest_point() {
    // 1-D points 0, 1, 10 and centroids 0, 100: everything joins centroid 0 (squared
    // distances 0, 1, 100), so cluster 1 is empty and takes point 10; cluster 0 becomes
    // the mean 11/3.
    let data = [0.0, 1.0, 10.0];
    let pass = assign_and_sum(&data, 1, &[0.0, 100.0], &pool(1));
    assert_eq!(pass.labels, vec![0, 0, 0]);
    let (next, empty) = pass.centroids(&data, 1, 2);
    assert_eq!(empty, 1);
    assert!((next[0] - 11.0 / 3.0).abs() < 1e-6);
    assert_eq!(next[1], 10.0);
}

#[test]
fn distances_match_the_definition() {
    let data = [1.0, 2.0, -1.0, 0.5];
    let centroids = [0.0, 0.0, 1.0, 1.0, -2.0, 3.0];
    let d = squared_distances(&data, 2, &centroids, &pool(2));
    // (1,2): 5, 1, 10; (−1, 0.5): 1.25, 4.25, 7.25.
    let expected = [5.0, 1.0, 10.0, 1.25, 4.25, 7.25];
    assert!(
        d.iter().zip(expected).all(|(a, b)| (a - b).abs() < 1e-5),
        "{d:?}"
    );
}

#[test]
fn soft_assignment_is_a_softmax_of_minus_distance_over_temperature() {
    // d = (0, 2), T = 1: p = (1, e⁻²) / (1 + e⁻²) = (0.880797, 0.119203).
    let p = soft_assign(&[0.0, 2.0, 3.0, 3.0], 2, 1.0);
    assert!((p[0] - 0.880_797).abs() < 1e-5 && (p[1] - 0.119_203).abs() < 1e-5);
    assert_eq!(&p[2..], &[0.5, 0.5]);
}
