//! `Features`: a source that streams precomputed feature vectors (an N×D `.npy`, float32
//! or float16) as [`FeatureBatch`]es, row `i` carrying dataset index `i` — the entry point
//! for users who bring their own embeddings to neighbour mining, optionally with a label per
//! row (so the clusterings of those embeddings can be scored).

use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{BuildContext, InputPort, Operator, ParamDoc, ParamError};
use crate::data::{fingerprint_path, read_npy_ids, read_npy_matrix, FeatureBatch};
use crate::payload::{Payload, PortType};
use crate::runtime::{Context, OpError};

/// Where the features come from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum FeatureSource {
    /// A 2-D C-order `.npy` matrix of dtype `<f4` or `<f2`, one row per point.
    Npy {
        /// The `.npy` file.
        path: String,
        /// An optional 1-D integer `.npy` of one class label per row, so `Knn` reports
        /// label agreement and `Evaluate` can score clusterings of these features.
        #[serde(default)]
        labels: Option<String>,
    },
}

/// Parameters of [`Features`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeaturesParams {
    /// Where the features come from.
    pub source: FeatureSource,
    /// Vectors per batch.
    #[serde(default = "default_batch")]
    pub batch: usize,
}

fn default_batch() -> usize {
    4096
}

impl Default for FeaturesParams {
    fn default() -> Self {
        FeaturesParams {
            source: FeatureSource::Npy {
                path: "features.npy".into(),
                labels: None,
            },
            batch: default_batch(),
        }
    }
}

/// The `Features` source operator.
pub struct Features {
    path: PathBuf,
    labels: Option<PathBuf>,
    batch: usize,
}

impl Operator for Features {
    type Params = FeaturesParams;
    const NAME: &'static str = "Features";
    const SUMMARY: &'static str =
        "Reads an N×D feature matrix (.npy, float32 or float16) and streams it as batches of vectors indexed 0..N.";
    const PARAMS: &'static [ParamDoc] = &[
        ParamDoc {
            name: "source",
            ty: "Npy(path: String, labels: Option<String>)",
            doc: "the feature matrix: a 2-D C-order .npy of float32 or float16 (required); optionally a 1-D integer .npy of one class label per row",
        },
        ParamDoc {
            name: "batch",
            ty: "usize",
            doc: "vectors per batch",
        },
    ];
    const INPUTS: &'static [InputPort] = &[];
    const OUTPUT: Option<PortType> = Some(PortType::Features);

    fn build(params: FeaturesParams, ctx: &BuildContext) -> Result<Self, Vec<ParamError>> {
        let mut errors = Vec::new();
        if params.batch == 0 {
            errors.push(ParamError::new("batch", "must be at least 1"));
        }
        let FeatureSource::Npy {
            path: written,
            labels,
        } = &params.source;
        let path = check_file(ctx, written, &mut errors);
        let labels = labels
            .as_ref()
            .map(|written| check_file(ctx, written, &mut errors));
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Features {
            path,
            labels,
            batch: params.batch,
        })
    }

    fn cache_salt(&self) -> String {
        let salt =
            |path: &PathBuf| fingerprint_path(path).unwrap_or_else(|e| format!("unreadable: {e}"));
        match &self.labels {
            Some(labels) => format!("{} {}", salt(&self.path), salt(labels)),
            None => salt(&self.path),
        }
    }

    fn run(self, ctx: &mut Context) -> Result<(), OpError> {
        let matrix = read_npy_matrix(&self.path)?;
        ctx.set_total(matrix.rows as u64);
        let labels = self.read_labels(matrix.rows)?;
        let dim = matrix.cols;
        for start in (0..matrix.rows).step_by(self.batch) {
            ctx.check_cancelled()?;
            let end = (start + self.batch).min(matrix.rows);
            let batch = FeatureBatch {
                dim,
                data: matrix.data[start * dim..end * dim].to_vec(),
                indices: (start as u64..end as u64).collect(),
                labels: labels.as_ref().map(|l| l[start..end].to_vec()),
                names: None,
            };
            ctx.send(Payload::Features(Arc::new(batch)))?;
        }
        Ok(())
    }
}

impl Features {
    /// The labels file's values, refused unless there is one per feature row.
    fn read_labels(&self, rows: usize) -> Result<Option<Vec<u32>>, OpError> {
        let Some(path) = &self.labels else {
            return Ok(None);
        };
        let labels = read_npy_ids(path)?;
        if labels.len() != rows {
            return Err(OpError::Failed(format!(
                "`{}` holds {} labels but the features have {rows} rows",
                path.display(),
                labels.len()
            )));
        }
        Ok(Some(labels))
    }
}

/// Resolves a path parameter of `source`, noting an error when it is not a file.
fn check_file(ctx: &BuildContext, written: &str, errors: &mut Vec<ParamError>) -> PathBuf {
    let path = ctx.resolve(written);
    if !path.is_file() {
        errors.push(ParamError::new(
            "source",
            format!("`{written}` is not a file (relative paths start from the current directory)"),
        ));
    }
    path
}
