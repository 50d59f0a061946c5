//! Operators: the one [`Operator`] trait every graph node implements, its self-description
//! (parameters, typed input ports, output type) and the built-in operators.
//!
//! An operator is described by constants and built from its parsed parameters before anything
//! runs (`build` may refuse bad parameters); the built value is then consumed by `run` on the
//! node's own thread. The same description drives the RON parser, the validator,
//! `scanflow ops` and `scanflow graph`, so documentation cannot drift from behaviour.

mod augment;
mod channel_stats;
mod image_grid;
mod images;
mod registry;
mod view_grid;
mod view_stats;

mod features;
mod knn;
pub mod provenance;

mod encode;
mod simclr;

pub mod training;

mod scan;

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::payload::PortType;
use crate::runtime::{Context, OpError};

pub use augment::neighbours::Pick;
pub use augment::{Augment, AugmentParams};
pub use channel_stats::{ChannelStats, ChannelStatsParams};
pub use image_grid::{ImageGrid, ImageGridParams};
pub use images::{ImageSource, Images, ImagesParams, Order};
pub use registry::{ConfigureError, Configured, ErasedOperator, Registry, Runnable};
pub use view_grid::{ViewGrid, ViewGridParams};
pub use view_stats::ViewStats;

pub use features::{FeatureSource, Features, FeaturesParams};
pub use knn::{IndexKind, Knn, KnnParams, AUTO_EXACT_MAX};

pub use encode::{mean_of_views, Encode, EncodeOutput, EncodeParams};
pub use simclr::{SimClr, SimClrParams};

mod evaluate;
pub use evaluate::{Evaluate, EvaluateError, EvaluateParams, RowProblem};
pub use scan::{Scan, ScanParams};

mod self_label;
pub use self_label::{SelfLabel, SelfLabelParams};

mod feature_stream;
mod kmeans;
pub use kmeans::{KMeans, KMeansParams};
mod scan_features;
pub use scan_features::{
    Points as ScanFeaturesPoints, ScanFeatures, ScanFeaturesParams, Trainer as ScanFeaturesTrainer,
};

/// Documentation of one parameter, listed by `scanflow ops`. Defaults come from the
/// parameter struct's `Default`, so they are never restated by hand.
#[derive(Clone, Copy, Debug)]
pub struct ParamDoc {
    /// Field name as written in RON.
    pub name: &'static str,
    /// The value's shape, e.g. `usize`, `Folder(path, split)`.
    pub ty: &'static str,
    /// One sentence on what it does.
    pub doc: &'static str,
}

/// An input port: a parameter whose value names the node feeding it.
#[derive(Clone, Copy, Debug)]
pub struct InputPort {
    /// Field name as written in RON, e.g. `input` in `Augment(input: "train")`.
    pub field: &'static str,
    /// The payload type the port accepts.
    pub payload: PortType,
    /// Whether the graph must connect it.
    pub required: bool,
    /// One sentence on what it receives.
    pub doc: &'static str,
}

/// A problem with one parameter, found while building an operator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParamError {
    /// The parameter's field name (top level, so the error can point at it).
    pub field: String,
    /// What is wrong, as a lower-case sentence.
    pub message: String,
}

impl ParamError {
    /// A problem with `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        ParamError {
            field: field.into(),
            message: message.into(),
        }
    }

    /// What a validation found: `Ok` when `errors` is empty, otherwise every one of them.
    pub fn result(errors: Vec<ParamError>) -> Result<(), Vec<ParamError>> {
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// What an operator may consult while it is being built (before anything runs).
#[derive(Clone, Debug)]
pub struct BuildContext {
    /// The node's id in the graph.
    pub node_id: String,
    /// Folder against which relative paths in parameters are resolved.
    pub base_dir: PathBuf,
}

impl BuildContext {
    /// Resolves a path written in a graph file.
    pub fn resolve(&self, path: &str) -> PathBuf {
        let path = Path::new(path);
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.base_dir.join(path)
        }
    }
}

/// A graph operator. Implement it (in this crate or your own) and register it with
/// [`Registry::register`]; RON graphs can then name it like a built-in one.
pub trait Operator: Send + Sized + 'static {
    /// The parameters as written in RON (without input fields and the engine's
    /// `capacity`/`workers`); use `#[serde(deny_unknown_fields)]`.
    type Params: Serialize + DeserializeOwned + Default;
    /// The name graphs use, e.g. `Images`.
    const NAME: &'static str;
    /// One paragraph on what the operator does.
    const SUMMARY: &'static str;
    /// Every field of `Params`, documented.
    const PARAMS: &'static [ParamDoc];
    /// Input ports, each a parameter naming its producer.
    const INPUTS: &'static [InputPort];
    /// The output payload type, or `None` for a sink.
    const OUTPUT: Option<PortType>;

    /// Validates parameters and freezes the configuration. Must be cheap: `scanflow check`
    /// calls it. Report every bad parameter at once.
    fn build(params: Self::Params, ctx: &BuildContext) -> Result<Self, Vec<ParamError>>;

    /// Extra material for the node's cache key beyond its parameters and inputs,
    /// e.g. a fingerprint of the files it reads.
    fn cache_salt(&self) -> String {
        String::new()
    }

    /// Runs the node to completion on its own thread.
    fn run(self, ctx: &mut Context) -> Result<(), OpError>;
}

/// The optional parameters of `op` with their default values as RON text, in declaration
/// order; a parameter absent from the list is required.
pub fn default_fields(op: &dyn ErasedOperator) -> Vec<(String, String)> {
    let fields = crate::spec::struct_fields(&op.default_params()).unwrap_or_default();
    let options = crate::spec::ron_options();
    let without = |skip: &str| {
        let kept: Vec<String> = fields
            .iter()
            .filter(|(name, _)| name != skip)
            .map(|(name, value)| format!("{name}: {value}"))
            .collect();
        format!("({})", kept.join(", "))
    };
    fields
        .iter()
        .filter(|(name, _)| op.parse(&without(name), &options).is_ok())
        .cloned()
        .collect()
}
