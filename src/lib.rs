//! scanflow: learning to classify images without labels (SCAN), as an embedded dataflow
//! stream processor. A RON graph file wires operators; the runtime runs each on its own
//! thread, connected by bounded channels.
//!
//! ```text
//! RON file ──spec──> GraphSpec ──graph──> Graph (typed DAG) ──runtime──> threads + channels
//! ```
//!
//! Embedding: load a graph with [`Graph::from_file`] (or build one with [`GraphBuilder`]),
//! run it with [`run`], read [`RunReport`]; add operators by implementing [`Operator`] and
//! registering them in a [`Registry`].

pub mod augment;
pub mod data;
pub mod diagnostic;
pub mod fsutil;
pub mod graph;
pub mod hash;
pub mod knn;
pub mod linalg;
pub mod model;
pub mod ops;
pub mod payload;
pub mod report;
pub mod rng;
pub mod runtime;
pub mod spec;

pub mod metrics;

pub mod fault;

pub use diagnostic::{Diagnostic, Diagnostics};
pub use graph::{Graph, GraphBuilder};
pub use ops::{Operator, Registry};
pub use payload::{Payload, PortType};
pub use runtime::{run, Context, OpError, RunFailure, RunOptions, RunReport};

pub mod cluster;
