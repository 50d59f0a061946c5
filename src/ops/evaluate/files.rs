//! What an `Evaluate` node writes besides the scored report: `assignments.csv` (one line
//! per image, in dataset-index order, named by its source file when the batches carry
//! the data set's names) and, when there are no labels, the unscored
//! document and table (cluster sizes, empty clusters, notes).

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use serde_json::{json, Value};

use super::collect::Collected;
use crate::data::DatasetNames;
use crate::fsutil::write_atomic_with;
use crate::metrics::ClusterStats;
use crate::report::{csv_field, ReportWriteError};

/// Header of `assignments.csv`.
pub const ASSIGNMENTS_HEADER: &str = "index,source,cluster,confidence,label,class";

/// One line of `assignments.csv` (without its newline): dataset index; source (the
/// image's name, see [`source_of`]); cluster; confidence to 6 decimals; label and class
/// name, empty when unknown.
pub fn assignment_line(
    index: u64,
    source: &str,
    cluster: u32,
    confidence: f32,
    label: Option<u32>,
    classes: &[String],
) -> String {
    let class = label
        .and_then(|l| classes.get(l as usize))
        .map_or(String::new(), |name| csv_field(name));
    let label = label.map_or(String::new(), |l| l.to_string());
    let source = csv_field(source);
    format!("{index},{source},{cluster},{confidence:.6},{label},{class}")
}

/// How `assignments.csv` names the image at `index`: its file (or archive entry, or
/// record) when the batches carried the data set's names, else the index itself.
pub fn source_of(names: Option<&DatasetNames>, index: u64) -> String {
    names
        .and_then(|n| n.source(index))
        .map_or_else(|| index.to_string(), str::to_string)
}

/// Writes `assignments.csv`: the header, then every row in dataset-index order. Class
/// names come from the batches' data set names, else from `classes`.
pub fn write_assignments(
    path: &Path,
    collected: &Collected,
    classes: &[String],
) -> Result<(), ReportWriteError> {
    let labels = collected.labels();
    let names = collected.names.as_deref();
    let classes = match names.map(DatasetNames::classes) {
        Some(known) if !known.is_empty() => known,
        _ => classes,
    };
    write_atomic_with(path, |out| {
        writeln!(out, "{ASSIGNMENTS_HEADER}")?;
        for row in collected.by_index() {
            let label = labels.map(|l| l[row]);
            let (index, cluster) = (collected.indices[row], collected.cluster[row]);
            let source = source_of(names, index);
            let confidence = collected.confidence[row];
            let line = assignment_line(index, &source, cluster, confidence, label, classes);
            writeln!(out, "{line}")?;
        }
        Ok(())
    })
    .map_err(|source| ReportWriteError {
        path: path.to_path_buf(),
        source,
    })
}

/// The metrics document without labels: sample and cluster counts, per-cluster sizes
/// (purity and classes `null`), the empty clusters and the notes.
pub fn unscored_document(sizes: &[u64], notes: &[String]) -> Value {
    let per_cluster: Vec<ClusterStats> = sizes
        .iter()
        .enumerate()
        .map(|(c, &size)| ClusterStats {
            cluster: c as u32,
            size,
            purity: None,
            majority_class: None,
            matched_class: None,
        })
        .collect();
    json!({
        "samples": sizes.iter().sum::<u64>(),
        "clusters": sizes.len(),
        "labelled": false,
        "per_cluster": per_cluster,
        "empty_clusters": empty_clusters(sizes),
        "notes": notes,
    })
}

/// The ids of the clusters of size 0.
pub fn empty_clusters(sizes: &[u64]) -> Vec<u32> {
    (0..sizes.len() as u32)
        .filter(|&c| sizes[c as usize] == 0)
        .collect()
}

/// The console table without labels: counts, one line per cluster, then the notes.
pub fn unscored_table(sizes: &[u64], notes: &[String]) -> String {
    let samples: u64 = sizes.iter().sum();
    let width = samples.to_string().len().max(4);
    let mut out = format!("samples {samples}, clusters {}\n\n", sizes.len());
    let _ = writeln!(out, "{:>7}  {:>width$}", "cluster", "size");
    for (c, size) in sizes.iter().enumerate() {
        let _ = writeln!(out, "{c:>7}  {size:>width$}");
    }
    out.push('\n');
    for note in notes {
        let _ = writeln!(out, "note: {note}");
    }
    out
}

/// The notes of an unlabelled evaluation: why nothing was scored, and the empty clusters.
pub fn unscored_notes(sizes: &[u64]) -> Vec<String> {
    let mut notes = vec![
        "labels missing: ACC, NMI, ARI, top-5 and the confusion matrix skipped \
         (assignments and prototypes are still written)"
            .to_string(),
    ];
    let empty = empty_clusters(sizes);
    if !empty.is_empty() {
        let ids: Vec<String> = empty.iter().map(u32::to_string).collect();
        notes.push(format!("empty clusters (size 0): {}", ids.join(", ")));
    }
    notes
}

/// Each cluster's majority label and its share, one line per cluster, as the Keras example
/// prints them (`cluster 0 label is: frog  -  accuracy: 31.6 %`), followed by the size;
/// empty when the document has no per-cluster figures (no labels).
pub fn majority_lines(document: &Value, classes: &[String]) -> String {
    let Some(clusters) = document["per_cluster"].as_array() else {
        return String::new();
    };
    let mut out = String::new();
    for stats in clusters {
        let Some(class) = stats["majority_class"].as_u64() else {
            continue;
        };
        let name = classes
            .get(class as usize)
            .map_or_else(|| class.to_string(), String::clone);
        out.push_str(&format!(
            "cluster {} label is: {name}  -  accuracy: {:.2} %  (size {})\n",
            stats["cluster"],
            stats["purity"].as_f64().unwrap_or(0.0) * 100.0,
            stats["size"]
        ));
    }
    out
}
