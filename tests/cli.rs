//! The `scanflow` binary end to end, in a temporary run folder, on the real CIFAR-10
//! archive in `../shared/data`.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const PREVIEW: &str = "graphs/preview.ron";

fn scanflow(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_scanflow"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn ops_lists_every_operator_with_ports_and_defaults() {
    let out = scanflow(&["ops"]);
    assert!(out.status.success());
    let listing = text(&out.stdout);
    for expected in [
        "Images\n",
        "ImageGrid\n",
        "ChannelStats\n",
        "output: image batches",
        "input  input        image batches (required)",
        "param  batch        usize [default 256]",
        "param  source       Folder(path, split) | Cifar10(path, split, download)",
        "param  epochs       u64 [default 1]",
    ] {
        assert!(
            listing.contains(expected),
            "missing `{expected}` in:\n{listing}"
        );
    }
}

#[test]
fn check_prints_the_wired_graph() {
    let out = scanflow(&["check", PREVIEW]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listing = text(&out.stdout);
    assert!(
        listing.contains("graph `cifar10-preview`: 3 nodes"),
        "{listing}"
    );
    assert!(
        listing.contains("input: ← test (image batches, capacity 4)"),
        "{listing}"
    );
}

#[test]
fn graph_prints_dot() {
    let out = scanflow(&["graph", PREVIEW]);
    assert!(out.status.success());
    let dot = text(&out.stdout);
    assert!(dot.starts_with("digraph \"cifar10-preview\" {"), "{dot}");
    assert!(
        dot.contains("\"test\" -> \"grid\" [label=\"input: image batches\"];"),
        "{dot}"
    );
}

#[test]
fn a_bad_override_is_named_and_exits_2() {
    let out = scanflow(&["check", PREVIEW, "--set", "gird.columns=3"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("--set gird.columns=3: no node named `gird` (did you mean `grid`?)"),
        "{stderr}"
    );
    let out = scanflow(&["check", PREVIEW, "--set", "grid.columns=\"many\""]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("node `grid`, field `columns`"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn run_writes_the_grid_the_stats_and_the_metrics() {
    let runs = tempfile::tempdir().unwrap();
    let runs_dir = runs.path().to_str().unwrap();
    let out = scanflow(&[
        "run",
        PREVIEW,
        "--runs-dir",
        runs_dir,
        "--set",
        "test.per_class=20",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    assert!(table.contains("bottleneck:"), "{table}");
    let dir = runs.path().join("cifar10-preview");
    let grid = image::open(dir.join("grid/grid.png")).unwrap();
    assert_eq!((grid.width(), grid.height()), (20 * 66 + 2, 10 * 66 + 2));
    let stats = std::fs::read_to_string(dir.join("stats/output.json")).unwrap();
    assert!(stats.contains("\"images\": 200"), "{stats}");
    let metrics: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(metrics["status"], "ok");
    assert_eq!(metrics["nodes"][0]["items_out"], 200);
    assert!(metrics["edges"][0]["max_occupancy"].as_u64().is_some());
}

#[test]
fn ctrl_c_stops_the_run_cleanly_with_exit_130() {
    let runs = tempfile::tempdir().unwrap();
    let graph = runs.path().join("slow.ron");
    std::fs::write(
        &graph,
        format!(
            r#"Graph(name: "slow", capacity: 1, nodes: {{
                "train": Images(source: Folder(path: "{}/../shared/data/cifar10-jpg.tar.gz", split: "train"), batch: 64, workers: 1),
                "stats": ChannelStats(input: "train"),
            }})"#,
            env!("CARGO_MANIFEST_DIR")
        ),
    )
    .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_scanflow"))
        .args([
            "run",
            graph.to_str().unwrap(),
            "--runs-dir",
            runs.path().to_str().unwrap(),
            "-q",
        ])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    let start = Instant::now();
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert!(start.elapsed() < Duration::from_secs(5));
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("interrupted"));
    assert!(Path::new(&runs.path().join("slow/metrics.json")).is_file());
}
