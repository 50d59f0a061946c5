//! The files a scored clustering leaves on disk, shared by `scanflow metrics` and the
//! `Evaluate` operator: the report as a JSON document (every field of [`ClusterReport`]
//! plus `labelled: true` and `empty_clusters`) and its confusion matrix as a PNG heat map
//! (classes × clusters, matched pairs on the diagonal).

use std::io;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::write_heatmap_png;
use crate::fsutil::write_atomic;
use crate::metrics::ClusterReport;

/// A report file that could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write `{}`: {source}", path.display())]
pub struct ReportWriteError {
    /// The file.
    pub path: PathBuf,
    /// The underlying error.
    #[source]
    pub source: io::Error,
}

/// The JSON document of a scored clustering: the report's fields, `labelled: true`, and
/// `empty_clusters`, the ids of the clusters nobody was assigned to.
pub fn scored_document(report: &ClusterReport) -> Value {
    let mut document = serde_json::to_value(report).unwrap_or_else(|_| json!({}));
    if let Value::Object(fields) = &mut document {
        let empty: Vec<u32> = report
            .per_cluster
            .iter()
            .filter(|s| s.size == 0)
            .map(|s| s.cluster)
            .collect();
        fields.insert("labelled".into(), Value::Bool(true));
        fields.insert("empty_clusters".into(), json!(empty));
    }
    document
}

/// Writes [`scored_document`] to `json` and the matched confusion matrix to `heatmap`
/// (each only when given), atomically; returns the document.
pub fn write_scored(
    report: &ClusterReport,
    json: Option<&Path>,
    heatmap: Option<&Path>,
) -> Result<Value, ReportWriteError> {
    let document = scored_document(report);
    if let Some(path) = json {
        write_json(path, &document)?;
    }
    if let Some(path) = heatmap {
        write_heatmap_png(path, &report.confusion_by_match()).map_err(|source| {
            ReportWriteError {
                path: path.to_path_buf(),
                source,
            }
        })?;
    }
    Ok(document)
}

/// Writes `document` as pretty-printed JSON, atomically.
pub fn write_json(path: &Path, document: &Value) -> Result<(), ReportWriteError> {
    let error = |source| ReportWriteError {
        path: path.to_path_buf(),
        source,
    };
    let bytes = serde_json::to_vec_pretty(document).map_err(|e| error(e.into()))?;
    write_atomic(path, &bytes).map_err(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_lists_empty_clusters_and_files_are_written() {
        // Cluster 2 of 4 is empty (the table of `summary_table`'s golden test).
        let pred = [0, 0, 0, 1, 1, 3, 3];
        let labels = [0, 0, 0, 1, 1, 0, 0];
        let report = ClusterReport::compute_with_clusters(&pred, &labels, None, Some(4)).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (json, png) = (dir.path().join("m.json"), dir.path().join("c.png"));
        let document = write_scored(&report, Some(&json), Some(&png)).unwrap();
        assert_eq!(document["empty_clusters"], json!([2]));
        assert_eq!(document["labelled"], json!(true));
        assert_eq!(document["clusters"], json!(4));
        let read: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
        assert_eq!(read, document);
        // 2 classes × 4 clusters of 24-px cells with 1-px grid lines.
        let image = image::open(&png).unwrap();
        assert_eq!((image.width(), image.height()), (4 * 25 + 1, 2 * 25 + 1));
    }

    #[test]
    fn unwritable_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, b"x").unwrap();
        let path = blocker.join("m.json");
        let err = write_json(&path, &json!({})).unwrap_err();
        assert!(err
            .to_string()
            .starts_with(&format!("cannot write `{}`", path.display())));
    }
}
