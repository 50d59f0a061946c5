//! Heads-only SCAN on precomputed features: anchor–neighbour pairs per second of
//! `ScanFeatures`' trainer (batch 128, default parameters: 1 head of 10 clusters, Adam) on
//! N random unit vectors of 128 and 512 values with a random top-20 neighbour table, and on
//! the 128-D set `cifar-cpu.ron`'s heads too (10 heads with a 256-unit hidden layer, whose
//! two layer-wide products use the rayon pool's 2 threads); and the time of a `KMeans` fit
//! (k = 10, 10 restarts) on the 128-D set. Single thread for the linear heads (as the
//! operator runs), the node's 2 workers for k-means.
//!
//! Run with (the test profile is opt-level 3):
//!
//! ```text
//! cargo test --bench scan_features -- [--points 50000] [--epochs 5]
//! ```

use std::time::Instant;

use scanflow::cluster::kmeans::{self, KMeansConfig};
use scanflow::data::NeighbourTable;
use scanflow::knn::synthetic::gaussian;
use scanflow::ops::{ScanFeaturesParams, ScanFeaturesPoints, ScanFeaturesTrainer};
use scanflow::rng::SplitMix64;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let flag = |name: &str, default: usize| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let (points, epochs) = (flag("--points", 50_000), flag("--epochs", 5));
    let table = random_table(points, 20, 7);
    for dim in [128, 512] {
        let features = unit_rows(points, dim, dim as u64);
        heads(
            &features,
            dim,
            &table,
            epochs,
            &ScanFeaturesParams::default(),
        );
        if dim == 128 {
            let mlp = ScanFeaturesParams {
                heads: 10,
                hidden: Some(256),
                ..ScanFeaturesParams::default()
            };
            heads(&features, dim, &table, epochs, &mlp);
            kmeans_fit(&features, dim);
        }
    }
}

/// `n` random unit vectors.
fn unit_rows(n: usize, dim: usize, seed: u64) -> Vec<f32> {
    let mut data = gaussian(n, dim, seed);
    for row in data.chunks_exact_mut(dim) {
        let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt();
        row.iter_mut().for_each(|v| *v /= norm);
    }
    data
}

/// Each point's `k` neighbours drawn uniformly from the other points.
fn random_table(n: usize, k: usize, seed: u64) -> NeighbourTable {
    let mut rng = SplitMix64::new(seed);
    let indices = (0..n * k)
        .map(|i| ((i / k + 1 + rng.below(n - 1)) % n) as u32)
        .collect();
    NeighbourTable {
        k,
        indices,
        similarities: vec![0.0; n * k],
        labels: None,
        ids: None,
    }
}

/// Pairs per second of each epoch of heads of `params`; prints the median.
fn heads(
    features: &[f32],
    dim: usize,
    table: &NeighbourTable,
    epochs: usize,
    params: &ScanFeaturesParams,
) {
    let mut trainer = ScanFeaturesTrainer::new(params, dim, 1).unwrap();
    let points = features.len() / dim;
    let mut rates: Vec<f64> = (0..epochs)
        .map(|_| {
            let start = Instant::now();
            trainer
                .epoch(&ScanFeaturesPoints::plain(features), table)
                .unwrap();
            points as f64 / start.elapsed().as_secs_f64()
        })
        .collect();
    rates.sort_by(f64::total_cmp);
    let rounded: Vec<String> = rates.iter().map(|r| format!("{r:.0}")).collect();
    println!(
        "heads-only SCAN {points} × {dim}, {} heads, hidden {:?}, batch {}: median {:.0} pairs/s (epochs: {})",
        params.heads,
        params.hidden,
        params.batch,
        rates[rates.len() / 2],
        rounded.join(", ")
    );
}

/// One k-means fit, k = 10, 10 restarts, 2 threads.
fn kmeans_fit(features: &[f32], dim: usize) {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    let config = KMeansConfig {
        clusters: 10,
        restarts: 10,
        max_iter: 300,
        tol: 1e-4,
        seed: 0,
    };
    let start = Instant::now();
    let fit = kmeans::fit(features, dim, &config, &pool).unwrap();
    let iterations: Vec<usize> = fit.restarts.iter().map(|r| r.iterations).collect();
    println!(
        "k-means {} × {dim}, k 10, 10 restarts: {:.2} s (iterations per restart {iterations:?})",
        features.len() / dim,
        start.elapsed().as_secs_f64()
    );
}
