//! The clustering model SCAN's second step trains: an encoder and `H` cluster heads,
//! `(B,H,W,3)` → features `(B, D)` → per head `softmax(f·Wₕᵀ + bₕ)`, `(B, C)` (or with a
//! hidden layer, see [`heads`]). One
//! [`Params`] store holds the encoder under `encoder.…` and head `h` under
//! `cluster_head.{h}.…` (SCAN's state-dict names). Optionally the pretext's projection
//! head (under `head.…`, its name in the pretext model) sits between the encoder and the
//! cluster heads, which then read its output: heads trained on the projection features
//! the neighbours were mined on. The model remembers the image size it was trained at and
//! refuses others.

mod consensus;
mod heads;
#[cfg(test)]
mod tests;

use std::path::Path;

use candle_core::{Device, Tensor, Var, D};
use serde::{Deserialize, Serialize};

use super::encoder::{Encoder, EncoderKind};
use super::error::ModelError;
use super::head::{Head, HeadKind};
use super::network::{l2_normalise, ENCODER_PREFIX, HEAD_PREFIX};
use super::params::Params;
use super::ModelArtifact;
use heads::ClusterHead;
pub use heads::HeadSpec;

/// Prefix of the cluster heads' tensor names (`cluster_head.0.weight`, …).
pub const HEADS_PREFIX: &str = "cluster_head.";

/// What a cluster model is, as its artifact's `architecture` records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterArchitecture {
    /// The encoder.
    pub encoder: EncoderKind,
    /// Clusters per head, `C`.
    pub clusters: usize,
    /// Number of heads, `H`.
    pub heads: usize,
    /// The head whose predictions are used (lowest training loss).
    pub selected_head: usize,
    /// `(height, width)` of the images the model was trained on.
    pub input_size: (usize, usize),
    /// Whether the encoder's features are scaled to unit length before the heads (heads
    /// trained on an `Encode` node's normalised features). Left out when false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub normalize_features: bool,
    /// The pretext's projection head, run (in evaluation mode) between the encoder and the
    /// cluster heads; left out when the heads read the encoder's features.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub projection: Option<HeadKind>,
    /// Hidden units of each head (`Linear(D, K) → ReLU → Linear(K, C)`); left out for
    /// linear heads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hidden: Option<usize>,
    /// `(height, width)` of the images the model's input views were centrally cropped from
    /// (heads trained on `Eval` views smaller than their images): `predict` scales new
    /// images to it before cropping. Left out when the views were the whole image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cropped_from: Option<(usize, usize)>,
    /// Predict by the consensus of every head instead of the selected one: head `h`'s
    /// cluster `consensus[h][c]` counts as cluster `c` and the probabilities are averaged
    /// over heads. Left out when the selected head predicts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consensus: Option<Vec<Vec<usize>>>,
}

impl ClusterArchitecture {
    /// The heads' shape.
    pub fn head_spec(&self) -> HeadSpec {
        HeadSpec {
            clusters: self.clusters,
            heads: self.heads,
            hidden: self.hidden,
        }
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Encoder, cluster heads and their parameters.
#[derive(Debug)]
pub struct ClusterModel {
    arch: ClusterArchitecture,
    encoder: Encoder,
    projection: Option<Head>,
    heads: Vec<ClusterHead>,
    params: Params,
}

impl ClusterModel {
    /// Builds and initialises the model on `device`; the same `seed` gives the same weights.
    pub fn new(arch: ClusterArchitecture, seed: u64, device: &Device) -> Result<Self, ModelError> {
        check_arch(&arch)?;
        let mut params = Params::new(seed, device);
        let encoder = Encoder::new(&arch.encoder, &mut params, ENCODER_PREFIX)?;
        let projection = match &arch.projection {
            Some(kind) => Some(Head::new(
                kind,
                &mut params,
                HEAD_PREFIX,
                encoder.out_dim(),
            )?),
            None => None,
        };
        let feature_dim = projection.as_ref().map_or(encoder.out_dim(), Head::out_dim);
        let spec = arch.head_spec();
        let heads = (0..arch.heads)
            .map(|h| ClusterHead::new(&mut params, h, feature_dim, &spec))
            .collect::<Result<_, _>>()?;
        Ok(ClusterModel {
            arch,
            encoder,
            projection,
            heads,
            params,
        })
    }

    /// Every head's probabilities `(B, C)`. In training the encoder's batch norms use (and
    /// update) batch statistics.
    pub fn forward(&self, x: &Tensor, train: bool) -> Result<Vec<Tensor>, ModelError> {
        self.heads_forward(&self.features(x, train)?)
    }

    /// Encoder features `(B, D)` in evaluation mode, detached from the graph (the frozen
    /// encoder's fast path: only the heads learn).
    pub fn frozen_features(&self, x: &Tensor) -> Result<Tensor, ModelError> {
        Ok(self.features(x, false)?.detach())
    }

    /// Every head's probabilities `(B, C)` from features `(B, D)`.
    pub fn heads_forward(&self, features: &Tensor) -> Result<Vec<Tensor>, ModelError> {
        self.heads
            .iter()
            .map(|head| Ok(softmax_rows(&head.forward(features)?)?))
            .collect()
    }

    /// The model's probabilities `(B, C)` (the selected head's, or the consensus of all),
    /// evaluation mode.
    pub fn probabilities(&self, x: &Tensor) -> Result<Tensor, ModelError> {
        let features = self.frozen_features(x)?;
        match &self.arch.consensus {
            Some(perms) => consensus::probabilities(&self.heads, perms, &features),
            None => {
                let head = &self.heads[self.arch.selected_head];
                Ok(softmax_rows(&head.forward(&features)?)?)
            }
        }
    }

    /// The features the heads read `(B, D)`: the encoder's, or their projection; in
    /// training the encoder's batch norms use (and update) batch statistics.
    pub fn features(&self, x: &Tensor, train: bool) -> Result<Tensor, ModelError> {
        self.check_size(x)?;
        let mut features = self.encoder.forward(x, train)?;
        if let Some(projection) = &self.projection {
            features = projection.forward(&features, false, 0)?;
        }
        match self.arch.normalize_features {
            true => l2_normalise(&features),
            false => Ok(features),
        }
    }

    /// Replaces every head's weights with blocks as `ScanFeatures`' trainer holds them, each
    /// head `h`'s part after head `h − 1`'s: linear heads `[W (H·C)×D, b H·C]`, heads with a
    /// hidden layer `[W₁ (H·K)×D, b₁ H·K, W₂ (H·C)×K, b₂ H·C]`, row-major.
    pub fn set_heads(&self, blocks: &[&[f32]]) -> Result<(), ModelError> {
        let spec = self.arch.head_spec();
        heads::set_blocks(&self.params, &spec, self.feature_dim(), blocks)
    }

    /// The length `D` of the features the heads read.
    pub fn feature_dim(&self) -> usize {
        let encoder = self.encoder.out_dim();
        self.projection.as_ref().map_or(encoder, Head::out_dim)
    }

    /// Records the `(height, width)` of the images the model's input views are central
    /// crops of (see [`ClusterArchitecture::cropped_from`]).
    pub fn set_cropped_from(&mut self, size: Option<(usize, usize)>) {
        self.arch.cropped_from = size;
    }

    /// Scales the encoder's features to unit length before the heads from now on.
    pub fn normalize_features(&mut self) {
        self.arch.normalize_features = true;
    }

    /// The model's logits `(B, C)` from features `(B, D)` (before the softmax): the
    /// selected head's, or the logarithm of the consensus probabilities.
    pub fn selected_logits(&self, features: &Tensor) -> Result<Tensor, ModelError> {
        match &self.arch.consensus {
            Some(perms) => {
                let p = consensus::probabilities(&self.heads, perms, features)?;
                Ok(p.clamp(1e-30f32, 1f32)?.log()?)
            }
            None => self.heads[self.arch.selected_head].forward(features),
        }
    }

    /// Predicts by the consensus of every head from now on, head `h`'s cluster
    /// `perms[h][c]` counted as cluster `c`.
    pub fn set_consensus(&mut self, perms: Vec<Vec<usize>>) -> Result<(), ModelError> {
        consensus::check(&perms, self.arch.heads, self.arch.clusters)?;
        self.arch.consensus = Some(perms);
        Ok(())
    }

    /// The predicting heads' trainable parameters (the selected head's, or every head's
    /// for a consensus), and the encoder's (with the projection head, if any) when
    /// `with_encoder`: what self-labelling optimises, the other heads staying as they are.
    pub fn selected_trainables(&self, with_encoder: bool) -> Vec<(String, Var)> {
        let head = match self.arch.consensus {
            Some(_) => HEADS_PREFIX.to_string(),
            None => format!("{HEADS_PREFIX}{}.", self.arch.selected_head),
        };
        let below = |name: &str| name.starts_with(ENCODER_PREFIX) || name.starts_with(HEAD_PREFIX);
        let keep = |name: &str| name.starts_with(&head) || (with_encoder && below(name));
        let all = self.params.trainables().iter();
        all.filter(|(n, _)| keep(n)).cloned().collect()
    }

    /// The architecture (with the selected head).
    pub fn architecture(&self) -> &ClusterArchitecture {
        &self.arch
    }

    /// Records which head predictions come from.
    pub fn select_head(&mut self, head: usize) -> Result<(), ModelError> {
        if head >= self.arch.heads {
            return Err(config(
                "selected_head",
                format!("{head} ≥ {} heads", self.arch.heads),
            ));
        }
        self.arch.selected_head = head;
        Ok(())
    }

    /// Every parameter and buffer.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// The heads' trainable parameters alone (what a frozen-encoder run optimises).
    pub fn head_trainables(&self) -> Vec<(String, Var)> {
        let heads = self.params.trainables().iter();
        heads
            .filter(|(n, _)| n.starts_with(HEADS_PREFIX))
            .cloned()
            .collect()
    }

    /// Loads the encoder from a contrastive model's weights (its head is ignored).
    pub fn load_encoder(&self, path: &Path) -> Result<(), ModelError> {
        self.params.load_prefix(path, ENCODER_PREFIX)
    }

    /// Saves the whole model.
    pub fn save(&self, path: &Path) -> Result<(), ModelError> {
        self.params.save(path)
    }

    /// Rebuilds the model an artifact of a `Scan` or `SelfLabel` node describes and loads its weights.
    pub fn from_artifact(artifact: &ModelArtifact, device: &Device) -> Result<Self, ModelError> {
        let arch: ClusterArchitecture = serde_json::from_value(artifact.architecture.clone())
            .map_err(|e| {
                let message = format!(
                    "of the {} model {} is not a cluster model's: {e}",
                    artifact.producer,
                    artifact.weights.display()
                );
                config("architecture", message)
            })?;
        let model = ClusterModel::new(arch, 0, device)?;
        model.params.load(&artifact.weights)?;
        Ok(model)
    }

    /// A fresh model for images of `input_size` with new heads of `spec`, whose encoder comes from
    /// `artifact`: a `SimClr` model or a cluster model (its heads are ignored; it must have
    /// been trained at the same size). With `on_projection` the model keeps the
    /// artifact's projection head too and the heads read its output; otherwise it is
    /// ignored.
    pub fn from_pretext(
        artifact: &ModelArtifact,
        spec: HeadSpec,
        input_size: (usize, usize),
        on_projection: bool,
        seed: u64,
        device: &Device,
    ) -> Result<Self, ModelError> {
        let field = |name: &str| artifact.architecture.get(name).cloned();
        let projection = match on_projection {
            true => Some(projection_of(artifact)?),
            false => None,
        };
        let encoder = field("encoder")
            .and_then(|v| serde_json::from_value(v).ok())
            .ok_or_else(|| {
                let message = format!(
                    "of the {} model {} names no encoder",
                    artifact.producer,
                    artifact.weights.display()
                );
                config("architecture", message)
            })?;
        if let Some(trained) =
            field("input_size").and_then(|v| serde_json::from_value::<(usize, usize)>(v).ok())
        {
            if trained != input_size {
                return Err(ModelError::Input {
                    expected: format!(
                        "images of {}×{}, the size the {} model {} was trained at",
                        trained.0,
                        trained.1,
                        artifact.producer,
                        artifact.weights.display()
                    ),
                    found: format!("{}×{} views", input_size.0, input_size.1),
                });
            }
        }
        let arch = ClusterArchitecture {
            encoder,
            clusters: spec.clusters,
            heads: spec.heads,
            selected_head: 0,
            input_size,
            normalize_features: false,
            projection,
            hidden: spec.hidden,
            cropped_from: None,
            consensus: None,
        };
        let model = ClusterModel::new(arch, seed, device)?;
        model.load_encoder(&artifact.weights)?;
        if model.projection.is_some() {
            model.params.load_prefix(&artifact.weights, HEAD_PREFIX)?;
        }
        Ok(model)
    }

    /// Refuses images of another size than the model was trained at.
    fn check_size(&self, x: &Tensor) -> Result<(), ModelError> {
        let (h, w) = self.arch.input_size;
        match x.dims() {
            &[_, xh, xw, _] if (xh, xw) == (h, w) => Ok(()),
            dims => Err(ModelError::Input {
                expected: format!("images of {h}×{w} (height × width), the size this cluster model was trained at"),
                found: format!("{dims:?}"),
            }),
        }
    }
}

/// Row-wise softmax, shifted by the detached row maximum.
pub fn softmax_rows(logits: &Tensor) -> candle_core::Result<Tensor> {
    let max = logits.max_keepdim(D::Minus1)?.detach();
    let exp = logits.broadcast_sub(&max)?.exp()?;
    exp.broadcast_div(&exp.sum_keepdim(D::Minus1)?)
}

fn check_arch(arch: &ClusterArchitecture) -> Result<(), ModelError> {
    if arch.clusters < 2 {
        return Err(config(
            "clusters",
            format!("must be at least 2, found {}", arch.clusters),
        ));
    }
    if arch.heads == 0 || arch.selected_head >= arch.heads {
        let message = format!(
            "{} heads with head {} selected",
            arch.heads, arch.selected_head
        );
        return Err(config("heads", message));
    }
    let (h, w) = arch.input_size;
    if h == 0 || w == 0 {
        return Err(config("input_size", "must be positive".into()));
    }
    match &arch.consensus {
        Some(perms) => consensus::check(perms, arch.heads, arch.clusters),
        None => Ok(()),
    }
}

/// The projection head `artifact` (a `SimClr` model, or a cluster model that kept one)
/// names.
fn projection_of(artifact: &ModelArtifact) -> Result<HeadKind, ModelError> {
    let arch = &artifact.architecture;
    let kind = arch.get("head").or_else(|| arch.get("projection"));
    kind.and_then(|v| serde_json::from_value(v.clone()).ok())
        .ok_or_else(|| {
            let message = format!(
                "of the {} model {} names no projection head to cluster on",
                artifact.producer,
                artifact.weights.display()
            );
            config("architecture", message)
        })
}

fn config(field: &'static str, message: String) -> ModelError {
    ModelError::Config { field, message }
}
