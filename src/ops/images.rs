//! `Images`: the source operator. Reads a data set and streams it as [`ImageBatch`]es,
//! decoding each batch on a worker pool. Sources are variants of [`ImageSource`], so new
//! formats extend this operator instead of forking it.

use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{BuildContext, InputPort, Operator, ParamDoc, ParamError};
use crate::data::{decode_batch, fingerprint_path, probe_size, ImageFolder};
use crate::payload::{Payload, PortType};
use crate::rng::SplitMix64;
use crate::runtime::{Context, OpError};

/// Where the images come from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ImageSource {
    /// An ImageFolder tree (one sub-folder per class, JPEG/PNG), as a directory or a
    /// `.tar`/`.tar.gz` archive; `split` selects the images under a folder of that name.
    Folder {
        /// The directory or archive.
        path: String,
        /// e.g. `"train"` for `cifar10/train/<class>/*.jpg`.
        #[serde(default)]
        split: Option<String>,
    },
}

/// The order images are emitted in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Order {
    /// Sorted by class, then file name.
    #[default]
    Sorted,
    /// A permutation drawn from the node's seed.
    Shuffled,
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
    /// Keep only the first this-many images of each class (a deterministic subset).
    #[serde(default)]
    pub per_class: Option<usize>,
    /// Emission order.
    #[serde(default)]
    pub order: Order,
}

/// A reminder of where relative paths start, for messages about missing files.
fn relative_note(written: &str) -> &'static str {
    if std::path::Path::new(written).is_absolute() {
        ""
    } else {
        " (relative paths start from the current directory)"
    }
}

fn default_batch() -> usize {
    256
}

impl Default for ImagesParams {
    fn default() -> Self {
        ImagesParams {
            source: ImageSource::Folder {
                path: "data/images".into(),
                split: None,
            },
            batch: default_batch(),
            per_class: None,
            order: Order::default(),
        }
    }
}

/// The `Images` source operator.
pub struct Images {
    path: PathBuf,
    split: Option<String>,
    params: ImagesParams,
}

impl Operator for Images {
    type Params = ImagesParams;
    const NAME: &'static str = "Images";
    const SUMMARY: &'static str = "Reads a data set and streams it as batches of decoded RGB images (with labels when the data set has them).";
    const PARAMS: &'static [ParamDoc] = &[
        ParamDoc {
            name: "source",
            ty: "Folder(path: String, split: Option<String>)",
            doc: "the data set: an ImageFolder directory or .tar/.tar.gz archive (required)",
        },
        ParamDoc {
            name: "batch",
            ty: "usize",
            doc: "images per batch",
        },
        ParamDoc {
            name: "per_class",
            ty: "Option<usize>",
            doc: "keep only the first N images of each class",
        },
        ParamDoc {
            name: "order",
            ty: "Sorted | Shuffled",
            doc: "emission order; Shuffled draws a permutation from the node's seed",
        },
    ];
    const INPUTS: &'static [InputPort] = &[];
    const OUTPUT: Option<PortType> = Some(PortType::Images);

    fn build(params: ImagesParams, ctx: &BuildContext) -> Result<Self, Vec<ParamError>> {
        let mut errors = Vec::new();
        if params.batch == 0 {
            errors.push(ParamError::new("batch", "must be at least 1"));
        }
        if params.per_class == Some(0) {
            errors.push(ParamError::new("per_class", "must be at least 1"));
        }
        let ImageSource::Folder {
            path: written,
            split,
        } = &params.source;
        let path = ctx.resolve(written);
        if !path.exists() {
            let message = format!("`{written}` does not exist{}", relative_note(written));
            errors.push(ParamError::new("source", message));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Images {
            path,
            split: split.clone(),
            params,
        })
    }

    fn cache_salt(&self) -> String {
        fingerprint_path(&self.path).unwrap_or_else(|e| format!("unreadable: {e}"))
    }

    fn run(self, ctx: &mut Context) -> Result<(), OpError> {
        let mut folder = ImageFolder::open(&self.path, self.split.as_deref())?;
        if let Some(per_class) = self.params.per_class {
            folder.select_per_class(per_class);
        }
        let mut order: Vec<usize> = (0..folder.len()).collect();
        if self.params.order == Order::Shuffled {
            SplitMix64::new(ctx.seed()).shuffle(&mut order);
        }
        ctx.set_total(order.len() as u64);
        let (width, height) = probe_size(&folder.read(order[0])?, &folder.name(order[0]))?;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(ctx.workers())
            .build()
            .map_err(|e| OpError::Failed(format!("cannot start the decode pool: {e}")))?;
        for chunk in order.chunks(self.params.batch) {
            let batch = decode_batch(&folder, chunk, width, height, &pool)?;
            ctx.send(Payload::Images(Arc::new(batch)))?;
        }
        Ok(())
    }
}
