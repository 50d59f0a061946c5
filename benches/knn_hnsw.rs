//! HNSW sweep on a 2-thread pool: for each (m, ef_construction, ef_search) build the graph
//! with every point's top 20 gathered on the way (what `Knn` does), and report its wall and
//! CPU seconds, recall@20 against exact search on 2,000 seeded queries and peak resident
//! memory; with `KNN_QUERY=1` the graph is built bare and every point queried afterwards
//! (what `Knn` does with a saved index), the two times reported apart; optionally the
//! exact search on the same points, side by side. The points are clustered synthetic data
//! (`clustered(N, D, 100, 0.5, 2)`, as in `benches/knn.rs`) or a real `.npy` feature matrix.
//!
//! ```text
//! KNN_POINTS=250000 KNN_PARAMS="16,200,128 12,100,64" KNN_EXACT=1 cargo bench --bench knn_hnsw
//! KNN_FEATURES=runs/pretext-cpu/features/features.npy cargo bench --bench knn_hnsw
//! KNN_NPY_OUT=/tmp/knn-npy/clustered_60000.npy cargo bench --bench knn_hnsw
//! /tmp/scanflow-ref/venv/bin/python benches/knn_hnswlib.py /tmp/knn-npy/clustered_60000.npy 16,200,128
//! ```
//!
//! `KNN_PARAMS` is a space-separated list of `m,ef_construction,ef_search` (default: the
//! `Hnsw` defaults); `KNN_RUNS` repeats each setting (default 1; medians reported). The
//! third form also writes the points (unit rows, `<f4`) so that `benches/knn_hnswlib.py`
//! runs hnswlib with the same parameters on the same vectors. Installs mimalloc as the
//! binary does.

use std::path::PathBuf;
use std::time::Instant;

use scanflow::data::{read_npy_matrix, write_npy_f32};
use scanflow::knn::hnsw::{HnswIndex, HnswParams};
use scanflow::knn::synthetic::clustered;
use scanflow::knn::{exact, quality, UnitRows};
use scanflow::model::kernels::alloc::MiMalloc;

#[global_allocator]
static GLOBAL: MiMalloc = MiMalloc;

const K: usize = 20;

fn main() {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .expect("thread pool");
    let rows = load_rows();
    let runs = env_usize("KNN_RUNS", 1);
    println!(
        "{} points x {} (load average {})",
        rows.len(),
        rows.dim(),
        load_average()
    );
    if let Some(path) = std::env::var_os("KNN_NPY_OUT").map(PathBuf::from) {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("npy folder");
        }
        write_npy_f32(&path, rows.len(), rows.dim(), rows.as_slice()).expect("write npy");
    }
    if std::env::var_os("KNN_EXACT").is_some() {
        let times: Vec<(f64, f64)> = (0..runs)
            .map(|_| timed(|| exact::search(&rows, K, &pool).expect("search")).1)
            .collect();
        println!(
            "exact: median {:.2} s wall, {:.2} s CPU (load average {})",
            median(&times.iter().map(|t| t.0).collect::<Vec<_>>()),
            median(&times.iter().map(|t| t.1).collect::<Vec<_>>()),
            load_average()
        );
    }
    let query_pass = std::env::var_os("KNN_QUERY").is_some();
    for params in param_list() {
        let mut results = Vec::new();
        for _ in 0..runs {
            let (table, build, query) = if query_pass {
                let (index, build) = timed(|| HnswIndex::build(&rows, params, &pool));
                let (table, query) = timed(|| index.query_all(&rows, K, &pool).expect("query"));
                (table, build, query)
            } else {
                let ((_, table), build) = timed(|| {
                    HnswIndex::build_with_neighbours(&rows, params, K, &pool).expect("build")
                });
                (table, build, (0.0, 0.0))
            };
            let recall = quality::recall_at_k(&rows, &table, 2000, 3, &pool).expect("recall");
            results.push([build.0, build.1, query.0, query.1, recall]);
        }
        let column = |c: usize| median(&results.iter().map(|r| r[c]).collect::<Vec<_>>());
        println!(
            "hnsw m {} ef_c {} ef_s {}: build {:.2} s wall {:.2} s CPU, query {:.2} s wall \
             {:.2} s CPU, recall@{K} {:.4}, peak RSS {:.0} MiB (load average {})",
            params.m,
            params.ef_construction,
            params.ef_search,
            column(0),
            column(1),
            column(2),
            column(3),
            column(4),
            peak_memory_mib(),
            load_average()
        );
    }
}

/// The points: `KNN_FEATURES` (an `.npy`) or clustered synthetic data of `KNN_POINTS` ×
/// `KNN_DIM`.
fn load_rows() -> UnitRows {
    if let Some(path) = std::env::var_os("KNN_FEATURES") {
        let matrix = read_npy_matrix(&PathBuf::from(path)).expect("features .npy");
        return UnitRows::normalise(matrix.data, matrix.cols).expect("finite features");
    }
    let (points, dim) = (env_usize("KNN_POINTS", 60_000), env_usize("KNN_DIM", 128));
    let (data, _) = clustered(points, dim, 100, 0.5, 2);
    UnitRows::normalise(data, dim).expect("finite data")
}

/// `KNN_PARAMS` parsed, or the defaults.
fn param_list() -> Vec<HnswParams> {
    let Ok(text) = std::env::var("KNN_PARAMS") else {
        return vec![HnswParams::default()];
    };
    text.split_whitespace()
        .map(|item| {
            let v: Vec<usize> = item
                .split(',')
                .map(|x| x.parse().expect("KNN_PARAMS: m,ef_construction,ef_search"))
                .collect();
            HnswParams {
                m: v[0],
                ef_construction: v[1],
                ef_search: v[2],
            }
        })
        .collect()
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs `f`, returning its result and (wall seconds, CPU seconds).
fn timed<T>(f: impl FnOnce() -> T) -> (T, (f64, f64)) {
    let (start, cpu) = (Instant::now(), cpu_seconds());
    let out = f();
    (out, (start.elapsed().as_secs_f64(), cpu_seconds() - cpu))
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len() / 2).copied().unwrap_or(f64::NAN)
}

/// The 1-minute load average (`/proc/loadavg`), as text.
fn load_average() -> String {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    text.split_whitespace().next().unwrap_or("?").to_string()
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

/// Peak resident set size of this process, in MiB (`VmHWM`; NaN where absent).
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
