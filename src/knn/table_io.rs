//! A neighbour table on disk, in a node's folder: `neighbours.npy` (`<u4`, N×k),
//! `similarities.npy` (`<f4`, N×k), when the points have labels `labels.npy` (`<u4`, N×1),
//! and when they are a subset of their data set `ids.npy` (`<u4`, N×1: each row's dataset
//! index). The Knn operator writes it and the run cache replays it.

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
/// Row → dataset index file (only when the rows are a subset).
pub const IDS_FILE: &str = "ids.npy";

/// Writes `table` into `dir` (removing a stale `labels.npy` or `ids.npy` when it has none).
pub fn save_table(dir: &Path, table: &NeighbourTable) -> io::Result<()> {
    let (n, k) = (table.points(), table.k);
    write_npy_u32(&dir.join(NEIGHBOURS_FILE), n, k, &table.indices)?;
    write_npy_f32(&dir.join(SIMILARITIES_FILE), n, k, &table.similarities)?;
    let ids: Option<Vec<u32>> = table
        .ids
        .as_ref()
        .map(|ids| ids.iter().map(|&i| i as u32).collect());
    write_column(&dir.join(LABELS_FILE), table.labels.as_deref())?;
    write_column(&dir.join(IDS_FILE), ids.as_deref())
}

/// Writes a `<u4` N×1 column, or removes a stale file when there is none.
fn write_column(path: &Path, values: Option<&[u32]>) -> io::Result<()> {
    match values {
        Some(values) => write_npy_u32(path, values.len(), 1, values),
        None => match std::fs::remove_file(path) {
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
    let labels = read_column(&dir.join(LABELS_FILE))?;
    let ids = read_column(&dir.join(IDS_FILE))?.map(|ids| ids.into_iter().map(u64::from).collect());
    let sims_shape = (similarities.rows, similarities.cols);
    let labels_ok = labels.as_ref().is_none_or(|l| l.len() == n);
    let ids_ok = ids
        .as_ref()
        .is_none_or(|l: &Vec<u64>| l.len() == n && l.windows(2).all(|w| w[0] < w[1]));
    if sims_shape != (n, k) || !labels_ok || !ids_ok {
        return Err(DataError::Npy {
            path,
            message: format!(
                "{n}×{k} neighbours disagree with {}×{} similarities, the labels or the ids (which must ascend)",
                sims_shape.0, sims_shape.1
            ),
        });
    }
    Ok(NeighbourTable {
        k,
        indices,
        similarities: similarities.data,
        labels,
        ids,
    })
}

/// The values of a `<u4` column file, or `None` when it is absent.
fn read_column(path: &Path) -> Result<Option<Vec<u32>>, DataError> {
    if path.exists() {
        Ok(Some(read_npy_u32(path)?.2))
    } else {
        Ok(None)
    }
}
