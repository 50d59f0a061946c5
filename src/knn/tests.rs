//! Tests of neighbour mining: exact search against a brute-force f64 reference (with
//! duplicates and exact ties), HNSW recall on clustered data, saved-index checks, quality
//! figures worked by hand, and every kind of bad input.

use super::hnsw::{self, HnswIndex, HnswParams};
use super::synthetic::{clustered, gaussian};
use super::*;
use crate::data::{FeatureBatch, NeighbourTable};
use crate::rng::SplitMix64;

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
}

/// Brute force in f64: for each point, all others sorted by (similarity desc, index asc).
fn reference(rows: &UnitRows, k: usize) -> Vec<Vec<(f64, u32)>> {
    (0..rows.len())
        .map(|i| {
            let mut all: Vec<(f64, u32)> = (0..rows.len())
                .filter(|&j| j != i)
                .map(|j| {
                    let pairs = rows.row(i).iter().zip(rows.row(j));
                    let dot = pairs.map(|(a, b)| f64::from(*a) * f64::from(*b)).sum();
                    (dot, j as u32)
                })
                .collect();
            all.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            all.truncate(k);
            all
        })
        .collect()
}

/// Rows of 16 values with four entries ±0.5 (norm exactly 1): every dot product is a
/// multiple of 0.25 computed without rounding, so ties are exact and plentiful.
fn tied_rows(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = SplitMix64::new(seed);
    let mut data = vec![0f32; n * 16];
    for row in data.chunks_exact_mut(16) {
        let mut columns: Vec<usize> = (0..16).collect();
        rng.shuffle(&mut columns);
        for &c in &columns[..4] {
            row[c] = if rng.bernoulli(0.5) { 0.5 } else { -0.5 };
        }
    }
    data
}

#[test]
fn exact_matches_brute_force_with_ties_and_duplicates() {
    // 2,500 points span five blocks of 512, the last one ragged.
    let mut data = tied_rows(2500, 7);
    let copy: Vec<f32> = data[..16].to_vec();
    data[16 * 1000..16 * 1001].copy_from_slice(&copy); // point 1000 duplicates point 0
    let rows = UnitRows::normalise(data, 16).unwrap();
    let table = exact::search(&rows, 10, &pool(2)).unwrap();
    for (i, want) in reference(&rows, 10).iter().enumerate() {
        let ids: Vec<u32> = want.iter().map(|&(_, j)| j).collect();
        let sims: Vec<f32> = want.iter().map(|&(s, _)| s as f32).collect();
        assert_eq!(table.neighbours(i), &ids[..], "point {i}");
        assert_eq!(&table.similarities[i * 10..(i + 1) * 10], &sims[..]);
    }
    // The duplicate is the other's best neighbour, but neither is its own.
    assert_eq!((table.neighbours(0)[0], table.similarities[0]), (1000, 1.0));
    assert_eq!(table.neighbours(1000)[0], 0);
}

#[test]
fn exact_agrees_with_brute_force_on_random_data() {
    let rows = UnitRows::normalise(gaussian(700, 37, 3), 37).unwrap();
    let table = exact::search(&rows, 5, &pool(3)).unwrap();
    for (i, want) in reference(&rows, 5).iter().enumerate() {
        for (r, &(sim, _)) in want.iter().enumerate() {
            let got = table.similarities[i * 5 + r];
            assert!((f64::from(got) - sim).abs() < 1e-5, "point {i} rank {r}");
        }
    }
    let single = exact::search(&rows, 5, &pool(1)).unwrap();
    assert_eq!(single, table, "the worker count must not change results");
}

/// Rows of small integers in −2..=2, `dim` wide, with every tenth row a copy of an earlier
/// one. Not unit length (built directly, as a test of the kernel alone): every product and
/// sum is a small integer, so f32 GEMM is exact, ties are everywhere and the f64 reference
/// must be matched bit for bit; a point may also be beaten by another point, so excluding
/// itself by index is tested too.
fn integer_rows(n: usize, dim: usize, seed: u64) -> UnitRows {
    let mut rng = SplitMix64::new(seed);
    let mut data: Vec<f32> = (0..n * dim).map(|_| rng.below(5) as f32 - 2.0).collect();
    for i in (10..n).step_by(10) {
        let from = rng.below(i);
        data.copy_within(from * dim..(from + 1) * dim, i * dim);
    }
    UnitRows { dim, data }
}

/// Asserts `table` equals the f64 reference exactly: same indices, same similarities.
fn assert_reference(rows: &UnitRows, table: &NeighbourTable) {
    for (i, want) in reference(rows, table.k).iter().enumerate() {
        let ids: Vec<u32> = want.iter().map(|&(_, j)| j).collect();
        let sims: Vec<f32> = want.iter().map(|&(s, _)| s as f32).collect();
        assert_eq!(table.neighbours(i), &ids[..], "point {i}");
        assert_eq!(
            &table.similarities[i * table.k..(i + 1) * table.k],
            &sims[..]
        );
    }
}

#[test]
fn exact_is_bit_identical_to_f64_reference_on_integer_rows_with_ties() {
    // 1,000 points in blocks of 48: 21 blocks (an odd count, so rounds have byes) and a
    // ragged last block of 40, which is not a multiple of the 16-wide scan either.
    let rows = integer_rows(1000, 12, 5);
    let table = exact::search_blocked(&rows, 15, &pool(2), 48).unwrap();
    assert_reference(&rows, &table);
    for threads in [1, 3] {
        let other = exact::search_blocked(&rows, 15, &pool(threads), 48).unwrap();
        assert_eq!(other, table, "{threads} workers changed the result");
    }
    assert_eq!(
        exact::search_blocked(&rows, 15, &pool(2), 64).unwrap(),
        table
    );
    let queries = [0, 7, 10, 499, 999];
    let subset = exact::search_subset(&rows, &queries, 15, &pool(2)).unwrap();
    for (r, &q) in queries.iter().enumerate() {
        assert_eq!(subset.neighbours(r), table.neighbours(q), "query {q}");
    }
}

#[test]
fn exact_matches_f64_reference_on_gaussian_rows_with_duplicates() {
    // 1,300 points: three blocks of the default size (512), the last one ragged.
    let mut data = gaussian(1300, 24, 9);
    for (from, to) in [(3, 700), (3, 1299), (600, 5), (1100, 1101)] {
        data.copy_within(from * 24..(from + 1) * 24, to * 24);
    }
    let rows = UnitRows::normalise(data, 24).unwrap();
    let table = exact::search(&rows, 20, &pool(2)).unwrap();
    for (i, want) in reference(&rows, 20).iter().enumerate() {
        let ids: Vec<u32> = want.iter().map(|&(_, j)| j).collect();
        assert_eq!(table.neighbours(i), &ids[..], "point {i}");
        for (r, &(sim, _)) in want.iter().enumerate() {
            let got = f64::from(table.similarities[i * 20 + r]);
            assert!((got - sim).abs() < 1e-6, "point {i} rank {r}");
        }
    }
    // Copies are each other's best neighbours with similarity 1, lower index first.
    assert_eq!(&table.neighbours(3)[..2], &[700, 1299]);
    assert_eq!(&table.neighbours(700)[..2], &[3, 1299]);
    assert_eq!(table.neighbours(1101)[0], 1100);
    assert_eq!(exact::search(&rows, 20, &pool(1)).unwrap(), table);
}

#[test]
fn hnsw_recall_on_clustered_data() {
    let (data, labels) = clustered(2000, 32, 20, 0.3, 11);
    let rows = UnitRows::normalise(data, 32).unwrap();
    let pool = pool(2);
    let index = HnswIndex::build(&rows, HnswParams::default(), &pool);
    let table = index.query_all(&rows, 10, &pool).unwrap();
    let recall = quality::recall_at_k(&rows, &table, 2000, 1, &pool).unwrap();
    assert!(recall >= 0.95, "recall@10 {recall}");
    assert!(table
        .indices
        .chunks(10)
        .enumerate()
        .all(|(i, r)| !r.contains(&(i as u32))));
    // Clusters 0.3 wide around centres ~√32 apart: neighbours share their cluster.
    assert!(quality::label_agreement(&table, &labels) > 0.99);
}

#[test]
fn a_saved_index_is_reloaded_and_refused_for_other_features() {
    let dir = tempfile::tempdir().unwrap();
    let (data, _) = clustered(300, 8, 5, 0.3, 2);
    let rows = UnitRows::normalise(data, 8).unwrap();
    let pool = pool(2);
    let index = HnswIndex::build(&rows, HnswParams::default(), &pool);
    index.save(dir.path(), &rows).unwrap();
    let reloaded = hnsw::load_and_query(dir.path(), &rows, 5, 64, &pool).unwrap();
    assert!(quality::recall_at_k(&rows, &reloaded, 300, 1, &pool).unwrap() >= 0.95);
    let (other, _) = clustered(300, 8, 5, 0.3, 3);
    let other = UnitRows::normalise(other, 8).unwrap();
    let err = hnsw::verify_saved(dir.path(), &other)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("hnsw.json") && err.contains("other features"),
        "{err}"
    );
}

#[test]
fn quality_figures_worked_by_hand() {
    // Labels [0, 0, 1]; neighbours 0→[1, 2], 1→[0, 2], 2→[0, 1]: points 0 and 1 agree on one
    // of two neighbours, point 2 on none, so (1 + 1 + 0) / 6 = 1/3.
    let table = NeighbourTable {
        k: 2,
        indices: vec![1, 2, 0, 2, 0, 1],
        similarities: vec![0.0; 6],
        labels: None,
        ids: None,
    };
    assert!((quality::label_agreement(&table, &[0, 0, 1]) - 1.0 / 3.0).abs() < 1e-12);
    // Truth for queries [0, 2]: 0→[2, 1] (both in 0's [1, 2]), 2→[1, 3] (only 1 in 2's
    // [0, 1]): recall (2 + 1) / 4.
    let truth = NeighbourTable {
        k: 2,
        indices: vec![2, 1, 1, 3],
        similarities: vec![0.0; 4],
        labels: None,
        ids: None,
    };
    assert_eq!(quality::recall(&table, &[0, 2], &truth), 0.75);
    assert_eq!(quality::sample_queries(5, 10, 1), vec![0, 1, 2, 3, 4]);
    let sample = quality::sample_queries(10_000, 2000, 1);
    assert_eq!(sample.len(), 2000);
    assert!(sample.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn bad_rows_are_named() {
    let mut data = vec![1.0f32; 5 * 3];
    data[3 * 3 + 1] = f32::NAN;
    let err = UnitRows::normalise(data.clone(), 3)
        .unwrap_err()
        .to_string();
    assert!(err.contains("row 3") && err.contains("column 1"), "{err}");
    data[3 * 3 + 1] = f32::INFINITY;
    assert!(UnitRows::normalise(data, 3).is_err());
    let mut data = vec![1.0f32; 5 * 3];
    data[6..9].fill(0.0);
    let err = UnitRows::normalise(data, 3).unwrap_err().to_string();
    assert!(err.contains("row 2") && err.contains("zero norm"), "{err}");
}

#[test]
fn k_must_be_below_n() {
    let rows = UnitRows::normalise(gaussian(4, 3, 1), 3).unwrap();
    let err = exact::search(&rows, 4, &pool(1)).unwrap_err().to_string();
    assert!(
        err.contains("k = 4") && err.contains("only 4 points"),
        "{err}"
    );
    assert_eq!(exact::search(&rows, 3, &pool(1)).unwrap().points(), 4);
}

fn batch(dim: usize, indices: Vec<u64>) -> std::sync::Arc<FeatureBatch> {
    std::sync::Arc::new(FeatureBatch {
        dim,
        data: (0..indices.len() * dim).map(|v| v as f32).collect(),
        indices,
        labels: None,
        names: None,
    })
}

#[test]
fn gather_places_rows_and_refuses_bad_batches() {
    let gathered = gather(&[batch(2, vec![2, 0]), batch(2, vec![1])]).unwrap();
    assert_eq!(gathered.data, vec![2.0, 3.0, 0.0, 1.0, 0.0, 1.0]);
    assert_eq!(gathered.labels, None);
    let err = gather(&[batch(2, vec![0]), batch(3, vec![1])]).unwrap_err();
    assert!(err.to_string().contains("expected 2, found 3"), "{err}");
    let err = gather(&[batch(2, vec![0, 1]), batch(2, vec![1])]).unwrap_err();
    assert!(err.to_string().contains("index 1 is duplicated"), "{err}");
}

#[test]
fn gather_orders_a_subset_by_dataset_index() {
    let gathered = gather(&[batch(2, vec![9, 5]), batch(2, vec![7])]).unwrap();
    assert_eq!(gathered.ids, vec![5, 7, 9]);
    assert_eq!(gathered.data, vec![2.0, 3.0, 0.0, 1.0, 0.0, 1.0]);
    let err = gather(&[batch(2, vec![5, 9]), batch(2, vec![9])]).unwrap_err();
    assert!(err.to_string().contains("index 9 is duplicated"), "{err}");
}

#[test]
fn tables_round_trip_through_npy() {
    let dir = tempfile::tempdir().unwrap();
    let table = NeighbourTable {
        k: 2,
        indices: vec![1, 2, 0, 2, 0, 1],
        similarities: vec![0.5, 0.25, 0.5, 0.125, 0.25, 0.125],
        labels: Some(vec![3, 3, 4]),
        ids: Some(vec![4, 7, 9]),
    };
    save_table(dir.path(), &table).unwrap();
    assert_eq!(load_table(dir.path()).unwrap(), table);
    let unlabelled = NeighbourTable {
        labels: None,
        ids: None,
        ..table
    };
    save_table(dir.path(), &unlabelled).unwrap();
    assert_eq!(load_table(dir.path()).unwrap(), unlabelled);
}
