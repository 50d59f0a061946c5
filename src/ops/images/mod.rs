//! `Images`: the source operator. Opens a data set ([`ImageSource`]), packs it once into a
//! memory-mapped store shared by every graph under the same runs folder (so re-runs never
//! decode again and random access is free), and streams it as [`ImageBatch`]es — for one or
//! more epochs, sorted or in a fresh seeded permutation per epoch. Every batch carries the
//! data set's image and class names ([`DatasetNames`], listed once, shared by `Arc`).

mod source;

use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use source::ImageSource;

use super::{BuildContext, InputPort, Operator, ParamDoc, ParamError};
use crate::data::{
    fingerprint_path, first_per_class, labels_of, read_batch, DataError, Dataset, DatasetNames,
    ImageBatch, PackedStore, SkipUnreadable, StoreHandle,
};
use crate::fsutil::write_atomic;
use crate::hash::StableHasher;
use crate::payload::{Payload, PortType};
use crate::rng::SplitMix64;
use crate::runtime::{Context, OpError};

/// The order images are emitted in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Order {
    /// By dataset index (ImageFolder: class, then file name).
    #[default]
    Sorted,
    /// A permutation drawn from the node's seed and the epoch.
    Shuffled,
}

/// What to do with an image that cannot be read or decoded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum OnError {
    /// Stop the run with an error naming the file.
    #[default]
    Fail,
    /// Leave the image out, and list it (with why) in the node's `skipped.txt`.
    Skip,
}

/// Parameters of [`Images`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImagesParams {
    /// Where the images come from.
    pub source: ImageSource,
    /// Images per batch.
    #[serde(default = "default_batch")]
    pub batch: usize,
    /// Size `(width, height)` every image is resized to; default: the data set's own size
    /// (the first image's, for image folders).
    #[serde(default)]
    pub size: Option<(u32, u32)>,
    /// Keep only the first this-many images of each class (a deterministic subset).
    #[serde(default)]
    pub per_class: Option<usize>,
    /// Emission order.
    #[serde(default)]
    pub order: Order,
    /// Passes over the data.
    #[serde(default = "one")]
    pub epochs: u64,
    /// Pack the decoded images into a memory-mapped store (reused across runs and graphs).
    #[serde(default = "yes")]
    pub store: bool,
    /// What to do with an unreadable image.
    #[serde(default)]
    pub on_error: OnError,
}

fn default_batch() -> usize {
    256
}

fn one() -> u64 {
    1
}

fn yes() -> bool {
    true
}

impl Default for ImagesParams {
    fn default() -> Self {
        ImagesParams {
            source: ImageSource::default(),
            batch: default_batch(),
            size: None,
            per_class: None,
            order: Order::default(),
            epochs: 1,
            store: true,
            on_error: OnError::Fail,
        }
    }
}

/// The `Images` source operator.
pub struct Images {
    path: PathBuf,
    params: ImagesParams,
}

impl Operator for Images {
    type Params = ImagesParams;
    const NAME: &'static str = "Images";
    const SUMMARY: &'static str = "Reads a data set (image folder or archive, CIFAR-10/100, STL-10) and streams it as batches of RGB images with their labels, for one or more epochs.";
    const PARAMS: &'static [ParamDoc] = &[
        ParamDoc { name: "source", ty: "Folder(path, split) | Cifar10(path, split, download) | Cifar100(path, split, labels, download) | Stl10(path, split, download)", doc: "the data set" },
        ParamDoc { name: "batch", ty: "usize", doc: "images per batch" },
        ParamDoc { name: "size", ty: "Option<(u32, u32)>", doc: "resize every image to (width, height); default: the data set's size" },
        ParamDoc { name: "per_class", ty: "Option<usize>", doc: "keep only the first N images of each class" },
        ParamDoc { name: "order", ty: "Sorted | Shuffled", doc: "emission order; Shuffled draws a permutation per epoch from the node's seed" },
        ParamDoc { name: "epochs", ty: "u64", doc: "passes over the data" },
        ParamDoc { name: "store", ty: "bool", doc: "decode once into a memory-mapped store under <runs>/.shared/stores/" },
        ParamDoc { name: "on_error", ty: "Fail | Skip", doc: "an unreadable image stops the run, or is left out and listed in skipped.txt" },
    ];
    const INPUTS: &'static [InputPort] = &[];
    const OUTPUT: Option<PortType> = Some(PortType::Images);

    fn build(params: ImagesParams, ctx: &BuildContext) -> Result<Self, Vec<ParamError>> {
        let mut errors = Vec::new();
        for (field, value) in [("batch", params.batch as u64), ("epochs", params.epochs)] {
            if value == 0 {
                errors.push(ParamError::new(field, "must be at least 1"));
            }
        }
        if params.per_class == Some(0) {
            errors.push(ParamError::new("per_class", "must be at least 1"));
        }
        if params.size.is_some_and(|(w, h)| w == 0 || h == 0) {
            errors.push(ParamError::new(
                "size",
                "width and height must be at least 1",
            ));
        }
        let written = params.source.path();
        let path = ctx.resolve(written);
        if !path.exists() && !params.source.downloads() {
            let message = format!("`{written}` does not exist{}", relative_note(written));
            errors.push(ParamError::new("source", message));
        }
        if errors.is_empty() {
            Ok(Images { path, params })
        } else {
            Err(errors)
        }
    }

    fn cache_salt(&self) -> String {
        fingerprint_path(&self.path).unwrap_or_else(|e| format!("unreadable: {e}"))
    }

    fn run(self, ctx: &mut Context) -> Result<(), OpError> {
        let status = |line: String| ctx.set_status(line);
        let dataset = self.params.source.open(&self.path, &status)?;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(ctx.workers())
            .build()
            .map_err(|e| OpError::Failed(format!("cannot start the decode pool: {e}")))?;
        let (width, height) = self.size_of(dataset.as_ref())?;
        let tolerant = SkipUnreadable::new(dataset.as_ref(), (width, height), &pool);
        let source: &dyn Dataset = match self.params.on_error {
            OnError::Fail => dataset.as_ref(),
            OnError::Skip => &tolerant,
        };
        let store = match self.params.store {
            true => Some(Arc::new(self.pack(source, (width, height), &pool, ctx)?)),
            false => None,
        };
        if let Some(skipped) = tolerant.skipped() {
            report_skipped(dataset.as_ref(), skipped, ctx)?;
        }
        let reader: &dyn Dataset = match &store {
            Some(store) => store.as_ref(),
            None => source,
        };
        let selected = self.select(reader)?;
        let names = Some(Arc::new(DatasetNames::of(source)));
        ctx.set_total(selected.len() as u64 * self.params.epochs);
        for epoch in 0..self.params.epochs {
            let order = self.order(&selected, ctx.seed(), epoch);
            for chunk in order.chunks(self.params.batch) {
                let batch = match &store {
                    Some(store) => gather(store, chunk)?,
                    None => read_batch(reader, chunk, width, height, &pool)?,
                };
                ctx.send(Payload::Images(Arc::new(ImageBatch {
                    epoch,
                    epoch_size: selected.len() as u64,
                    names: names.clone(),
                    ..batch
                })))?;
            }
        }
        Ok(())
    }
}

impl Images {
    fn size_of(&self, dataset: &dyn Dataset) -> Result<(u32, u32), OpError> {
        if dataset.is_empty() {
            return Err(OpError::Failed(format!(
                "`{}` holds no image",
                self.path.display()
            )));
        }
        if let Some(size) = self.params.size.or(dataset.native_size()) {
            return Ok(size);
        }
        let tries = match self.params.on_error {
            OnError::Fail => 1,
            OnError::Skip => dataset.len().min(100),
        };
        let mut first = Err(OpError::Failed("no image".into()));
        for i in 0..tries {
            match dataset.image_size(i) {
                Ok(size) => return Ok(size),
                Err(e) if i == 0 => first = Err(e.into()),
                Err(_) => {}
            }
        }
        first
    }

    /// Opens (or builds) the packed store of this source at this size.
    fn pack(
        &self,
        dataset: &dyn Dataset,
        (w, h): (u32, u32),
        pool: &rayon::ThreadPool,
        ctx: &Context,
    ) -> Result<PackedStore, OpError> {
        let source = ron::to_string(&self.params.source).unwrap_or_default();
        let key = StableHasher::default()
            .write_str(&source)
            .write(&w.to_le_bytes())
            .write(&h.to_le_bytes())
            .hex();
        let path = ctx
            .shared_dir()
            .join("stores")
            .join(format!("{key}-{w}x{h}.sfpack"));
        std::fs::create_dir_all(path.parent().unwrap_or(&path))
            .map_err(|e| OpError::io(&path, e))?;
        let total = dataset.len();
        let progress = |done: usize| {
            ctx.set_status(format!("packing {done}/{total} images"));
            ctx.check_cancelled().is_ok()
        };
        let store = PackedStore::open_or_build(dataset, w, h, &path, pool, &progress).map_err(
            |e| match e {
                DataError::PackingStopped { .. } => OpError::Cancelled,
                e => e.into(),
            },
        )?;
        ctx.set_status(String::new());
        Ok(store)
    }

    fn select(&self, dataset: &dyn Dataset) -> Result<Vec<usize>, OpError> {
        match self.params.per_class {
            None => Ok((0..dataset.len()).collect()),
            Some(k) => first_per_class(dataset, k).ok_or_else(|| {
                OpError::Failed(
                    "`per_class` needs labels, and this data set has images without one".into(),
                )
            }),
        }
    }

    fn order(&self, selected: &[usize], seed: u64, epoch: u64) -> Vec<usize> {
        let mut order = selected.to_vec();
        if self.params.order == Order::Shuffled {
            let epoch_seed = StableHasher::default()
                .write(&seed.to_le_bytes())
                .write(&epoch.to_le_bytes())
                .finish();
            SplitMix64::new(epoch_seed).shuffle(&mut order);
        }
        order
    }
}

/// Lists the images left out in the node's `skipped.txt` and says how many in its status.
fn report_skipped(
    dataset: &dyn Dataset,
    skipped: &[(usize, DataError)],
    ctx: &Context,
) -> Result<(), OpError> {
    let path = ctx.run_dir().join("skipped.txt");
    let line = |(i, e): &(usize, DataError)| {
        let why = e
            .to_string()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        format!("{}\t{why}\n", dataset.name(*i))
    };
    let lines: String = skipped.iter().map(line).collect();
    write_atomic(&path, lines.as_bytes()).map_err(|e| OpError::io(&path, e))?;
    if !skipped.is_empty() {
        ctx.set_status(format!(
            "skipped {} unreadable images (listed in {})",
            skipped.len(),
            path.display()
        ));
    }
    Ok(())
}

/// A batch copied straight out of the memory-mapped store, carrying a handle to it.
fn gather(store: &Arc<PackedStore>, indices: &[usize]) -> Result<ImageBatch, OpError> {
    let mut pixels = vec![0u8; indices.len() * (store.width() * store.height() * 3) as usize];
    store.gather(indices, &mut pixels)?;
    Ok(ImageBatch {
        height: store.height(),
        width: store.width(),
        channels: 3,
        pixels,
        indices: indices.iter().map(|&i| i as u64).collect(),
        labels: labels_of(store.as_ref(), indices),
        classes: Arc::from(store.classes()),
        epoch: 0,
        epoch_size: 0,
        store: Some(StoreHandle(Arc::clone(store))),
        names: None,
    })
}

/// A reminder of where relative paths start, for messages about missing files.
fn relative_note(written: &str) -> &'static str {
    if std::path::Path::new(written).is_absolute() {
        ""
    } else {
        " (relative paths start from the current directory)"
    }
}
