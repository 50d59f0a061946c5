//! The benchmark's own operators, registered through the public embedding API: token and
//! image-batch sources, pass-throughs and sinks typed per payload kind, and sleeping stages.

use std::any::Any;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use scanflow::data::ImageBatch;
use scanflow::ops::{BuildContext, InputPort, ParamDoc, ParamError};
use scanflow::{Context, OpError, Operator, Payload, PortType};
use serde::{Deserialize, Serialize};

use super::{IMAGES_PER_BATCH, IMAGE_POOL, IMAGE_SIDE};

/// Parameters of the operators that take none.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NoParams {}

/// The payload kind a pass-through or counting operator is typed for.
pub(crate) trait Kind: 'static {
    const PORT: PortType;
    const PASS: &'static str;
    const SINK: &'static str;
}

/// Small `Custom("token")` messages.
pub(crate) struct Tokens;

impl Kind for Tokens {
    const PORT: PortType = PortType::Custom("token");
    const PASS: &'static str = "PassTokens";
    const SINK: &'static str = "CountTokens";
}

/// Image batches.
pub(crate) struct Images;

impl Kind for Images {
    const PORT: PortType = PortType::Images;
    const PASS: &'static str = "PassImages";
    const SINK: &'static str = "CountImages";
}

/// Forwards every payload untouched: the cheapest possible operator.
pub(crate) struct Pass<K>(PhantomData<fn() -> K>);

impl<K: Kind> Operator for Pass<K> {
    type Params = NoParams;
    const NAME: &'static str = K::PASS;
    const SUMMARY: &'static str = "Forwards every payload it receives, untouched.";
    const PARAMS: &'static [ParamDoc] = &[];
    const INPUTS: &'static [InputPort] = &[InputPort {
        field: "input",
        payload: K::PORT,
        required: true,
        doc: "the payloads to forward",
    }];
    const OUTPUT: Option<PortType> = Some(K::PORT);

    fn build(_: NoParams, _: &BuildContext) -> Result<Self, Vec<ParamError>> {
        Ok(Pass(PhantomData))
    }

    fn run(self, ctx: &mut Context) -> Result<(), OpError> {
        while let Some(p) = ctx.recv("input")? {
            ctx.send(p)?;
        }
        Ok(())
    }
}

/// Drops every payload; the runtime's report counts them.
pub(crate) struct Count<K>(PhantomData<fn() -> K>);

impl<K: Kind> Operator for Count<K> {
    type Params = NoParams;
    const NAME: &'static str = K::SINK;
    const SUMMARY: &'static str = "Receives and drops every payload (the report counts them).";
    const PARAMS: &'static [ParamDoc] = &[];
    const INPUTS: &'static [InputPort] = &[InputPort {
        field: "input",
        payload: K::PORT,
        required: true,
        doc: "the payloads to count",
    }];
    const OUTPUT: Option<PortType> = None;

    fn build(_: NoParams, _: &BuildContext) -> Result<Self, Vec<ParamError>> {
        Ok(Count(PhantomData))
    }

    fn run(self, ctx: &mut Context) -> Result<(), OpError> {
        while ctx.recv("input")?.is_some() {}
        Ok(())
    }
}

/// Parameters of [`TokenSource`].
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CountParams {
    count: u64,
}

pub(crate) const COUNT_DOC: &[ParamDoc] = &[ParamDoc {
    name: "count",
    ty: "u64",
    doc: "how many messages to send",
}];

/// Sends `count` tokens, all clones of one pre-allocated `Arc` (no allocation per message).
pub(crate) struct TokenSource {
    count: u64,
}

impl Operator for TokenSource {
    type Params = CountParams;
    const NAME: &'static str = "TokenSource";
    const SUMMARY: &'static str = "Sends `count` small token messages.";
    const PARAMS: &'static [ParamDoc] = COUNT_DOC;
    const INPUTS: &'static [InputPort] = &[];
    const OUTPUT: Option<PortType> = Some(Tokens::PORT);

    fn build(params: CountParams, _: &BuildContext) -> Result<Self, Vec<ParamError>> {
        Ok(TokenSource {
            count: params.count,
        })
    }

    fn run(self, ctx: &mut Context) -> Result<(), OpError> {
        let token: Arc<dyn Any + Send + Sync> = Arc::new(0u64);
        for _ in 0..self.count {
            ctx.send(Payload::Custom("token", token.clone()))?;
        }
        Ok(())
    }
}

/// The batches [`ImageBatchSource`] sends, round robin, and [`CheckImages`] compares against.
pub(crate) static IMAGE_POOL_BATCHES: OnceLock<Vec<Arc<ImageBatch>>> = OnceLock::new();
/// Batches [`CheckImages`] received that were not the expected allocation.
pub(crate) static MISMATCHES: AtomicU64 = AtomicU64::new(0);

pub(crate) fn image_pool() -> &'static [Arc<ImageBatch>] {
    IMAGE_POOL_BATCHES.get_or_init(|| {
        let classes: Arc<[String]> = Arc::from(Vec::new());
        let bytes = (IMAGE_SIDE * IMAGE_SIDE * 3) as usize * IMAGES_PER_BATCH;
        (0..IMAGE_POOL)
            .map(|b| {
                let pixels = (0..bytes).map(|i| (i + b) as u8).collect();
                let first = (b * IMAGES_PER_BATCH) as u64;
                let indices = (first..first + IMAGES_PER_BATCH as u64).collect();
                let batch = ImageBatch::new(
                    IMAGE_SIDE,
                    IMAGE_SIDE,
                    3,
                    pixels,
                    indices,
                    None,
                    classes.clone(),
                )
                .expect("consistent batch");
                Arc::new(batch)
            })
            .collect()
    })
}

/// Sends `count` image batches, cycling through the pre-built pool (an `Arc` clone each).
pub(crate) struct ImageBatchSource {
    count: u64,
}

impl Operator for ImageBatchSource {
    type Params = CountParams;
    const NAME: &'static str = "ImageBatchSource";
    const SUMMARY: &'static str = "Sends `count` image batches from a fixed pool.";
    const PARAMS: &'static [ParamDoc] = COUNT_DOC;
    const INPUTS: &'static [InputPort] = &[];
    const OUTPUT: Option<PortType> = Some(PortType::Images);

    fn build(params: CountParams, _: &BuildContext) -> Result<Self, Vec<ParamError>> {
        Ok(ImageBatchSource {
            count: params.count,
        })
    }

    fn run(self, ctx: &mut Context) -> Result<(), OpError> {
        let pool = image_pool();
        for i in 0..self.count {
            ctx.send(Payload::Images(pool[i as usize % pool.len()].clone()))?;
        }
        Ok(())
    }
}

/// Checks that the i-th batch received is the very allocation the source sent i-th.
pub(crate) struct CheckImages;

impl Operator for CheckImages {
    type Params = NoParams;
    const NAME: &'static str = "CheckImages";
    const SUMMARY: &'static str = "Checks each batch is the source's own allocation.";
    const PARAMS: &'static [ParamDoc] = &[];
    const INPUTS: &'static [InputPort] = &[InputPort {
        field: "input",
        payload: PortType::Images,
        required: true,
        doc: "the batches to check",
    }];
    const OUTPUT: Option<PortType> = None;

    fn build(_: NoParams, _: &BuildContext) -> Result<Self, Vec<ParamError>> {
        Ok(CheckImages)
    }

    fn run(self, ctx: &mut Context) -> Result<(), OpError> {
        let pool = image_pool();
        let mut mismatches = 0;
        let mut i = 0usize;
        while let Some(batch) = ctx.recv_images("input")? {
            let sent = &pool[i % pool.len()];
            if !Arc::ptr_eq(&batch, sent) || batch.pixels.as_ptr() != sent.pixels.as_ptr() {
                mismatches += 1;
            }
            i += 1;
        }
        MISMATCHES.fetch_add(mismatches, Ordering::Relaxed);
        Ok(())
    }
}

/// Parameters of [`SleepSource`].
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SleepSourceParams {
    count: u64,
    ms: u64,
}

/// Sends `count` items, sleeping `ms` before each.
pub(crate) struct SleepSource {
    count: u64,
    per_item: Duration,
}

impl Operator for SleepSource {
    type Params = SleepSourceParams;
    const NAME: &'static str = "SleepSource";
    const SUMMARY: &'static str = "Sends `count` items, taking `ms` milliseconds to make each.";
    const PARAMS: &'static [ParamDoc] = &[
        ParamDoc {
            name: "count",
            ty: "u64",
            doc: "how many items to send",
        },
        ParamDoc {
            name: "ms",
            ty: "u64",
            doc: "milliseconds of work per item",
        },
    ];
    const INPUTS: &'static [InputPort] = &[];
    const OUTPUT: Option<PortType> = Some(PortType::Custom("item"));

    fn build(params: SleepSourceParams, _: &BuildContext) -> Result<Self, Vec<ParamError>> {
        Ok(SleepSource {
            count: params.count,
            per_item: Duration::from_millis(params.ms),
        })
    }

    fn run(self, ctx: &mut Context) -> Result<(), OpError> {
        ctx.set_total(self.count);
        let item: Arc<dyn Any + Send + Sync> = Arc::new(());
        for _ in 0..self.count {
            ctx.sleep(self.per_item)?;
            ctx.send(Payload::Custom("item", item.clone()))?;
        }
        Ok(())
    }
}

/// Parameters of [`SleepStage`].
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SleepStageParams {
    ms: u64,
}

/// Forwards each item after sleeping `ms`; without a consumer it is the sink.
pub(crate) struct SleepStage {
    per_item: Duration,
}

impl Operator for SleepStage {
    type Params = SleepStageParams;
    const NAME: &'static str = "SleepStage";
    const SUMMARY: &'static str = "Takes `ms` milliseconds per item, then forwards it.";
    const PARAMS: &'static [ParamDoc] = &[ParamDoc {
        name: "ms",
        ty: "u64",
        doc: "milliseconds of work per item",
    }];
    const INPUTS: &'static [InputPort] = &[InputPort {
        field: "input",
        payload: PortType::Custom("item"),
        required: true,
        doc: "the items to work on",
    }];
    const OUTPUT: Option<PortType> = Some(PortType::Custom("item"));

    fn build(params: SleepStageParams, _: &BuildContext) -> Result<Self, Vec<ParamError>> {
        Ok(SleepStage {
            per_item: Duration::from_millis(params.ms),
        })
    }

    fn run(self, ctx: &mut Context) -> Result<(), OpError> {
        while let Some(item) = ctx.recv("input")? {
            if !self.per_item.is_zero() {
                ctx.sleep(self.per_item)?;
            }
            ctx.send(item)?;
        }
        Ok(())
    }
}

/// Drops every item.
pub(crate) struct ItemSink;

impl Operator for ItemSink {
    type Params = NoParams;
    const NAME: &'static str = "ItemSink";
    const SUMMARY: &'static str = "Receives and drops every item.";
    const PARAMS: &'static [ParamDoc] = &[];
    const INPUTS: &'static [InputPort] = &[InputPort {
        field: "input",
        payload: PortType::Custom("item"),
        required: true,
        doc: "the items to drop",
    }];
    const OUTPUT: Option<PortType> = None;

    fn build(_: NoParams, _: &BuildContext) -> Result<Self, Vec<ParamError>> {
        Ok(ItemSink)
    }

    fn run(self, ctx: &mut Context) -> Result<(), OpError> {
        while ctx.recv("input")?.is_some() {}
        Ok(())
    }
}
