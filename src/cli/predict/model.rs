//! The trained model `predict` reads: its `model.json` checked (present, a cluster model,
//! weights on disk, an input size) and, once the cluster model type exists in the library,
//! rebuilt as a classifier from images to cluster probabilities.

use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use scanflow::model::artifact::ARTIFACT_FILE;
use scanflow::model::ModelArtifact;

use super::PredictError;

/// The operators whose models hold cluster heads.
pub const CLUSTER_PRODUCERS: [&str; 2] = ["Scan", "SelfLabel"];

/// A checked `model.json`.
#[derive(Debug)]
pub struct ModelInfo {
    /// The artifact as written.
    pub artifact: ModelArtifact,
    /// The (width, height) the model was trained on.
    pub input_size: (u32, u32),
}

impl ModelInfo {
    /// Reads and checks `<run>/model.json`, in the order a user would fix things.
    pub fn load(run: &Path) -> Result<Self, PredictError> {
        let path = run.join(ARTIFACT_FILE);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(PredictError::NoModel {
                    run: run.to_path_buf(),
                })
            }
            Err(e) => return Err(bad_file(&path, e)),
        };
        let artifact: ModelArtifact =
            serde_json::from_slice(&bytes).map_err(|e| bad_file(&path, e))?;
        if !CLUSTER_PRODUCERS.contains(&artifact.producer.as_str()) {
            return Err(PredictError::NotClusterModel {
                run: run.to_path_buf(),
                producer: artifact.producer,
            });
        }
        if !artifact.weights.is_file() {
            return Err(PredictError::WeightsMissing {
                model: path,
                weights: artifact.weights,
            });
        }
        let input_size = serde_json::from_value(artifact.architecture["input_size"].clone())
            .map_err(|e| PredictError::NoInputSize {
                path: path.clone(),
                message: e.to_string(),
            })?;
        Ok(ModelInfo {
            artifact,
            input_size,
        })
    }
}

/// The model as a function from (B, H, W, 3) images to (B, C) cluster probabilities.
///
/// The library has no cluster model type yet (`ClusterModel::from_artifact` is coming with
/// the Scan operator), so this reports that instead of guessing at its format.
pub fn cluster_model(
    info: &ModelInfo,
    run: &Path,
    _device: &Device,
) -> Result<impl FnMut(&Tensor) -> Result<Tensor, PredictError>, PredictError> {
    Err::<fn(&Tensor) -> Result<Tensor, PredictError>, _>(PredictError::Model {
        run: run.to_path_buf(),
        producer: info.artifact.producer.clone(),
        message: "this build cannot rebuild cluster models yet".into(),
    })
}

fn bad_file(path: &Path, error: impl std::fmt::Display) -> PredictError {
    PredictError::BadModelFile {
        path: PathBuf::from(path),
        message: error.to_string(),
    }
}
