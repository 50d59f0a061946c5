//! Kill and resume: the process aborts (no destructors, no flush — what `kill -9` leaves)
//! while a checkpoint, the packed store or the HNSW index is half written; the same command
//! run again completes, its weights, features and neighbours are byte-identical to an
//! uninterrupted run's, and the half-written temporary file is never read back (the rerun
//! writes its own and clears the dead process's).

mod faulty;

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use faulty::{graph, run, stderr, succeed, temp_files, OUTPUTS};

const EPOCHS: u64 = 3;
const SIGABRT: i32 = 6;

/// The runs folder of one uninterrupted run, shared by the tests of this file.
fn uninterrupted() -> &'static Path {
    static RUNS: OnceLock<PathBuf> = OnceLock::new();
    RUNS.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("kill_resume-uninterrupted");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        succeed(&graph(&dir, EPOCHS), &dir.join("runs"));
        dir.join("runs")
    })
}

/// Runs with `fault` armed, checks the process aborted leaving a temporary file in
/// `temp_folder` (relative to the runs folder), reruns and compares with the uninterrupted run.
fn abort_then_resume(fault: &str, temp_folder: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (graph, runs) = (graph(dir.path(), EPOCHS), dir.path().join("runs"));
    let out = run(&graph, &runs, Some(fault));
    assert_eq!(out.status.signal(), Some(SIGABRT), "{}", stderr(&out));
    let temps = temp_files(&runs.join(temp_folder));
    assert_eq!(temps.len(), 1, "one half-written file expected: {temps:?}");
    succeed(&graph, &runs);
    let left = temp_files(&runs.join(temp_folder));
    assert!(
        left.is_empty(),
        "the half-written file was not cleared: {left:?}"
    );
    for file in OUTPUTS {
        let (a, b) = (uninterrupted().join(file), runs.join(file));
        assert!(
            std::fs::read(&a).unwrap() == std::fs::read(&b).unwrap(),
            "{file} differs from the uninterrupted run's"
        );
    }
}

#[test]
fn abort_while_writing_a_checkpoint_resumes_to_the_same_results() {
    // The second checkpoint (after epoch 2) is cut in half; the rerun resumes from epoch 1's.
    abort_then_resume("checkpoint-write:2", "tiny/pretext/checkpoints");
}

#[test]
fn abort_while_packing_the_store_rebuilds_it() {
    abort_then_resume("store-build", ".shared/stores");
}

#[test]
fn abort_while_saving_the_index_rebuilds_it() {
    abort_then_resume("index-save", "tiny/neighbours");
}
