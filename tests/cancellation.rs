//! Cancellation: a panic or error anywhere, or an outside cancel (Ctrl-C), stops every
//! node — including nodes blocked on full channels — and the run ends within seconds with
//! an error naming the node.

mod common;

use std::time::{Duration, Instant};

use scanflow::runtime::{NodeState, ProgressMode, RunError};
use scanflow::{RunFailure, RunOptions};

const QUICKLY: Duration = Duration::from_secs(5);

fn options(dir: &tempfile::TempDir) -> RunOptions {
    RunOptions {
        runs_dir: dir.path().to_path_buf(),
        progress: ProgressMode::Quiet,
        ..RunOptions::default()
    }
}

fn run_failing(text: &str, options: &RunOptions) -> (RunFailure, Duration) {
    let start = Instant::now();
    let failure = scanflow::run(common::graph(text), options).expect_err("the run must fail");
    (failure, start.elapsed())
}

#[test]
fn panic_upstream_of_a_full_channel_ends_the_run() {
    // `relay` blocks sending into the full channel to `hold`, which never reads;
    // then `source`, upstream of it, panics.
    let text = r#"Graph(name: "up", capacity: 1, nodes: {
        "source": PanicSource(count: 3, delay_ms: 300),
        "relay": Pass(input: "source"),
        "hold": Hold(input: "relay"),
    })"#;
    let dir = tempfile::tempdir().unwrap();
    let (failure, took) = run_failing(text, &options(&dir));
    assert!(took < QUICKLY, "took {took:?}");
    match &failure.error {
        RunError::NodePanicked { node, message, .. } => {
            assert_eq!(node, "source");
            assert!(message.contains("injected panic"), "{message}");
        }
        other => panic!("unexpected error: {other}"),
    }
    let relay = failure.report.node("relay").unwrap();
    assert_eq!(relay.state, NodeState::Cancelled);
    assert!(
        relay.blocked_out_s > 0.1,
        "relay should have been blocked on output: {relay:?}"
    );
}

#[test]
fn panic_downstream_of_a_blocked_producer_ends_the_run() {
    // `flood` fills both channels; `hold` never reads, so `flood` stays blocked even
    // after `boom` (which panics) drops its end.
    let text = r#"Graph(name: "down", capacity: 2, nodes: {
        "flood": Flood(),
        "boom": PanicSink(input: "flood", count: 3, delay_ms: 200),
        "hold": Hold(input: "flood"),
    })"#;
    let dir = tempfile::tempdir().unwrap();
    let (failure, took) = run_failing(text, &options(&dir));
    assert!(took < QUICKLY, "took {took:?}");
    assert!(
        matches!(&failure.error, RunError::NodePanicked { node, .. } if node == "boom"),
        "{}",
        failure.error
    );
    assert!(failure
        .error
        .to_string()
        .contains("node `boom` (PanicSink) panicked"));
    assert_eq!(
        failure.report.node("flood").unwrap().state,
        NodeState::Cancelled
    );
}

#[test]
fn an_operator_error_names_the_node_and_keeps_the_figures() {
    let text = r#"Graph(name: "fail", nodes: {
        "flood": Flood(),
        "sink": FailSink(input: "flood", count: 100),
    })"#;
    let dir = tempfile::tempdir().unwrap();
    let (failure, took) = run_failing(text, &options(&dir));
    assert!(took < QUICKLY);
    assert_eq!(
        failure.error.to_string(),
        "node `sink` (FailSink) failed: injected failure after 100 tokens"
    );
    assert_eq!(failure.report.node("sink").unwrap().items_in, 100);
    let metrics = std::fs::read_to_string(dir.path().join("fail/metrics.json")).unwrap();
    assert!(
        metrics.contains("injected failure"),
        "metrics.json must record the failure"
    );
}

#[test]
fn outside_cancel_interrupts_every_node() {
    let text = r#"Graph(name: "cancel", capacity: 1, nodes: {
        "flood": Flood(),
        "relay": Pass(input: "flood"),
        "hold": Hold(input: "relay"),
    })"#;
    let dir = tempfile::tempdir().unwrap();
    let options = options(&dir);
    let token = options.cancel.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        token.cancel();
    });
    let (failure, took) = run_failing(text, &options);
    assert!(
        matches!(failure.error, RunError::Interrupted),
        "{}",
        failure.error
    );
    assert!(took < QUICKLY);
    assert!(failure
        .report
        .nodes
        .iter()
        .all(|n| n.state == NodeState::Cancelled));
}

#[test]
fn a_node_deaf_to_cancellation_is_reported_stuck_not_waited_for() {
    let text = r#"Graph(name: "stuck", nodes: {
        "source": PanicSource(count: 1, delay_ms: 0),
        "deaf": Deaf(input: "source", delay_ms: 4000),
    })"#;
    let dir = tempfile::tempdir().unwrap();
    let options = RunOptions {
        stop_grace: Duration::from_millis(500),
        ..options(&dir)
    };
    let (failure, took) = run_failing(text, &options);
    assert!(took < Duration::from_secs(3), "took {took:?}");
    match &failure.error {
        RunError::Stuck { nodes, cause, .. } => {
            assert_eq!(nodes, &["deaf"]);
            assert!(matches!(**cause, RunError::NodePanicked { .. }));
        }
        other => panic!("unexpected error: {other}"),
    }
}

#[test]
fn end_of_stream_reaches_every_consumer_of_a_fan_out() {
    let text = r#"Graph(name: "fan", nodes: {
        "flood": Flood(count: 10000),
        "a": Count(input: "flood"),
        "b": Count(input: "flood"),
        "c": Count(input: "flood", capacity: 1),
    })"#;
    let dir = tempfile::tempdir().unwrap();
    let report = scanflow::run(common::graph(text), &options(&dir)).unwrap();
    for id in ["a", "b", "c"] {
        assert_eq!(report.node(id).unwrap().items_in, 10000, "{id}");
    }
    assert_eq!(report.edges.len(), 3);
    assert!(report.edges.iter().all(|e| e.messages == 10000));
}
