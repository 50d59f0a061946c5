//! Engine benchmarks: what the runtime itself costs, measured through the public embedding
//! API only (operators registered with [`Registry::register`], graphs written as RON text,
//! run with [`scanflow::run`]).
//!
//! Run with:
//!
//! ```text
//! cargo bench --bench engine
//! ```
//!
//! 1. **Engine overhead.** A source sends `N` (2,000,000) small `Custom("token")` messages
//!    through a chain of 8 pass-through operators into a counting sink: 10 threads, 9
//!    channels. Reported as messages/s end to end (`N` / wall time of `scanflow::run`), once
//!    with the engine's default channel capacity and once with capacity 1024 graph-wide. The
//!    source allocates nothing per message: it clones one pre-allocated `Arc` (what fan-out
//!    costs anyway). A second variant sends `Images` batches (256 images of 32×32×3) from a
//!    pool of 4 pre-built batches and checks in the sink, with `Arc::ptr_eq` and pixel-buffer
//!    pointer equality, that each one arrives as the very allocation the source sent.
//! 2. **Overlap.** source → stage A → stage B → sink, where source, A and B sleep 2, 5 and
//!    3 ms per item (`ctx.sleep`, so cancellation works) for 400 items: with the stages
//!    overlapping, the run should take about as long as the slowest stage alone
//!    (400 × 5 ms = 2.0 s). The runtime's report table of one run is printed; its
//!    bottleneck line should name stage A.
//!
//! Every measurement runs 5 times; each run and the median are printed, then a summary with
//! PASS/FAIL against the targets (≥ 2 M messages/s; zero-copy; overlap ratio ≤ 1.1). The
//! process exits 0 either way (the figures depend on the machine); a run that errors panics.
//!
//! When the engine is so slow that one run of `N` messages would take over 10 s, each run
//! sends what fits in about 4 s instead (a 100,000-message probe decides; the output says so).
//!
//! Knobs (environment): `SCANFLOW_BENCH_MESSAGES` overrides `N` (and disables the
//! shortening); `SCANFLOW_BENCH_TABLES=1` prints the report table of every run;
//! `SCANFLOW_BENCH_ONLY=overhead,zero-copy,overlap` (any subset) runs only those
//! measurements; `SCANFLOW_BENCH_CAPACITIES=default,64,1024` sets the capacities the
//! overhead measurement uses. For example:
//!
//! ```text
//! SCANFLOW_BENCH_ONLY=overhead SCANFLOW_BENCH_MESSAGES=200000 cargo bench --bench engine
//! ```

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use scanflow::runtime::ProgressMode;
use scanflow::spec::SourceText;
use scanflow::{Graph, Payload, Registry, RunOptions, RunReport};

mod ops;

use ops::*;

const REPEATS: usize = 5;
const MESSAGES: u64 = 2_000_000;
const CHAIN: usize = 8;
const BIG_CAPACITY: usize = 1024;
/// Messages of the probe run that decides whether `MESSAGES` fits the time budget.
const PROBE: u64 = 100_000;
/// A run that would take longer than this (seconds) is shortened...
const SLOW_RUN_S: f64 = 10.0;
/// ...to about this long.
const REDUCED_RUN_S: f64 = 4.0;
const TARGET_MSGS_PER_S: f64 = 2e6;

const IMAGE_BATCHES: u64 = 20_000;
const IMAGES_PER_BATCH: usize = 256;
const IMAGE_SIDE: u32 = 32;
const IMAGE_POOL: usize = 4;

const OVERLAP_ITEMS: u64 = 400;
const SOURCE_MS: u64 = 2;
const STAGE_A_MS: u64 = 5;
const STAGE_B_MS: u64 = 3;
const TARGET_OVERLAP_RATIO: f64 = 1.1;

struct Bench {
    registry: Registry,
    runs_dir: tempfile::TempDir,
    tables: bool,
}

impl Bench {
    fn new() -> Self {
        let mut registry = Registry::builtin();
        registry
            .register::<TokenSource>()
            .register::<Pass<Tokens>>()
            .register::<Count<Tokens>>()
            .register::<ImageBatchSource>()
            .register::<Pass<Images>>()
            .register::<CheckImages>()
            .register::<SleepSource>()
            .register::<SleepStage>()
            .register::<ItemSink>();
        Bench {
            registry,
            runs_dir: tempfile::tempdir().expect("temporary runs folder"),
            tables: std::env::var_os("SCANFLOW_BENCH_TABLES").is_some_and(|v| v != "0"),
        }
    }

    /// Parses and validates a graph.
    fn graph(&self, name: &str, ron: &str) -> Graph {
        Graph::from_source(SourceText::new(name, ron), &self.registry, &[])
            .unwrap_or_else(|e| panic!("graph `{name}` is invalid:\n{e}\n{ron}"))
    }

    /// The channel capacity the graph's edges get (the graph-wide setting or the default).
    fn capacity(&self, name: &str, ron: &str) -> usize {
        self.graph(name, ron).capacity
    }

    /// Parses, validates and runs a graph; returns its report and the wall time of `run`.
    fn run(&self, name: &str, ron: &str) -> (RunReport, Duration) {
        let graph = self.graph(name, ron);
        let options = RunOptions {
            runs_dir: self.runs_dir.path().to_path_buf(),
            progress: ProgressMode::Quiet,
            fresh: true,
            ..Default::default()
        };
        let start = Instant::now();
        let report = scanflow::run(graph, &options)
            .unwrap_or_else(|e| panic!("graph `{name}` failed: {e}\n{}", e.report.table()));
        let wall = start.elapsed();
        if self.tables {
            println!("{}", indent(&report.table()));
        }
        (report, wall)
    }
}

/// `source → pass1 → … → pass8 → sink`, every node typed for kind `K`; `capacity` is set
/// graph-wide when given, else left at the engine's default.
fn chain_graph<K: Kind>(
    name: &str,
    source: &str,
    sink: &str,
    count: u64,
    capacity: Option<usize>,
) -> String {
    let mut nodes = vec![format!("\"source\": {source}(count: {count})")];
    let mut previous = "source".to_string();
    for i in 1..=CHAIN {
        let id = format!("pass{i}");
        nodes.push(format!("\"{id}\": {}(input: \"{previous}\")", K::PASS));
        previous = id;
    }
    nodes.push(format!("\"sink\": {sink}(input: \"{previous}\")"));
    let capacity = capacity.map_or(String::new(), |c| format!("capacity: {c}, "));
    format!(
        "Graph(name: \"{name}\", {capacity}nodes: {{\n    {},\n}})\n",
        nodes.join(",\n    ")
    )
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}

fn verdict(pass: bool) -> &'static str {
    if pass {
        "PASS"
    } else {
        "FAIL"
    }
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("    {l}\n"))
        .collect::<String>()
}

/// `N` when `SCANFLOW_BENCH_MESSAGES` forces it.
fn messages_from_env() -> Option<u64> {
    std::env::var("SCANFLOW_BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
}

/// Describes a capacity setting: `default (4)` or `1024`.
fn capacity_label(bench: &Bench, name: &str, ron: &str, setting: Option<usize>) -> String {
    let effective = bench.capacity(name, ron);
    match setting {
        None => format!("default ({effective})"),
        Some(_) => effective.to_string(),
    }
}

/// Measurement 1a: token throughput through the chain; (capacity label, median msgs/s).
///
/// Unless `forced`, a probe of `PROBE` messages runs first; when `MESSAGES` would then take
/// longer than `SLOW_RUN_S` per run, each run sends what fits in `REDUCED_RUN_S` instead
/// (said so in the output), so that a slow engine cannot make the bench last many minutes.
fn overhead(bench: &Bench, capacity: Option<usize>, forced: Option<u64>) -> (String, f64) {
    let graph = |count| {
        chain_graph::<Tokens>(
            "bench-overhead",
            "TokenSource",
            Tokens::SINK,
            count,
            capacity,
        )
    };
    let label = capacity_label(bench, "bench-overhead", &graph(1), capacity);
    let mut n = forced.unwrap_or(MESSAGES);
    println!("\n-- overhead: {n} tokens, source → {CHAIN} pass-throughs → sink, capacity {label}");
    if forced.is_none() {
        let (_, wall) = bench.run("bench-overhead", &graph(PROBE));
        let rate = PROBE as f64 / wall.as_secs_f64();
        let estimate = n as f64 / rate;
        println!(
            "  probe: {PROBE} msgs in {:.3} s = {:.3} M msgs/s",
            wall.as_secs_f64(),
            rate / 1e6
        );
        if estimate > SLOW_RUN_S {
            n = ((rate * REDUCED_RUN_S / 1e4).round() as u64 * 10_000).max(PROBE);
            println!(
                "  NOTE: {MESSAGES} msgs would take ~{estimate:.0} s per run; each run sends {n} \
                 instead (SCANFLOW_BENCH_MESSAGES={MESSAGES} forces the full count)"
            );
        }
    }
    let ron = graph(n);
    let mut rates = Vec::new();
    for run in 1..=REPEATS {
        let (report, wall) = bench.run("bench-overhead", &ron);
        let received = report.node("sink").map_or(0, |s| s.messages_in);
        assert_eq!(received, n, "the sink must receive every message");
        let rate = n as f64 / wall.as_secs_f64();
        rates.push(rate);
        println!(
            "  run {run}: {n} msgs in {:.3} s = {:.3} M msgs/s ({:.0} ns/msg end to end)",
            wall.as_secs_f64(),
            rate / 1e6,
            1e9 / rate
        );
    }
    let m = median(&rates);
    println!("  median: {:.3} M msgs/s", m / 1e6);
    (label, m)
}

/// Measurement 1b: image batches through the chain; (median batches/s, mismatches).
fn zero_copy(bench: &Bench) -> (f64, u64) {
    let pool = image_pool();
    let ron = chain_graph::<Images>(
        "bench-zero-copy",
        "ImageBatchSource",
        "CheckImages",
        IMAGE_BATCHES,
        None,
    );
    println!(
        "\n-- zero-copy: {IMAGE_BATCHES} Images batches ({IMAGES_PER_BATCH} × \
         {IMAGE_SIDE}×{IMAGE_SIDE}×3, {} KiB each, pool of {}) through the same chain, capacity {}",
        pool[0].pixels.len() / 1024,
        pool.len(),
        capacity_label(bench, "bench-zero-copy", &ron, None)
    );
    let mut rates = Vec::new();
    let mut total_mismatches = 0;
    for run in 1..=REPEATS {
        MISMATCHES.store(0, Ordering::Relaxed);
        let (report, wall) = bench.run("bench-zero-copy", &ron);
        let received = report.node("sink").map_or(0, |s| s.messages_in);
        assert_eq!(received, IMAGE_BATCHES, "the sink must receive every batch");
        let mismatches = MISMATCHES.load(Ordering::Relaxed);
        total_mismatches += mismatches;
        let rate = IMAGE_BATCHES as f64 / wall.as_secs_f64();
        rates.push(rate);
        println!(
            "  run {run}: {IMAGE_BATCHES} batches in {:.3} s = {:.3} M batches/s = {:.1} M images/s; \
             {mismatches} not the source's allocation",
            wall.as_secs_f64(),
            rate / 1e6,
            rate * IMAGES_PER_BATCH as f64 / 1e6,
        );
    }
    let m = median(&rates);
    println!("  median: {:.3} M batches/s", m / 1e6);
    println!(
        "  zero-copy: {} ({total_mismatches} mismatches in {} batches)",
        if total_mismatches == 0 { "yes" } else { "NO" },
        IMAGE_BATCHES * REPEATS as u64
    );
    (m, total_mismatches)
}

/// Measurement 2: the 3-stage sleeping pipeline; (median wall s, bottleneck of the shown run).
fn overlap(bench: &Bench) -> (f64, String) {
    let slowest = Duration::from_millis(STAGE_A_MS * OVERLAP_ITEMS).as_secs_f64();
    println!(
        "\n-- overlap: {OVERLAP_ITEMS} items, source {SOURCE_MS} ms → stage_a {STAGE_A_MS} ms → \
         stage_b {STAGE_B_MS} ms → sink; slowest stage alone = {slowest:.3} s"
    );
    let ron = format!(
        "Graph(name: \"bench-overlap\", nodes: {{
    \"source\": SleepSource(count: {OVERLAP_ITEMS}, ms: {SOURCE_MS}),
    \"stage_a\": SleepStage(ms: {STAGE_A_MS}, input: \"source\"),
    \"stage_b\": SleepStage(ms: {STAGE_B_MS}, input: \"stage_a\"),
    \"sink\": ItemSink(input: \"stage_b\"),
}})\n"
    );
    let mut walls = Vec::new();
    let mut shown = None;
    for run in 1..=REPEATS {
        let (report, wall) = bench.run("bench-overlap", &ron);
        let received = report.node("sink").map_or(0, |s| s.messages_in);
        assert_eq!(received, OVERLAP_ITEMS, "the sink must receive every item");
        let wall = wall.as_secs_f64();
        walls.push(wall);
        println!(
            "  run {run}: {wall:.3} s, ratio to slowest stage {:.3}",
            wall / slowest
        );
        if run == 1 {
            shown = Some(report);
        }
    }
    let m = median(&walls);
    println!(
        "  median: {m:.3} s vs {slowest:.3} s, ratio {:.3} (serial would be {:.3} s)",
        m / slowest,
        Duration::from_millis((SOURCE_MS + STAGE_A_MS + STAGE_B_MS) * OVERLAP_ITEMS).as_secs_f64()
    );
    let shown = shown.expect("at least one run");
    println!("  report table of run 1:\n{}", indent(&shown.table()));
    let bottleneck = shown.bottleneck().map_or(String::new(), |b| b.id.clone());
    (m, bottleneck)
}

/// The capacities the overhead measurement runs at: `None` is the engine's default
/// (`SCANFLOW_BENCH_CAPACITIES=default,64,1024`).
fn capacities_from_env() -> Vec<Option<usize>> {
    let parse = |c: &str| match c.trim() {
        "default" => Some(None),
        number => number.parse().ok().map(Some),
    };
    std::env::var("SCANFLOW_BENCH_CAPACITIES")
        .ok()
        .map(|list| list.split(',').filter_map(parse).collect())
        .filter(|list: &Vec<_>| !list.is_empty())
        .unwrap_or_else(|| vec![None, Some(BIG_CAPACITY)])
}

/// Whether measurement `name` is selected by `SCANFLOW_BENCH_ONLY` (all when unset).
fn selected(name: &str) -> bool {
    std::env::var("SCANFLOW_BENCH_ONLY")
        .map_or(true, |only| only.split(',').any(|o| o.trim() == name))
}

fn main() {
    // `cargo bench` passes `--bench`; there is nothing to parse.
    let bench = Bench::new();
    let forced = messages_from_env();
    println!(
        "scanflow engine benchmark ({} CPUs, {REPEATS} runs each, Payload = {} bytes)",
        std::thread::available_parallelism().map_or(1, |p| p.get()),
        std::mem::size_of::<Payload>()
    );
    println!("token source: one pre-allocated Arc cloned per message (no allocation per message)");

    // (what, figure, verdict)
    let mut summary: Vec<(String, String, bool)> = Vec::new();
    if selected("overhead") {
        for capacity in capacities_from_env() {
            let (label, rate) = overhead(&bench, capacity, forced);
            summary.push((
                format!("overhead, capacity {label}"),
                format!(
                    "{:.3} M msgs/s (target ≥ {:.1})",
                    rate / 1e6,
                    TARGET_MSGS_PER_S / 1e6
                ),
                rate >= TARGET_MSGS_PER_S,
            ));
        }
    }
    if selected("zero-copy") {
        let (batches, mismatches) = zero_copy(&bench);
        summary.push((
            "zero-copy Images batches".into(),
            format!("{mismatches} mismatches ({:.3} M batches/s)", batches / 1e6),
            mismatches == 0,
        ));
    }
    if selected("overlap") {
        let (wall, bottleneck) = overlap(&bench);
        let slowest = Duration::from_millis(STAGE_A_MS * OVERLAP_ITEMS).as_secs_f64();
        let ratio = wall / slowest;
        summary.push((
            "overlap".into(),
            format!(
                "{wall:.3} s vs {slowest:.3} s, ratio {ratio:.3} (target ≤ {TARGET_OVERLAP_RATIO})"
            ),
            ratio <= TARGET_OVERLAP_RATIO,
        ));
        summary.push((
            "overlap bottleneck".into(),
            format!("`{bottleneck}` (expected `stage_a`)"),
            bottleneck == "stage_a",
        ));
    }
    println!("\n== summary (medians of {REPEATS} runs) ==");
    for (what, figure, pass) in summary {
        println!("{:<4}  {what:<32} {figure}", verdict(pass));
    }
}
