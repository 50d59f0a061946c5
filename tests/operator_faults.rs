//! Faults injected into a node in the middle of a busy graph (a flood upstream, relays and
//! counters downstream, a second branch beside it): a panic or an error ends the run within
//! seconds with an error naming the node, every other node stops, and no thread of
//! the run is left behind. (Panics next to blocked channels: `tests/cancellation.rs`.)

mod common;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use scanflow::runtime::{NodeState, ProgressMode, RunError};
use scanflow::RunOptions;

/// Node threads are seen process-wide, so the runs of this file take turns.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The busy graph with `fault` as the middle node's operator.
fn text(fault: &str) -> String {
    format!(
        r#"Graph(name: "faults", capacity: 4, nodes: {{
        "flood": Flood(),
        "relay": Pass(input: "flood"),
        "bad": {fault}(input: "relay", count: 20000),
        "after": Pass(input: "bad"),
        "sink": Count(input: "after"),
        "beside": Pass(input: "flood"),
        "other-sink": Count(input: "beside"),
    }})"#
    )
}

/// The node threads (named `sf:<node id>`) of this process still alive, from `/proc`.
fn node_threads() -> Vec<String> {
    let tasks = std::fs::read_dir("/proc/self/task").unwrap();
    let names = tasks.flatten().filter_map(|task| {
        let comm = std::fs::read_to_string(task.path().join("comm")).ok()?;
        comm.starts_with("sf:").then(|| comm.trim().to_string())
    });
    names.collect()
}

/// Runs the graph with `fault` in the middle; returns the error once every thread has ended.
fn run_with(fault: &str) -> RunError {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let options = RunOptions {
        runs_dir: dir.path().to_path_buf(),
        progress: ProgressMode::Quiet,
        ..RunOptions::default()
    };
    let start = Instant::now();
    let failure = scanflow::run(common::graph(&text(fault)), &options).expect_err("must fail");
    let took = start.elapsed();
    assert!(took < Duration::from_secs(5), "took {took:?}");
    // The others stop: cancelled, or ended early because a neighbour ended (`relay` loses
    // its consumer, then `flood` its first consumer, and the other branch may drain and
    // finish before the cancellation reaches it: which one wins is a race).
    for node in failure.report.nodes.iter().filter(|n| n.id != "bad") {
        assert!(
            matches!(node.state, NodeState::Cancelled | NodeState::Ran),
            "{node:?}"
        );
    }
    assert_eq!(failure.report.node("bad").unwrap().state, NodeState::Failed);
    assert_eq!(failure.report.node("bad").unwrap().items_in, 20_000);
    let left = node_threads();
    assert!(
        left.is_empty(),
        "threads left running after the run: {left:?}"
    );
    failure.error
}

#[test]
fn a_panic_in_a_middle_node_names_it_and_ends_every_thread() {
    let error = run_with("PanicPass");
    assert!(
        matches!(&error, RunError::NodePanicked { node, .. } if node == "bad"),
        "{error}"
    );
    assert_eq!(
        error.to_string(),
        "node `bad` (PanicPass) panicked: injected panic after forwarding 20000 tokens"
    );
}

#[test]
fn an_error_in_a_middle_node_names_it_and_ends_every_thread() {
    let error = run_with("FailPass");
    assert_eq!(
        error.to_string(),
        "node `bad` (FailPass) failed: injected failure after forwarding 20000 tokens"
    );
}
