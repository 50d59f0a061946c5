//! The images `predict` reads: an ImageFolder tree or archive (class sub-folders, whose
//! names are ignored), or a flat folder of JPEG/PNG files; each batch decoded, resized to
//! the model's input size and turned into its (B, H, W, 3) input by the `Eval` recipe (or
//! into the (V·B, H, W, 3) views of an `EvalViews` recipe).

use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use scanflow::augment::{augment_batch, Recipe};
use scanflow::data::{
    decode_rgb_resized, probe_size, read_batch, DataError, Dataset, EvalViewSet, ImageFolder,
    ViewBatch,
};
use scanflow::model::input::views_to_nhwc;

use super::{InputSizes, PredictError};

/// File extensions taken as images (compared case-insensitively), as for image folders.
const EXTENSIONS: [&str; 3] = ["jpg", "jpeg", "png"];

/// The images to classify.
pub struct NewImages {
    dataset: Box<dyn Dataset>,
}

impl NewImages {
    /// A folder holding images directly is read flat (sorted by name); anything else is
    /// opened as an ImageFolder tree or archive.
    pub fn open(path: &Path) -> Result<Self, PredictError> {
        let flat = FlatFolder::open(path)?;
        let dataset: Box<dyn Dataset> = match flat {
            Some(flat) => Box::new(flat),
            None => match ImageFolder::open(path, None) {
                Ok(folder) => Box::new(folder),
                Err(DataError::EmptyDataset { .. }) => {
                    return Err(PredictError::NoImages {
                        path: path.to_path_buf(),
                    })
                }
                Err(e) => return Err(e.into()),
            },
        };
        Ok(NewImages { dataset })
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.dataset.len()
    }

    /// How image `i` is named in the CSV: its file path, or `archive:entry`.
    pub fn name(&self, i: usize) -> String {
        self.dataset.name(i)
    }

    /// Images `indices` as model input: decoded, resized to `sizes.source`, centre-cropped
    /// to `sizes.view` and normalised (the `Eval` recipe), as a (B, H, W, 3) tensor on
    /// `device`; with `eval_views`, that recipe's V views of each, (V·B, H, W, 3) view-major.
    pub fn model_input(
        &self,
        indices: &[usize],
        sizes: InputSizes,
        eval_views: Option<EvalViewSet>,
        pool: &rayon::ThreadPool,
        device: &Device,
    ) -> Result<Tensor, PredictError> {
        let (source_width, source_height) = sizes.source;
        let batch = read_batch(
            self.dataset.as_ref(),
            indices,
            source_width,
            source_height,
            pool,
        )?;
        let (width, height) = sizes.view;
        let size = (width, height);
        let (recipe, views) = match eval_views {
            Some(set) => (
                Recipe::EvalViews {
                    size,
                    scaled: set.scaled,
                },
                set.views,
            ),
            None => (Recipe::Eval { size }, 1),
        };
        let msg = |e: scanflow::augment::AugmentError| candle_core::Error::Msg(e.to_string());
        let pipeline = recipe.pipeline().map_err(msg)?;
        let mut data = Vec::new();
        augment_batch(&pipeline, &batch, views, 0, 0, pool, &mut data).map_err(msg)?;
        let views = ViewBatch {
            views,
            batch: batch.len(),
            channels: 3,
            height,
            width,
            data,
            indices: batch.indices,
            labels: None,
            epoch: 0,
            epoch_size: 0,
            names: None,
            cropped_from: None,
            eval_views,
        };
        Ok(views_to_nhwc(&views, device)?)
    }
}

/// A folder of image files without class sub-folders.
struct FlatFolder {
    files: Vec<PathBuf>,
}

impl FlatFolder {
    /// The folder's image files, sorted; `None` when `path` is not a folder or holds none
    /// directly (then it may be an ImageFolder tree).
    fn open(path: &Path) -> Result<Option<Self>, PredictError> {
        if !path.is_dir() {
            return Ok(None);
        }
        let io = |source| DataError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut files = Vec::new();
        for entry in std::fs::read_dir(path).map_err(io)? {
            let file = entry.map_err(io)?.path();
            if file.is_file() && is_image(&file) {
                files.push(file);
            }
        }
        files.sort();
        Ok((!files.is_empty()).then_some(FlatFolder { files }))
    }

    fn read(&self, i: usize) -> scanflow::data::Result<Vec<u8>> {
        std::fs::read(&self.files[i]).map_err(|source| DataError::Io {
            path: self.files[i].clone(),
            source,
        })
    }
}

/// A visible file with an image extension.
fn is_image(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or(".");
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    !name.starts_with('.') && EXTENSIONS.iter().any(|e| ext.eq_ignore_ascii_case(e))
}

impl Dataset for FlatFolder {
    fn len(&self) -> usize {
        self.files.len()
    }

    fn native_size(&self) -> Option<(u32, u32)> {
        None
    }

    fn image_size(&self, i: usize) -> scanflow::data::Result<(u32, u32)> {
        probe_size(&self.read(i)?, &self.name(i))
    }

    fn classes(&self) -> &[String] {
        &[]
    }

    fn label(&self, _i: usize) -> Option<u32> {
        None
    }

    fn name(&self, i: usize) -> String {
        self.files[i].display().to_string()
    }

    fn read_rgb(
        &self,
        i: usize,
        width: u32,
        height: u32,
        out: &mut [u8],
    ) -> scanflow::data::Result<()> {
        decode_rgb_resized(&self.read(i)?, &self.name(i), width, height, out)
    }

    fn fingerprint(&self) -> String {
        format!("flat:{}", self.files.len())
    }
}
