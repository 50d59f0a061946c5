//! Channel behaviour seen from outside: small payloads travel in chunks down a chain, big
//! ones one by one, and nothing is held back while its producer waits.

mod common;

use std::time::{Duration, Instant};

use scanflow::runtime::ProgressMode;
use scanflow::RunOptions;

fn run(text: &str) -> scanflow::RunReport {
    let dir = tempfile::tempdir().unwrap();
    let options = RunOptions {
        runs_dir: dir.path().to_path_buf(),
        progress: ProgressMode::Quiet,
        ..RunOptions::default()
    };
    scanflow::run(common::graph(text), &options).unwrap()
}

#[test]
fn a_fast_chain_moves_small_payloads_in_chunks() {
    let report = run(r#"Graph(name: "chain", nodes: {
        "flood": Flood(count: 100000),
        "a": Pass(input: "flood"),
        "b": Pass(input: "a"),
        "sink": Count(input: "b"),
    })"#);
    assert_eq!(report.node("sink").unwrap().items_in, 100_000);
    for edge in &report.edges {
        assert_eq!(edge.messages, 100_000);
        assert!(
            edge.chunks < edge.messages / 4,
            "{} → {}: {} chunks",
            edge.from,
            edge.to,
            edge.chunks
        );
        assert!(edge.max_occupancy <= edge.capacity as u64);
    }
}

#[test]
fn a_sleeping_producer_does_not_hold_back_what_it_sent() {
    // `burst` sends 50 tokens at once, then sleeps 1.5 s before the next 50: the first must
    // reach the consumer long before the run ends, so they were flushed before the sleep.
    let start = Instant::now();
    let report = run(r#"Graph(name: "latency", nodes: {
        "burst": Burst(count: 50, delay_ms: 1500),
        "relay": Pass(input: "burst"),
        "first": FirstArrival(input: "relay"),
        "rest": Count(input: "relay"),
    })"#);
    let first = report.node("first").unwrap().wall_s;
    assert!(first < 1.0, "the first tokens arrived after {first} s");
    assert!(start.elapsed() >= Duration::from_millis(1500));
}

fn run_with_grace(text: &str) -> Result<scanflow::RunReport, scanflow::RunFailure> {
    let dir = tempfile::tempdir().unwrap();
    let options = RunOptions {
        runs_dir: dir.path().to_path_buf(),
        progress: ProgressMode::Quiet,
        stop_grace: Duration::from_secs(5),
        ..RunOptions::default()
    };
    scanflow::run(common::graph(text), &options)
}

#[test]
fn a_stream_held_back_by_one_consumer_until_another_has_read_it_all_is_a_reported_deadlock() {
    // `gate` reads `flood` only after `total` has read all of it: once `gate`'s channel is
    // full, `flood` stops, `total` never ends and `gate` never starts reading.
    let start = Instant::now();
    let failure = run_with_grace(
        r#"Graph(name: "fan-out", capacity: 1, nodes: {
        "flood": Flood(count: 100000),
        "total": Total(input: "flood"),
        "gate": Gate(input: "flood", after: "total"),
    })"#,
    )
    .expect_err("the run cannot finish");
    let message = failure.error.to_string();
    assert!(message.starts_with("deadlock: "), "{message}");
    for part in [
        "`flood` cannot send to `gate` (its `input` channel is full)",
        "`gate` waits for `total` on `after`",
        "`total` waits for `flood` on `input`",
    ] {
        assert!(message.contains(part), "{part:?} missing from: {message}");
    }
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn a_node_waiting_long_for_a_slow_producer_is_not_a_deadlock() {
    // `gate` waits 3 s for `late`, longer than a deadlock must hold, while `flood`'s
    // channel to it is full: `late` sleeps rather than waits, so nothing is stuck.
    let report = run_with_grace(
        r#"Graph(name: "slow", capacity: 1, nodes: {
        "flood": Flood(count: 5000),
        "late": Flood(count: 1, delay_ms: 3000),
        "gate": Gate(input: "flood", after: "late"),
    })"#,
    )
    .expect("a slow producer is no deadlock");
    assert_eq!(report.node("gate").unwrap().items_in, 5001);
}
