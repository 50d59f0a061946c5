//! A training node's `history.jsonl`, one JSON line per epoch. A node that starts over
//! (its inputs or parameters changed, so no checkpoint matches) or resumes from an earlier
//! checkpoint first drops the lines of the epochs it is about to train again, so the file
//! always describes the run that produced the node's current outputs.

use std::path::Path;

use crate::fsutil::write_atomic;
use crate::runtime::OpError;

/// The history file in a node's run folder.
pub fn history_path(run_dir: &Path) -> std::path::PathBuf {
    run_dir.join("history.jsonl")
}

/// Keeps only the lines of `run_dir`'s history whose `"epoch"` is below `from_epoch` (the
/// first epoch about to be trained, counted as the lines count it); lines without an
/// epoch, such as a finished run's summary, go too. Nothing to do when there is no file.
pub fn restart_history(run_dir: &Path, from_epoch: u64) -> Result<(), OpError> {
    let path = history_path(run_dir);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(OpError::io(&path, e)),
    };
    let kept: String = text
        .lines()
        .filter(|line| epoch_of(line).is_some_and(|epoch| epoch < from_epoch))
        .map(|line| format!("{line}\n"))
        .collect();
    if kept.len() == text.len() {
        return Ok(());
    }
    write_atomic(&path, kept.as_bytes()).map_err(|e| OpError::io(&path, e))
}

/// The `"epoch"` field of a history line, if it has one.
fn epoch_of(line: &str) -> Option<u64> {
    let value: serde_json::Value = serde_json::from_str(line).ok()?;
    value.get("epoch")?.as_u64()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, lines: &[&str]) {
        std::fs::write(history_path(dir), lines.join("\n") + "\n").unwrap();
    }

    fn read(dir: &Path) -> String {
        std::fs::read_to_string(history_path(dir)).unwrap()
    }

    #[test]
    fn a_fresh_start_empties_the_history() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            &[r#"{"epoch":0,"loss":2.0}"#, r#"{"epochs":1}"#],
        );
        restart_history(dir.path(), 0).unwrap();
        assert_eq!(read(dir.path()), "");
    }

    #[test]
    fn a_resume_keeps_the_epochs_before_its_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let lines = [
            r#"{"epoch":0,"loss":3.0}"#,
            r#"{"epoch":1,"loss":2.5}"#,
            r#"{"epoch":2,"loss":2.2}"#,
            r#"{"epochs":3}"#,
        ];
        write(dir.path(), &lines);
        restart_history(dir.path(), 2).unwrap();
        assert_eq!(read(dir.path()), format!("{}\n{}\n", lines[0], lines[1]));
    }

    #[test]
    fn no_history_is_no_error() {
        let dir = tempfile::tempdir().unwrap();
        restart_history(dir.path(), 0).unwrap();
        assert!(!history_path(dir.path()).exists());
    }
}
