//! What the operators that cluster fixed features (`KMeans`, `ScanFeatures`) share:
//! gathering a whole feature stream into rows ordered by dataset index, and emitting
//! per-row cluster probabilities as the feature batches `Evaluate` scores (the same stream
//! `Encode(output: Clusters)` sends).

use std::sync::Arc;

use crate::data::{DatasetNames, FeatureBatch};
use crate::knn::{gather, Gathered};
use crate::payload::Payload;
use crate::runtime::{Context, OpError};

/// Rows per emitted batch of probabilities.
pub const EMIT_BATCH: usize = 4096;

/// A whole feature stream: its rows by ascending dataset index, and the data set's names
/// when a batch carried them.
pub struct Stream {
    /// The rows, ids and labels.
    pub rows: Gathered,
    /// Image and class names, passed on to `Evaluate`.
    pub names: Option<Arc<DatasetNames>>,
}

impl Stream {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.ids.len()
    }

    /// True when no row arrived.
    pub fn is_empty(&self) -> bool {
        self.rows.ids.is_empty()
    }
}

/// Reads input `field` to its end and gathers it; an empty stream is an error naming the
/// node and the field.
pub fn collect(ctx: &mut Context, field: &str) -> Result<Stream, OpError> {
    let mut batches = Vec::new();
    while let Some(payload) = ctx.recv(field)? {
        match payload {
            Payload::Features(batch) => batches.push(batch),
            other => {
                return Err(OpError::WrongPayload {
                    field: field.into(),
                    found: other.port_type().describe(),
                    expected: "feature batches".into(),
                })
            }
        }
    }
    let names = batches.iter().find_map(|b| b.names.clone());
    let rows = gather(&batches).map_err(|e| fail(ctx, format!("`{field}`: {e}")))?;
    let stream = Stream { rows, names };
    if stream.is_empty() {
        return Err(fail(ctx, format!("`{field}` sent no feature vector")));
    }
    Ok(stream)
}

/// Sends `probs` (one row of `clusters` values per row of `stream`, same order) as feature
/// batches carrying the stream's dataset indices, labels and names.
pub fn emit(
    ctx: &mut Context,
    stream: &Stream,
    probs: &[f32],
    clusters: usize,
) -> Result<(), OpError> {
    let rows = &stream.rows;
    for start in (0..stream.len()).step_by(EMIT_BATCH) {
        ctx.check_cancelled()?;
        let end = (start + EMIT_BATCH).min(stream.len());
        let batch = FeatureBatch {
            dim: clusters,
            data: probs[start * clusters..end * clusters].to_vec(),
            indices: rows.ids[start..end].to_vec(),
            labels: rows.labels.as_ref().map(|l| l[start..end].to_vec()),
            names: stream.names.clone(),
        };
        ctx.send(Payload::Features(Arc::new(batch)))?;
    }
    Ok(())
}

/// A failure of the node, prefixed with its id.
pub fn fail(ctx: &Context, message: impl std::fmt::Display) -> OpError {
    OpError::Failed(format!("node `{}`: {message}", ctx.id()))
}

/// A rayon pool of the node's worker count.
pub fn pool(ctx: &Context) -> Result<rayon::ThreadPool, OpError> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(ctx.workers())
        .build()
        .map_err(|e| fail(ctx, format!("cannot start worker threads: {e}")))
}

/// Writes `value` as pretty JSON to `name` in the node's run folder.
pub fn write_json(ctx: &Context, name: &str, value: &serde_json::Value) -> Result<(), OpError> {
    let path = ctx.run_dir().join(name);
    let text = serde_json::to_vec_pretty(value).map_err(|e| fail(ctx, e))?;
    crate::fsutil::write_atomic(&path, &text).map_err(|e| OpError::io(&path, e))
}
