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
