//! Checkpoint file names in a run folder: `checkpoint-epoch-00012.safetensors` for 12
//! epochs completed; finding the newest and pruning older ones.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::model::train_error::CheckpointError;

const PREFIX: &str = "checkpoint-epoch-";
const SUFFIX: &str = ".safetensors";

/// The folder a training node keeps its checkpoints in, inside its run folder.
pub fn checkpoints_in(run_dir: &Path) -> PathBuf {
    run_dir.join("checkpoints")
}

/// The checkpoint file for `epoch` epochs completed in `folder`.
pub fn checkpoint_path(folder: &Path, epoch: usize) -> PathBuf {
    folder.join(format!("{PREFIX}{epoch:05}{SUFFIX}"))
}

/// The checkpoint with the most epochs in `folder`, if any (none when the folder is missing).
/// Partly written files are never candidates: they carry a temporary name until renamed.
pub fn latest_in(folder: &Path) -> Option<PathBuf> {
    list(folder).ok()?.pop().map(|(_, path)| path)
}

/// Deletes the oldest checkpoints before epoch `current` so that `current`'s file and
/// `keep − 1` earlier ones remain.
pub(super) fn prune(folder: &Path, current: usize, keep: usize) -> Result<(), CheckpointError> {
    let io_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| CheckpointError::Io { path, source }
    };
    let earlier: Vec<_> = list(folder)
        .map_err(io_error(folder))?
        .into_iter()
        .filter(|(epoch, _)| *epoch < current)
        .collect();
    let excess = earlier.len().saturating_sub(keep.saturating_sub(1));
    for (_, path) in earlier.into_iter().take(excess) {
        fs::remove_file(&path).map_err(io_error(&path))?;
    }
    Ok(())
}

/// Deletes every checkpoint in `folder` (none when the folder is missing).
pub fn remove_checkpoints(folder: &Path) -> io::Result<()> {
    let found = match list(folder) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        found => found?,
    };
    found.iter().try_for_each(|(_, path)| fs::remove_file(path))
}

/// The checkpoints in `folder`, oldest first.
fn list(folder: &Path) -> io::Result<Vec<(usize, PathBuf)>> {
    let mut found = Vec::new();
    for entry in fs::read_dir(folder)? {
        let entry = entry?;
        let name = entry.file_name();
        if let Some(epoch) = name.to_str().and_then(epoch_of) {
            found.push((epoch, entry.path()));
        }
    }
    found.sort();
    Ok(found)
}

/// The epoch count in a checkpoint file name.
fn epoch_of(name: &str) -> Option<usize> {
    let digits = name.strip_prefix(PREFIX)?.strip_suffix(SUFFIX)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}
