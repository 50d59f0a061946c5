//! Neighbour-mining benchmark on a 2-thread pool: exact top-20 of 60,000 × 128 and
//! 60,000 × 512 random unit vectors (with the peak resident memory of each phase against
//! the bytes of the feature matrix plus the output table), then HNSW (m 16,
//! ef_construction 200, ef_search 64 and 128) build and query on 60,000 × 128 clustered
//! synthetic data with recall@20 against exact search on 2,000 seeded queries. All data is
//! seeded.
//!
//! Run with:
//!
//! ```text
//! cargo bench --bench knn            # KNN_RUNS=1 for a single repetition
//! KNN_EXACT_ONLY=1 KNN_NPY_DIR=/tmp/knn-npy cargo bench --bench knn
//! /tmp/knnref/bin/python benches/knn_faiss.py /tmp/knn-npy 3
//! ```
//!
//! The second form skips HNSW and writes the random unit vectors (`random_D.npy`) and the
//! exact tables (`scanflow_D.npy`) so that `benches/knn_faiss.py` times faiss-cpu's
//! IndexFlatIP (2 OpenMP threads) on the same vectors, side by side, and reports how far
//! the tables agree (set it up with `python3 -m venv /tmp/knnref &&
//! /tmp/knnref/bin/pip install faiss-cpu numpy`).
//!
//! Each phase prints wall seconds and the CPU seconds this process used (Linux
//! `/proc/self/stat`), per run and as the median over runs; on a shared machine wall time
//! inflates with the load, CPU time much less. Reference on the same machine (2 threads):
//! faiss IndexFlatIP 6.7 s (128-D) and 22.8 s (512-D); hnswlib build 6.3 s + query 2.9 s.

use std::time::Instant;

use scanflow::data::{write_npy_f32, write_npy_u32};
use scanflow::knn::hnsw::{HnswIndex, HnswParams};
use scanflow::knn::synthetic::{clustered, gaussian};
use scanflow::knn::{exact, quality, UnitRows};

const POINTS: usize = 60_000;
const K: usize = 20;

fn main() {
    let runs: usize = std::env::var("KNN_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .expect("thread pool");
    let npy_dir = std::env::var_os("KNN_NPY_DIR").map(std::path::PathBuf::from);
    for dim in [128, 512] {
        let rows = UnitRows::normalise(gaussian(POINTS, dim, 1), dim).expect("finite data");
        reset_peak_memory();
        let mut table = None;
        let times: Vec<(f64, f64)> = (0..runs)
            .map(|_| {
                table = None; // so the peak holds one table, not two
                let (out, time) = timed(|| exact::search(&rows, K, &pool).expect("search"));
                table = Some(out);
                time
            })
            .collect();
        report(&format!("exact top-{K} {POINTS}x{dim}"), &times);
        let data_mib = (rows.as_slice().len() * 4 + POINTS * K * 8) as f64 / 1048576.0;
        let peak = peak_memory_mib();
        println!(
            "  peak RSS {peak:.1} MiB vs features + table {data_mib:.1} MiB ({:.2}x)",
            peak / data_mib
        );
        if let (Some(dir), Some(table)) = (&npy_dir, &table) {
            std::fs::create_dir_all(dir).expect("npy folder");
            let features = dir.join(format!("random_{dim}.npy"));
            write_npy_f32(&features, POINTS, dim, rows.as_slice()).expect("write features");
            let ours = dir.join(format!("scanflow_{dim}.npy"));
            write_npy_u32(&ours, POINTS, K, &table.indices).expect("write table");
        }
    }
    if std::env::var_os("KNN_EXACT_ONLY").is_some() {
        return;
    }
    let (data, _) = clustered(POINTS, 128, 100, 0.5, 2);
    let rows = UnitRows::normalise(data, 128).expect("finite data");
    for ef_search in [64, 128] {
        let params = HnswParams {
            m: 16,
            ef_construction: 200,
            ef_search,
        };
        let (mut builds, mut queries, mut recalls) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..runs {
            let (index, build) = timed(|| HnswIndex::build(&rows, params, &pool));
            let (table, query) = timed(|| index.query_all(&rows, K, &pool).expect("query"));
            let recall = quality::recall_at_k(&rows, &table, 2000, 3, &pool).expect("recall");
            println!(
                "  run: build {:.2} s, query {:.2} s, recall@{K} {recall:.4}",
                build.0, query.0
            );
            builds.push(build);
            queries.push(query);
            recalls.push(recall);
        }
        report(&format!("hnsw ef_search {ef_search} build"), &builds);
        report(&format!("hnsw ef_search {ef_search} query"), &queries);
        println!(
            "hnsw ef_search {ef_search} recall@{K} median {:.4}",
            median(&recalls)
        );
    }
}

/// Runs `f`, returning its result and (wall seconds, CPU seconds).
fn timed<T>(f: impl FnOnce() -> T) -> (T, (f64, f64)) {
    let (start, cpu) = (Instant::now(), cpu_seconds());
    let out = f();
    (out, (start.elapsed().as_secs_f64(), cpu_seconds() - cpu))
}

fn report(name: &str, times: &[(f64, f64)]) {
    let walls: Vec<f64> = times.iter().map(|t| t.0).collect();
    let cpus: Vec<f64> = times.iter().map(|t| t.1).collect();
    let each: Vec<String> = walls.iter().map(|w| format!("{w:.2}")).collect();
    println!(
        "{name}: runs [{}] s; median {:.2} s wall, {:.2} s CPU",
        each.join(", "),
        median(&walls),
        median(&cpus)
    );
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len() / 2).copied().unwrap_or(f64::NAN)
}

/// User + system CPU seconds of this process so far (0 where `/proc` is absent).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |k: usize| {
        fields
            .get(k)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// Resets the peak resident set size of this process (Linux `clear_refs`; no-op elsewhere).
fn reset_peak_memory() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Peak resident set size since the last reset, in MiB (`VmHWM`; NaN where absent).
fn peak_memory_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<f64>()
                .ok()
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}
