//! [`ModelArtifact`]: a trained model as it travels between nodes — the safetensors file
//! holding its tensors and the architecture that reads them — so a consumer (or a later run
//! replaying the cache) rebuilds the network from disk instead of sharing live tensors.

use std::path::{Path, PathBuf};

use candle_core::Device;
use serde::{Deserialize, Serialize};

use super::{ContrastiveModel, EncoderKind, HeadKind, ModelError};

/// Name of the file, in the producing node's run folder, that describes its model.
pub const ARTIFACT_FILE: &str = "model.json";

/// A trained model on disk.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelArtifact {
    /// The safetensors file with every tensor of the model.
    pub weights: PathBuf,
    /// The architecture, as the producing operator wrote it (encoder, head, clusters…).
    pub architecture: serde_json::Value,
    /// The operator that trained it, e.g. `SimClr`.
    pub producer: String,
}

impl ModelArtifact {
    /// Writes the description into `dir` (atomically).
    pub fn save(&self, dir: &Path) -> std::io::Result<()> {
        let json = serde_json::to_vec_pretty(self)?;
        crate::fsutil::write_atomic(&dir.join(ARTIFACT_FILE), &json)
    }

    /// Reads the description from `dir`; `None` when it is missing, unreadable or its
    /// weights file is gone (the producer must then run again).
    pub fn load(dir: &Path) -> Option<ModelArtifact> {
        let bytes = std::fs::read(dir.join(ARTIFACT_FILE)).ok()?;
        let artifact: ModelArtifact = serde_json::from_slice(&bytes).ok()?;
        artifact.weights.is_file().then_some(artifact)
    }
}

/// The architecture of a contrastive model, as an artifact records it.
#[derive(Deserialize)]
struct ContrastiveArchitecture {
    encoder: EncoderKind,
    head: HeadKind,
}

impl ContrastiveModel {
    /// Rebuilds the model an artifact describes and loads its weights.
    pub fn from_artifact(artifact: &ModelArtifact, device: &Device) -> Result<Self, ModelError> {
        let architecture: ContrastiveArchitecture =
            serde_json::from_value(artifact.architecture.clone()).map_err(|e| {
                ModelError::Config {
                    field: "architecture",
                    message: format!(
                        "of the {} model {} cannot be read: {e}",
                        artifact.producer,
                        artifact.weights.display()
                    ),
                }
            })?;
        let model = ContrastiveModel::new(&architecture.encoder, &architecture.head, 0, device)?;
        model.load(&artifact.weights)?;
        Ok(model)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_artifact_loads_only_while_its_weights_exist() {
        let dir = tempfile::tempdir().unwrap();
        let weights = dir.path().join("model.safetensors");
        std::fs::write(&weights, b"x").unwrap();
        let artifact = ModelArtifact {
            weights: weights.clone(),
            architecture: serde_json::json!({"encoder": "SmallCnn"}),
            producer: "SimClr".into(),
        };
        artifact.save(dir.path()).unwrap();
        assert_eq!(ModelArtifact::load(dir.path()), Some(artifact));
        std::fs::remove_file(weights).unwrap();
        assert_eq!(ModelArtifact::load(dir.path()), None);
    }
}
