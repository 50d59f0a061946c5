//! The operator registry: the one list the parser, the validator and `scanflow ops` share.
//! Operators are stored type-erased behind [`ErasedOperator`]; a built node behind [`Runnable`].

use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::sync::Arc;

use super::{BuildContext, InputPort, Operator, ParamDoc, ParamError};
use crate::payload::PortType;
use crate::runtime::{Context, OpError};

/// A built node, ready to run once.
pub trait Runnable: Send {
    /// See [`Operator::cache_salt`].
    fn cache_salt(&self) -> String;
    /// Runs the node to completion.
    fn run(self: Box<Self>, ctx: &mut Context) -> Result<(), OpError>;
}

impl<O: Operator> Runnable for O {
    fn cache_salt(&self) -> String {
        Operator::cache_salt(self)
    }

    fn run(self: Box<Self>, ctx: &mut Context) -> Result<(), OpError> {
        Operator::run(*self, ctx)
    }
}

/// A node whose parameters parsed and whose operator accepted them.
pub struct Configured {
    /// The parameters re-serialised in canonical form (all fields, defaults filled in):
    /// what the cache key hashes, so formatting and comments do not matter.
    pub canonical: String,
    /// The built node.
    pub node: Box<dyn Runnable>,
}

/// Why a node could not be configured.
pub enum ConfigureError {
    /// The parameter text did not deserialise (position relative to the text given).
    Parse(ron::error::SpannedError),
    /// The operator refused some parameters.
    Invalid(Vec<ParamError>),
}

/// An operator kind with its type erased, as stored in the [`Registry`].
pub trait ErasedOperator: Send + Sync {
    /// See [`Operator::NAME`].
    fn name(&self) -> &'static str;
    /// See [`Operator::SUMMARY`].
    fn summary(&self) -> &'static str;
    /// See [`Operator::PARAMS`].
    fn params(&self) -> &'static [ParamDoc];
    /// See [`Operator::INPUTS`].
    fn inputs(&self) -> &'static [InputPort];
    /// See [`Operator::OUTPUT`].
    fn output(&self) -> Option<PortType>;
    /// The default parameters serialised as RON, e.g. `(batch:256,order:Sorted)`.
    fn default_params(&self) -> String;
    /// Only parses `params` (a RON struct body), building nothing.
    fn parse(&self, params: &str, options: &ron::Options) -> Result<(), ron::error::SpannedError>;
    /// Parses `params` (a RON struct body `( … )`) and builds the node.
    fn configure(
        &self,
        params: &str,
        options: &ron::Options,
        ctx: &BuildContext,
    ) -> Result<Configured, ConfigureError>;
}

struct Erased<O>(PhantomData<fn() -> O>);

impl<O: Operator> ErasedOperator for Erased<O> {
    fn name(&self) -> &'static str {
        O::NAME
    }
    fn summary(&self) -> &'static str {
        O::SUMMARY
    }
    fn params(&self) -> &'static [ParamDoc] {
        O::PARAMS
    }
    fn inputs(&self) -> &'static [InputPort] {
        O::INPUTS
    }
    fn output(&self) -> Option<PortType> {
        O::OUTPUT
    }
    fn default_params(&self) -> String {
        ron::to_string(&O::Params::default()).unwrap_or_else(|e| format!("<{e}>"))
    }
    fn parse(&self, params: &str, options: &ron::Options) -> Result<(), ron::error::SpannedError> {
        options.from_str::<O::Params>(params).map(drop)
    }
    fn configure(
        &self,
        params: &str,
        options: &ron::Options,
        ctx: &BuildContext,
    ) -> Result<Configured, ConfigureError> {
        let parsed: O::Params = options.from_str(params).map_err(ConfigureError::Parse)?;
        let canonical = ron::to_string(&parsed).map_err(|e| {
            ConfigureError::Invalid(vec![ParamError::new(
                "",
                format!("cannot re-serialise: {e}"),
            )])
        })?;
        let node = O::build(parsed, ctx).map_err(ConfigureError::Invalid)?;
        Ok(Configured {
            canonical,
            node: Box::new(node),
        })
    }
}

/// Every operator a graph may name, by name.
#[derive(Clone, Default)]
pub struct Registry {
    operators: BTreeMap<&'static str, Arc<dyn ErasedOperator>>,
}

impl Registry {
    /// An empty registry.
    pub fn empty() -> Self {
        Registry::default()
    }

    /// A registry holding every built-in operator.
    pub fn builtin() -> Self {
        let mut registry = Registry::empty();
        registry.register::<super::Images>();
        registry.register::<super::ImageGrid>();
        registry.register::<super::ChannelStats>();
        registry.register::<super::Augment>();
        registry.register::<super::ViewGrid>();
        registry.register::<super::ViewStats>();
        registry.register::<super::Features>();
        registry.register::<super::Knn>();
        registry.register::<super::SimClr>();
        registry.register::<super::Encode>();
        registry.register::<super::Evaluate>();
        registry.register::<super::Scan>();
        registry.register::<super::SelfLabel>();
        registry.register::<super::KMeans>();
        registry.register::<super::ScanFeatures>();
        registry
    }

    /// Adds (or replaces) operator `O` under [`Operator::NAME`].
    pub fn register<O: Operator>(&mut self) -> &mut Self {
        self.operators
            .insert(O::NAME, Arc::new(Erased::<O>(PhantomData)));
        self
    }

    /// The operator called `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn ErasedOperator>> {
        self.operators.get(name)
    }

    /// All operators, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn ErasedOperator>> {
        self.operators.values()
    }

    /// All operator names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.operators.keys().copied()
    }
}
