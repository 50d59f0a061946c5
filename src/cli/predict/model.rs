//! The trained model `predict` reads: its `model.json` checked (present, a cluster model,
//! weights on disk, an input size) and rebuilt with [`ClusterModel::from_artifact`] as a
//! classifier from images to the selected head's probabilities — the same model and call
//! (`probabilities`, evaluation mode) as `Encode(output: Clusters)`.

use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use scanflow::model::artifact::ARTIFACT_FILE;
use scanflow::model::{ClusterModel, ModelArtifact, ModelError};

use super::PredictError;

/// The operators whose models hold cluster heads (their artifacts' `producer`).
pub const CLUSTER_PRODUCERS: [&str; 2] = ["Scan", "SelfLabel"];

/// A checked `model.json`.
#[derive(Debug)]
pub struct ModelInfo {
    /// The artifact as written.
    pub artifact: ModelArtifact,
    /// The (width, height) the model was trained on (the artifact records `input_size` as
    /// `[height, width]`, as [`scanflow::model::ClusterArchitecture`] does).
    pub input_size: (u32, u32),
    /// The (width, height) of the images the model's views were centrally cropped from,
    /// when the artifact records it (`cropped_from`, `[height, width]`).
    pub cropped_from: Option<(u32, u32)>,
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
        let (height, width): (u32, u32) =
            serde_json::from_value(artifact.architecture["input_size"].clone()).map_err(|e| {
                PredictError::NoInputSize {
                    path: path.clone(),
                    message: e.to_string(),
                }
            })?;
        let cropped_from = artifact
            .architecture
            .get("cropped_from")
            .map(|v| serde_json::from_value::<Option<(u32, u32)>>(v.clone()))
            .transpose()
            .map_err(|e| bad_file(&path, format!("`cropped_from` is not [height, width]: {e}")))?
            .flatten()
            .map(|(h, w)| (w, h));
        Ok(ModelInfo {
            artifact,
            input_size: (width, height),
            cropped_from,
        })
    }
}

/// The model as a function from (B, H, W, 3) images to (B, C) cluster probabilities.
pub fn cluster_model(
    info: &ModelInfo,
    run: &Path,
    device: &Device,
) -> Result<impl FnMut(&Tensor) -> Result<Tensor, PredictError>, PredictError> {
    let failed = ModelFailure {
        run: run.to_path_buf(),
        producer: info.artifact.producer.clone(),
    };
    let model = ClusterModel::from_artifact(&info.artifact, device).map_err(|e| failed.of(e))?;
    Ok(move |x: &Tensor| model.probabilities(x).map_err(|e| failed.of(e)))
}

/// What a model error is reported against.
struct ModelFailure {
    run: PathBuf,
    producer: String,
}

impl ModelFailure {
    fn of(&self, error: ModelError) -> PredictError {
        PredictError::Model {
            run: self.run.clone(),
            producer: self.producer.clone(),
            message: error.to_string(),
        }
    }
}

fn bad_file(path: &Path, error: impl std::fmt::Display) -> PredictError {
    PredictError::BadModelFile {
        path: PathBuf::from(path),
        message: error.to_string(),
    }
}
