//! What flows along an edge: the typed port vocabulary ([`PortType`]) and the shared,
//! cheaply cloned values ([`Payload`]) that operators send.
//!
//! Payloads hold their data behind `Arc`, so fan-out to several consumers clones a
//! pointer, never the pixels.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::data::{FeatureBatch, ImageBatch, NeighbourTable, ViewBatch};
use crate::model::ModelArtifact;

/// The payload type of a port. An edge is valid only when the producer's output type
/// equals the type the consumer's input port declares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PortType {
    /// Batches of decoded 8-bit images ([`ImageBatch`]).
    Images,
    /// Batches of augmented multi-view f32 tensors, ready for an encoder.
    Views,
    /// Batches of feature vectors.
    Features,
    /// A trained model, sent once when training ends.
    Model,
    /// A neighbour table (indices and similarities), sent once.
    Neighbours,
    /// Cluster assignments, sent once.
    Assignments,
    /// A JSON document of named figures, sent once.
    Metrics,
    /// A payload defined by an operator outside this crate; the name identifies it.
    Custom(&'static str),
}

impl PortType {
    /// Human-readable name used in error messages and `scanflow ops`.
    pub fn describe(self) -> String {
        match self {
            PortType::Images => "image batches".into(),
            PortType::Views => "view batches".into(),
            PortType::Features => "feature batches".into(),
            PortType::Model => "a trained model".into(),
            PortType::Neighbours => "a neighbour table".into(),
            PortType::Assignments => "cluster assignments".into(),
            PortType::Metrics => "metrics".into(),
            PortType::Custom(name) => format!("custom `{name}` payloads"),
        }
    }

    /// True for one-shot results (sent once when the producer finishes) as opposed to streams.
    pub fn is_artifact(self) -> bool {
        matches!(
            self,
            PortType::Model | PortType::Neighbours | PortType::Assignments | PortType::Metrics
        )
    }
}

impl fmt::Display for PortType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

/// A value travelling along an edge. Cloning is a reference-count increment.
#[derive(Clone)]
pub enum Payload {
    /// A batch of decoded images.
    Images(Arc<ImageBatch>),
    /// Augmented views of a batch of images.
    Views(Arc<ViewBatch>),
    /// A batch of feature vectors.
    Features(Arc<FeatureBatch>),
    /// A neighbour table.
    Neighbours(Arc<NeighbourTable>),
    /// A trained model (its weights file and architecture).
    Model(Arc<ModelArtifact>),
    /// A JSON document of named figures.
    Metrics(Arc<serde_json::Value>),
    /// A payload of an operator defined outside this crate.
    Custom(&'static str, Arc<dyn Any + Send + Sync>),
}

impl Payload {
    /// The port type this payload belongs to.
    pub fn port_type(&self) -> PortType {
        match self {
            Payload::Images(_) => PortType::Images,
            Payload::Views(_) => PortType::Views,
            Payload::Features(_) => PortType::Features,
            Payload::Neighbours(_) => PortType::Neighbours,
            Payload::Model(_) => PortType::Model,
            Payload::Metrics(_) => PortType::Metrics,
            Payload::Custom(name, _) => PortType::Custom(name),
        }
    }

    /// How many items (images, vectors…) the payload carries; counted in run metrics.
    pub fn items(&self) -> u64 {
        match self {
            Payload::Images(batch) => batch.len() as u64,
            Payload::Views(batch) => batch.batch as u64,
            Payload::Features(batch) => batch.len() as u64,
            Payload::Neighbours(table) => table.points() as u64,
            Payload::Metrics(_) | Payload::Model(_) | Payload::Custom(..) => 1,
        }
    }

    /// Approximate size of the data behind the payload, in bytes (0 when unknown); decides
    /// how many payloads may wait together in a channel chunk.
    pub fn bytes(&self) -> usize {
        match self {
            Payload::Images(batch) => batch.pixels.len(),
            Payload::Views(batch) => batch.data.len() * 4,
            Payload::Features(batch) => batch.data.len() * 4,
            Payload::Neighbours(table) => table.indices.len() * 8,
            Payload::Metrics(_) | Payload::Model(_) => 1024,
            Payload::Custom(..) => 0,
        }
    }

    /// The image batch inside, if this is one.
    pub fn as_images(&self) -> Option<&Arc<ImageBatch>> {
        match self {
            Payload::Images(batch) => Some(batch),
            _ => None,
        }
    }

    /// The view batch inside, if this is one.
    pub fn as_views(&self) -> Option<&Arc<ViewBatch>> {
        match self {
            Payload::Views(batch) => Some(batch),
            _ => None,
        }
    }

    /// The feature batch inside, if this is one.
    pub fn as_features(&self) -> Option<&Arc<FeatureBatch>> {
        match self {
            Payload::Features(batch) => Some(batch),
            _ => None,
        }
    }

    /// The neighbour table inside, if this is one.
    pub fn as_neighbours(&self) -> Option<&Arc<NeighbourTable>> {
        match self {
            Payload::Neighbours(table) => Some(table),
            _ => None,
        }
    }

    /// The model inside, if this is one.
    pub fn as_model(&self) -> Option<&Arc<ModelArtifact>> {
        match self {
            Payload::Model(model) => Some(model),
            _ => None,
        }
    }

    /// The metrics document inside, if this is one.
    pub fn as_metrics(&self) -> Option<&serde_json::Value> {
        match self {
            Payload::Metrics(doc) => Some(doc),
            _ => None,
        }
    }

    /// The custom value inside, downcast to `T`, if it is one of that type.
    pub fn downcast<T: Any + Send + Sync>(&self) -> Option<&T> {
        match self {
            Payload::Custom(_, value) => value.downcast_ref::<T>(),
            _ => None,
        }
    }
}

impl fmt::Debug for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Payload({}, {} items)", self.port_type(), self.items())
    }
}
