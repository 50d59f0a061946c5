//! Where a node's feature vectors came from, written beside its outputs so that tools
//! outside the graph (`scanflow predict` on new images) can make comparable vectors:
//! `Encode` writes [`EncoderRecord`] (`encoder.json`: the model, the output it emitted and
//! the image size it read), and `Knn` writes [`IndexedFeatures`] (`source.json`: that record
//! plus the feature files it indexed).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::encode::EncodeOutput;
use crate::data::EvalViewSet;
use crate::fsutil::write_atomic;
use crate::model::ModelArtifact;

/// The file an `Encode` node writes its [`EncoderRecord`] to.
pub const ENCODER_FILE: &str = "encoder.json";
/// The file a `Knn` node writes its [`IndexedFeatures`] to.
pub const SOURCE_FILE: &str = "source.json";

/// How an `Encode` node made its vectors.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EncoderRecord {
    /// The model it ran.
    pub model: ModelArtifact,
    /// Which representation it emitted.
    pub output: EncodeOutput,
    /// The (height, width) of the views it read.
    pub input_size: (u32, u32),
    /// The (height, width) of the images those views were centrally cropped from, when
    /// they were (`Eval` views): `predict` scales new images to it before the crop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cropped_from: Option<(u32, u32)>,
    /// The fixed views (`EvalViews`) whose normalised mean each vector is; left out for
    /// one view per image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eval_views: Option<EvalViewSet>,
    /// The number of views laid side by side in each row (`Encode(views: Keep)`); left
    /// out when each row is one vector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kept_views: Option<usize>,
}

/// The feature vectors a `Knn` node indexed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IndexedFeatures {
    /// How they were made.
    pub encoder: EncoderRecord,
    /// The `features.npy` file (rows in arrival order).
    pub features: PathBuf,
    /// The `indices.npy` file (each row's dataset index).
    pub indices: PathBuf,
}

/// Writes `value` as pretty JSON to `dir/file`, atomically.
pub fn save<T: Serialize>(value: &T, dir: &Path, file: &str) -> std::io::Result<()> {
    let json = serde_json::to_vec_pretty(value)?;
    write_atomic(&dir.join(file), &json)
}

/// The record in `dir/file`; `Ok(None)` when there is none, an error naming the file when
/// it cannot be read or parsed.
pub fn load<T: for<'de> Deserialize<'de>>(dir: &Path, file: &str) -> Result<Option<T>, String> {
    let path = dir.join(file);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("`{}`: {e}", path.display())),
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| format!("`{}`: {e}", path.display()))
}

/// The [`IndexedFeatures`] of a `Knn` node whose `input` is the node with run folder
/// `features_dir`: `None` unless that node is an `Encode` that left its record.
pub fn feature_source(features_dir: &Path) -> Result<Option<IndexedFeatures>, String> {
    let encoder: Option<EncoderRecord> = load(features_dir, ENCODER_FILE)?;
    Ok(encoder.map(|encoder| IndexedFeatures {
        encoder,
        features: features_dir.join("features.npy"),
        indices: features_dir.join("indices.npy"),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_knn_node_finds_the_record_its_encode_node_left_and_nothing_elsewhere() {
        let dir = tempfile::tempdir().unwrap();
        let record = EncoderRecord {
            model: ModelArtifact {
                weights: dir.path().join("model.safetensors"),
                architecture: serde_json::json!({ "encoder": "SmallCnn" }),
                producer: "SimClr".into(),
            },
            output: EncodeOutput::Projection,
            input_size: (24, 24),
            cropped_from: Some((32, 32)),
            eval_views: Some(EvalViewSet {
                views: 4,
                scaled: (28, 28),
            }),
            kept_views: None,
        };
        save(&record, dir.path(), ENCODER_FILE).unwrap();
        let source = feature_source(dir.path()).unwrap().unwrap();
        assert_eq!(source.encoder, record);
        assert_eq!(source.features, dir.path().join("features.npy"));
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(feature_source(empty.path()).unwrap(), None);
        std::fs::write(empty.path().join(ENCODER_FILE), b"{").unwrap();
        let error = feature_source(empty.path()).unwrap_err();
        assert!(error.contains(ENCODER_FILE), "{error}");
    }
}
