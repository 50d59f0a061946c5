//! Tests of the HNSW pieces: the SIMD inner products against f64 sums, search and the
//! neighbours gathered while building on graphs small enough to check by brute force, and
//! the saved graph's checks.

use std::sync::atomic::Ordering::Relaxed;

use super::distance::available;
use super::*;
use crate::knn::synthetic::{clustered, gaussian};
use crate::knn::{exact, quality};

fn pool() -> ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap()
}

#[test]
fn dot_matches_f64_sums_at_every_tail_length() {
    for len in [1, 7, 8, 9, 31, 32, 33, 128, 131] {
        let a = gaussian(1, len, 1);
        let b = gaussian(1, len, 2);
        // Independent reference: the same products summed in f64.
        let truth: f64 = a.iter().zip(&b).map(|(x, y)| f64::from(x * y)).sum();
        for dot in available() {
            let got = f64::from(dot(&a, &b));
            assert!(
                (got - truth).abs() < 1e-4 * (len as f64).sqrt(),
                "{len}: {got} vs {truth}"
            );
        }
    }
}

/// Recall@5 against exact search of the table `mine` gives for 200 Gaussian 12-D points
/// (seeded by `seed`) on two threads with ef 200 ≥ N: every best-first search visits the
/// whole connected graph.
fn tiny_graph_recall(
    seed: u64,
    mine: impl Fn(&UnitRows, HnswParams, &ThreadPool) -> NeighbourTable,
) -> f64 {
    let rows = UnitRows::normalise(gaussian(200, 12, seed), 12).unwrap();
    let pool = pool();
    let params = HnswParams {
        m: 8,
        ef_construction: 200,
        ef_search: 200,
    };
    let table = mine(&rows, params, &pool);
    let truth = exact::search(&rows, 5, &pool).unwrap();
    let all: Vec<usize> = (0..200).collect();
    quality::recall(&table, &all, &truth)
}

#[test]
fn a_tiny_graph_finds_every_exact_neighbour() {
    // Every row must hold the exact neighbours (order may differ where the GEMM and the
    // SIMD dot round a near-tie differently).
    let recall = tiny_graph_recall(4, |rows, params, pool| {
        HnswIndex::build(rows, params, pool)
            .query_all(rows, 5, pool)
            .unwrap()
    });
    assert_eq!(recall, 1.0);
}

#[test]
fn a_tiny_graph_gathers_every_exact_neighbour_while_it_is_built() {
    // Each insertion search measures every point linked so far, so each point's list is
    // offered every other point and must end exact.
    let recall = tiny_graph_recall(5, |rows, params, pool| {
        HnswIndex::build_with_neighbours(rows, params, 5, pool)
            .unwrap()
            .1
    });
    assert_eq!(recall, 1.0);
}

#[test]
fn gathered_neighbours_exclude_the_point_but_not_its_copies() {
    let (mut data, _) = clustered(3000, 16, 30, 0.4, 8);
    for (from, to) in [(10, 2000), (10, 2999), (500, 7)] {
        data.copy_within(from * 16..(from + 1) * 16, to * 16);
    }
    let rows = UnitRows::normalise(data, 16).unwrap();
    let pool = pool();
    let (index, table) =
        HnswIndex::build_with_neighbours(&rows, HnswParams::default(), 10, &pool).unwrap();
    let recall = quality::recall_at_k(&rows, &table, 3000, 1, &pool).unwrap();
    assert!(recall >= 0.98, "recall@10 {recall}");
    for (i, row) in table.indices.chunks(10).enumerate() {
        assert!(!row.contains(&(i as u32)), "point {i} lists itself");
        let sims = &table.similarities[i * 10..(i + 1) * 10];
        assert!(sims.windows(2).all(|w| w[0] >= w[1]), "point {i} unsorted");
    }
    assert_eq!(&table.neighbours(10)[..2], &[2000, 2999]);
    assert_eq!(&table.neighbours(2999)[..2], &[10, 2000]);
    assert_eq!(table.neighbours(500)[0], 7);
    // The graph it returns answers the same questions afterwards.
    let queried = index.query_all(&rows, 10, &pool).unwrap();
    assert!(quality::recall_at_k(&rows, &queried, 3000, 1, &pool).unwrap() >= 0.98);
    assert!(HnswIndex::build_with_neighbours(&rows, HnswParams::default(), 3000, &pool).is_err());
}

#[test]
fn the_same_points_give_the_same_graph_and_table_on_any_number_of_threads() {
    let (points, _) = clustered(6000, 16, 40, 0.4, 11);
    let rows = UnitRows::normalise(points, 16).unwrap();
    let build = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let (index, table) =
            HnswIndex::build_with_neighbours(&rows, HnswParams::default(), 10, &pool).unwrap();
        let links: Vec<u32> = index.graph.links.iter().map(|l| l.load(Relaxed)).collect();
        (links, index.graph.entry(), table)
    };
    let (links, entry, table) = build(1);
    for threads in [2, 3, 2] {
        let (other_links, other_entry, other_table) = build(threads);
        assert!(links == other_links, "{threads} threads linked differently");
        assert_eq!(entry, other_entry, "{threads} threads");
        assert_eq!(table.indices, other_table.indices, "{threads} threads");
        assert_eq!(
            table.similarities, other_table.similarities,
            "{threads} threads"
        );
    }
}

fn saved(dir: &Path) -> UnitRows {
    let (data, _) = clustered(300, 8, 5, 0.3, 2);
    let rows = UnitRows::normalise(data, 8).unwrap();
    let pool = pool();
    HnswIndex::build(&rows, HnswParams::default(), &pool)
        .save(dir, &rows)
        .unwrap();
    rows
}

#[test]
fn a_saved_graph_answers_like_the_built_one() {
    let dir = tempfile::tempdir().unwrap();
    let rows = saved(dir.path());
    let pool = pool();
    let reloaded = load_and_query(dir.path(), &rows, 5, 64, &pool).unwrap();
    assert!(quality::recall_at_k(&rows, &reloaded, 300, 1, &pool).unwrap() >= 0.95);
}

#[test]
fn a_damaged_graph_file_is_named_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let rows = saved(dir.path());
    let path = dir.path().join(GRAPH_FILE);
    let bytes = std::fs::read(&path).unwrap();
    let cases: [(&str, Vec<u8>); 3] = [
        ("bad header", b"NOTHNSW!".to_vec()),
        ("disagrees", bytes[..bytes.len() - 4].to_vec()),
        // Node 0's layer-0 count (after the 40-byte header and 300 level bytes) set to 2³²−1.
        (
            "out of range",
            [&bytes[..340], &[0xff; 4], &bytes[344..]].concat(),
        ),
    ];
    for (expected, damaged) in cases {
        std::fs::write(&path, &damaged).unwrap();
        let err = load_and_query(dir.path(), &rows, 5, 64, &pool())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("hnsw.graph") && err.contains(expected),
            "{err}"
        );
        assert_eq!(
            std::fs::read(&path).unwrap(),
            damaged,
            "the file was rewritten"
        );
    }
}

#[test]
fn an_index_from_another_run_is_refused_and_left_alone() {
    let (mine, theirs) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let rows = saved(mine.path());
    let (data, _) = clustered(400, 8, 5, 0.3, 9);
    let other = UnitRows::normalise(data, 8).unwrap();
    HnswIndex::build(&other, HnswParams::default(), &pool())
        .save(theirs.path(), &other)
        .unwrap();
    let before = std::fs::read(theirs.path().join(SIDECAR)).unwrap();
    let err = load_and_query(theirs.path(), &rows, 5, 64, &pool())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("hnsw.json") && err.contains("400×8") && err.contains("300×8"),
        "{err}"
    );
    assert_eq!(std::fs::read(theirs.path().join(SIDECAR)).unwrap(), before);
    // Their graph file under my sidecar: the point count gives it away.
    std::fs::copy(theirs.path().join(GRAPH_FILE), mine.path().join(GRAPH_FILE)).unwrap();
    let err = load_and_query(mine.path(), &rows, 5, 64, &pool())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("hnsw.graph") && err.contains("400 points"),
        "{err}"
    );
}

#[test]
fn outside_queries_find_their_copies_first_and_agree_with_exact_search() {
    // 3,000 clustered points; the queries are copies of 40 of them plus 40 new points from
    // the same clusters (the same seed draws the same centres and the first 3,000 points).
    let (points, _) = clustered(3040, 16, 20, 0.3, 5);
    let (indexed, new) = points.split_at(3000 * 16);
    let rows = UnitRows::normalise(indexed.to_vec(), 16).unwrap();
    // Before the reachability repair, about one parallel build in 20 left one of these
    // points unreachable (its copy missed it).
    let pool = pool();
    let index = HnswIndex::build(&rows, HnswParams::default(), &pool);
    let mut data: Vec<f32> = (0..40).flat_map(|i| rows.row(i * 70).to_vec()).collect();
    data.extend_from_slice(new);
    let queries = UnitRows::normalise(data, 16).unwrap();
    let graph = index.query_external(&rows, &queries, 10, &pool).unwrap();
    let exact = exact::search_external(&rows, &queries, 10, &pool).unwrap();
    for q in 0..40 {
        assert_eq!(exact.neighbours(q)[0], (q * 70) as u32, "exact, query {q}");
        assert_eq!(graph.neighbours(q)[0], (q * 70) as u32, "hnsw, query {q}");
        assert!((graph.similarities[q * 10] - 1.0).abs() < 1e-5);
    }
    let all: Vec<usize> = (0..queries.len()).collect();
    assert!(quality::recall(&graph, &all, &exact) > 0.98);
    let wrong = UnitRows::normalise(gaussian(2, 8, 1), 8).unwrap();
    let error = index.query_external(&rows, &wrong, 10, &pool).unwrap_err();
    assert!(
        matches!(
            error,
            KnnError::DimMismatch {
                expected: 16,
                found: 8
            }
        ),
        "{error}"
    );
    let error = exact::search_external(&rows, &queries, 3001, &pool).unwrap_err();
    assert!(
        matches!(error, KnnError::TooFewPoints { k: 3001, .. }),
        "{error}"
    );
}
