//! A neighbour table on disk, in a node's folder: `neighbours.npy` (`<u4`, N×k),
//! `similarities.npy` (`<f4`, N×k) and, when the points have labels, `labels.npy`
//! (`<u4`, N×1). The Knn operator writes it and the run cache replays it.

use std::io;
use std::path::Path;

use crate::data::{read_npy_matrix, read_npy_u32, write_npy_f32, write_npy_u32};
use crate::data::{DataError, NeighbourTable};

/// Neighbour indices file.
pub const NEIGHBOURS_FILE: &str = "neighbours.npy";
/// Similarities file.
pub const SIMILARITIES_FILE: &str = "similarities.npy";
/// Labels file (only when the table has labels).
pub const LABELS_FILE: &str = "labels.npy";

/// Writes `table` into `dir` (removing a stale `labels.npy` when it has no labels).
pub fn save_table(dir: &Path, table: &NeighbourTable) -> io::Result<()> {
    let (n, k) = (table.points(), table.k);
    write_npy_u32(&dir.join(NEIGHBOURS_FILE), n, k, &table.indices)?;
    write_npy_f32(&dir.join(SIMILARITIES_FILE), n, k, &table.similarities)?;
    let labels = dir.join(LABELS_FILE);
    match &table.labels {
        Some(values) => write_npy_u32(&labels, values.len(), 1, values),
        None => match std::fs::remove_file(&labels) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        },
    }
}

/// Reads the table [`save_table`] wrote into `dir`; shapes must agree.
pub fn load_table(dir: &Path) -> Result<NeighbourTable, DataError> {
    let path = dir.join(NEIGHBOURS_FILE);
    let (n, k, indices) = read_npy_u32(&path)?;
    let similarities = read_npy_matrix(&dir.join(SIMILARITIES_FILE))?;
    let labels_path = dir.join(LABELS_FILE);
    let labels = if labels_path.exists() {
        Some(read_npy_u32(&labels_path)?.2)
    } else {
        None
    };
    let sims_shape = (similarities.rows, similarities.cols);
    let labels_ok = labels.as_ref().map_or(true, |l| l.len() == n);
    if sims_shape != (n, k) || !labels_ok {
        return Err(DataError::Npy {
            path,
            message: format!(
                "{n}×{k} neighbours disagree with {}×{} similarities or the labels",
                sims_shape.0, sims_shape.1
            ),
        });
    }
    Ok(NeighbourTable {
        k,
        indices,
        similarities: similarities.data,
        labels,
    })
}
