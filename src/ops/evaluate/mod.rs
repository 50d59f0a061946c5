//! `Evaluate`: scores a clustering inside a graph. Reads every image's C cluster
//! probabilities (feature batches, e.g. from `Encode(output: Clusters)`), assigns each image
//! to its most probable cluster, and writes in its run folder:
//!
//! - `metrics.json`: with labels, every field of [`crate::metrics::ClusterReport`] (ACC under
//!   the Hungarian matching and by majority vote, NMI, ARI, top-5 when C equals the classes,
//!   confusion matrix, per-cluster size / purity / majority and matched class, notes) plus
//!   `labelled` and `empty_clusters`; without labels, sizes, empty clusters and a note;
//! - `assignments.csv`: index, source (the image file or archive entry, when the batches
//!   carry the data set's names; else the index), cluster, confidence, label, class;
//! - `prototypes.png` (when `images` is connected): one row per cluster, its most confident
//!   members first;
//! - `confusion.png` (with labels): the heat map of the confusion matrix;
//! - `summary.txt`: the console table, whose first scores also become the node's status.
//!
//! Empty clusters are listed, not errors. The metrics document is also sent downstream.

mod collect;
mod error;
mod files;
mod prototypes;
mod receive;

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use collect::Collected;
pub use error::{EvaluateError, RowProblem};
use prototypes::Prototypes;
use receive::receive;

use super::{BuildContext, InputPort, Operator, ParamDoc, ParamError};
use crate::fsutil::write_atomic;
use crate::metrics::{summary_table, ClusterReport};
use crate::payload::{Payload, PortType};
use crate::report::write_scored;
use crate::runtime::{Context, OpError};

/// Parameters of [`Evaluate`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EvaluateParams {
    /// Members of each cluster shown in `prototypes.png`.
    pub prototypes: usize,
    /// Integer upscaling of each image in the grid (nearest neighbour).
    pub scale: u32,
}

impl Default for EvaluateParams {
    fn default() -> Self {
        EvaluateParams {
            prototypes: 8,
            scale: 2,
        }
    }
}

/// The `Evaluate` operator.
pub struct Evaluate {
    params: EvaluateParams,
}

impl Operator for Evaluate {
    type Params = EvaluateParams;
    const NAME: &'static str = "Evaluate";
    const SUMMARY: &'static str = "Assigns images to their most probable cluster and scores the clustering against the labels when known (ACC, NMI, ARI, top-5, per cluster); writes metrics.json, assignments.csv, prototypes.png and confusion.png.";
    const PARAMS: &'static [ParamDoc] = &[
        ParamDoc {
            name: "prototypes",
            ty: "usize",
            doc: "most confident members of each cluster shown in prototypes.png",
        },
        ParamDoc {
            name: "scale",
            ty: "u32",
            doc: "integer upscaling of each image in prototypes.png",
        },
    ];
    const INPUTS: &'static [InputPort] = &[
        InputPort {
            field: "input",
            payload: PortType::Features,
            required: true,
            doc: "each image's C cluster probabilities (rows summing to 1), with dataset indices and labels when known",
        },
        InputPort {
            field: "images",
            payload: PortType::Images,
            required: false,
            doc: "the same images, matched by dataset index, for the prototype grid (best in the same order as `input`)",
        },
    ];
    const OUTPUT: Option<PortType> = Some(PortType::Metrics);

    fn build(params: EvaluateParams, _ctx: &BuildContext) -> Result<Self, Vec<ParamError>> {
        let mut errors = Vec::new();
        if params.prototypes == 0 {
            errors.push(ParamError::new("prototypes", "must be at least 1"));
        }
        if params.scale == 0 {
            errors.push(ParamError::new("scale", "must be at least 1"));
        }
        ParamError::result(errors).map(|()| Evaluate { params })
    }

    fn run(self, ctx: &mut Context) -> Result<(), OpError> {
        let mut collected = Collected::new();
        let mut prototypes = ctx
            .has_input("images")
            .then(|| Prototypes::new(self.params.prototypes));
        receive(ctx, &mut collected, &mut prototypes)?;
        let document = self.finish(ctx, &collected, prototypes.as_ref())?;
        ctx.send(Payload::Metrics(Arc::new(document)))
    }
}

impl Evaluate {
    /// Writes every report file and returns the metrics document.
    fn finish(
        &self,
        ctx: &Context,
        collected: &Collected,
        prototypes: Option<&Prototypes>,
    ) -> Result<Value, EvaluateError> {
        if collected.len() == 0 {
            return Err(EvaluateError::NoSamples);
        }
        let dir = ctx.run_dir();
        let classes = prototypes.map_or(&[][..], Prototypes::classes);
        files::write_assignments(&dir.join("assignments.csv"), collected, classes)?;
        let mut notes = Vec::new();
        let grid = dir.join("prototypes.png");
        let drawn = match prototypes {
            Some(p) => p.write_png(&grid, collected.clusters, self.params.scale)?,
            None => false,
        };
        if !drawn {
            remove_stale(&grid);
            notes.push("no prototypes.png: connect `images` (the same images) to draw one".into());
        }
        let (document, mut table) = score(dir, collected, notes)?;
        let names = collected.names.as_ref().map_or(&[][..], |n| n.classes());
        let majority =
            files::majority_lines(&document, if classes.is_empty() { names } else { classes });
        if !majority.is_empty() {
            table.push('\n');
            table.push_str(&majority);
        }
        let summary = dir.join("summary.txt");
        write_atomic(&summary, table.as_bytes()).map_err(|source| {
            crate::report::ReportWriteError {
                path: summary.clone(),
                source,
            }
        })?;
        ctx.set_status(status_line(&document));
        Ok(document)
    }
}

/// Scores against the labels when every row has one (writing `metrics.json` and
/// `confusion.png`), else writes the unscored document; returns it with the table.
fn score(
    dir: &Path,
    collected: &Collected,
    mut notes: Vec<String>,
) -> Result<(Value, String), EvaluateError> {
    let metrics = dir.join("metrics.json");
    let Some(labels) = collected.labels() else {
        let sizes = collected.sizes();
        let mut all = files::unscored_notes(&sizes);
        all.append(&mut notes);
        remove_stale(&dir.join("confusion.png"));
        let document = files::unscored_document(&sizes, &all);
        crate::report::write_json(&metrics, &document)?;
        return Ok((document, files::unscored_table(&sizes, &all)));
    };
    let probs = Some((collected.probs.as_slice(), collected.clusters));
    let mut report = ClusterReport::compute_with_clusters(
        &collected.cluster,
        labels,
        probs,
        Some(collected.clusters),
    )?;
    report.notes.append(&mut notes);
    let confusion = dir.join("confusion.png");
    let document = write_scored(&report, Some(&metrics), Some(&confusion))?;
    Ok((document, summary_table(&report)))
}

/// The node's status: the main scores (or the sizes when unscored) in one line.
fn status_line(document: &Value) -> String {
    let number = |key: &str| document[key].as_f64();
    let counts = format!(
        "{} samples, {} clusters, {} empty; table in summary.txt",
        document["samples"],
        document["clusters"],
        document["empty_clusters"].as_array().map_or(0, Vec::len)
    );
    match (number("acc_hungarian"), number("nmi"), number("ari")) {
        (Some(acc), Some(nmi), Some(ari)) => {
            format!("ACC {acc:.4} NMI {nmi:.4} ARI {ari:.4} ({counts})")
        }
        _ => format!("no labels: metrics skipped ({counts})"),
    }
}

/// Removes a report file a previous run left that this run does not write.
fn remove_stale(path: &Path) {
    let _ = std::fs::remove_file(path);
}

#[cfg(test)]
mod tests;
