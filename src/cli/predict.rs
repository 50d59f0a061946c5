//! `scanflow predict --run runs/<graph>/<node> --images <folder or archive>`: assigns new
//! images to the clusters a trained node learned and writes one CSV line per image:
//! `file,cluster,confidence,p0,…,p{C-1}` (the cluster is the most probable one, lowest id on
//! ties; every probability follows, so nothing is lost for C up to a few hundred). Given a
//! `Knn` node's folder instead, it finds each new image's nearest indexed images
//! (`neighbours`: same encoder, the saved index queried without a rebuild).
//!
//! Every image is resized to the model's `input_size` (antialiased bilinear, as an `Images`
//! node with `size` does, so a model trained at 32×32 reads larger photos squashed to 32×32)
//! and then goes through the `Eval` recipe (centre crop, CIFAR-10 normalisation). When the
//! model (or the `Knn` node's encoder) was fed `Eval` views smaller than their images, its
//! record says from what size (`cropped_from`): each image is resized to that size instead
//! and the crop cuts the model's size from it, as the graph did. `--source-size` sets that
//! size by hand, for models whose record does not say (heads trained on pairs).

mod images;
mod model;
mod neighbours;
mod output;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use candle_core::{Device, Tensor};
use scanflow::data::DataError;

use super::EXIT_INVALID;
use images::NewImages;

/// Arguments of `scanflow predict`.
#[derive(clap::Args, Debug)]
pub struct PredictArgs {
    /// The run folder of a node that trained a cluster model (`Scan`, `SelfLabel`), or of a
    /// `Knn` node to find each image's nearest indexed images: `runs/<graph>/<node>`.
    #[arg(long, value_name = "DIR")]
    run: PathBuf,
    /// The new images: a folder (flat, or one sub-folder per class) or a .tar/.tar.gz archive.
    #[arg(long, value_name = "PATH")]
    images: PathBuf,
    /// Where to write the predictions.
    #[arg(long, value_name = "OUT.csv", default_value = "predictions.csv")]
    out: PathBuf,
    /// Images per forward pass.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..))]
    batch: u32,
    /// Neighbours per image, with a `Knn` run folder (default: the node's own k).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    k: Option<u32>,
    /// Scale each image to WIDTHxHEIGHT before the `Eval` recipe centre-crops it to the
    /// model's input size: the size of the images the graph's evaluation views were cut
    /// from (32x32 for views that are the central 24×24 of CIFAR-10's 32×32 images).
    /// Default: the size the model records (`cropped_from`, written when its heads were
    /// trained on `Eval` views), else the model's input size (the whole image scaled).
    #[arg(long, value_name = "WxH", value_parser = parse_size)]
    source_size: Option<(u32, u32)>,
}

/// `WIDTHxHEIGHT`, both positive.
fn parse_size(text: &str) -> Result<(u32, u32), String> {
    let parsed = text
        .split_once(['x', 'X'])
        .and_then(|(w, h)| Some((w.trim().parse::<u32>().ok()?, h.trim().parse::<u32>().ok()?)));
    match parsed {
        Some((w, h)) if w > 0 && h > 0 => Ok((w, h)),
        _ => Err(format!(
            "`{text}` is not WIDTHxHEIGHT with both positive, e.g. 32x32"
        )),
    }
}

/// The sizes images go through: scaled to `source`, then centre-cropped to `view` (the
/// model's input size), both (width, height).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InputSizes {
    /// What each image is scaled to first.
    pub source: (u32, u32),
    /// What the `Eval` recipe centre-crops it to.
    pub view: (u32, u32),
}

impl InputSizes {
    /// `view` from `source` (the model's size itself when `None`); a source smaller than
    /// the view is refused, since the crop would pad it with zeros.
    fn new(source: Option<(u32, u32)>, view: (u32, u32)) -> Result<Self, PredictError> {
        let source = source.unwrap_or(view);
        if source.0 < view.0 || source.1 < view.1 {
            return Err(PredictError::SourceTooSmall {
                given: source,
                view,
            });
        }
        Ok(InputSizes { source, view })
    }
}

/// Why `scanflow predict` could not run.
#[derive(Debug, thiserror::Error)]
pub enum PredictError {
    /// The run folder holds no model description.
    #[error(
        "`{}` has no model.json: --run takes the run folder of a node that trained a cluster \
         model, runs/<graph>/<node> (a node of kind {})",
        run.display(),
        model::CLUSTER_PRODUCERS.join(" or ")
    )]
    NoModel {
        /// The folder given.
        run: PathBuf,
    },
    /// model.json could not be read or parsed.
    #[error("`{}` cannot be read as a model description: {message}", path.display())]
    BadModelFile {
        /// The model.json file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The model is not a cluster model.
    #[error(
        "`{}` holds a {producer} model, not a cluster model: predict needs the run folder of a \
         node of kind {}",
        run.display(),
        model::CLUSTER_PRODUCERS.join(" or ")
    )]
    NotClusterModel {
        /// The folder given.
        run: PathBuf,
        /// The operator that trained the model.
        producer: String,
    },
    /// The weights file model.json names is gone.
    #[error("`{}` names the weights `{}`, which do not exist (run the graph again)", model.display(), weights.display())]
    WeightsMissing {
        /// The model.json file.
        model: PathBuf,
        /// The missing weights file.
        weights: PathBuf,
    },
    /// The architecture does not say which image size the model reads.
    #[error("`{}`: the architecture has no valid `input_size` ([height, width]): {message}", path.display())]
    NoInputSize {
        /// The model.json file.
        path: PathBuf,
        /// What the parser said.
        message: String,
    },
    /// The cluster model cannot be rebuilt (or run) by this build.
    #[error("the {producer} model in `{}` cannot be used: {message}", run.display())]
    Model {
        /// The folder given.
        run: PathBuf,
        /// The operator that trained it.
        producer: String,
        /// What went wrong.
        message: String,
    },
    /// The model's output is not one row of probabilities per image.
    #[error("the model returned {values} values for {images} images: not one row of cluster probabilities each")]
    BadOutput {
        /// Values returned.
        values: usize,
        /// Images sent.
        images: usize,
    },
    /// No image was found at `--images`.
    #[error("`{}` holds no JPEG or PNG image (directly inside, or one folder down)", path.display())]
    NoImages {
        /// The path given.
        path: PathBuf,
    },
    /// `--source-size` is smaller than the model's input size.
    #[error(
        "--source-size {}x{} is smaller than the model's input size {}x{}: the images' \
         centre crop would be padded with zeros; give the size of the images the graph's \
         evaluation views were cut from",
        given.0, given.1, view.0, view.1
    )]
    SourceTooSmall {
        /// The size given (width, height).
        given: (u32, u32),
        /// The model's input size (width, height).
        view: (u32, u32),
    },
    /// `--k` was given for a cluster model.
    #[error("--k counts neighbours, but `{}` is not a Knn node's run folder (it has no neighbours.npy)", run.display())]
    KWithoutNeighbours {
        /// The folder given.
        run: PathBuf,
    },
    /// A `Knn` run folder that does not say how its vectors were made.
    #[error(
        "`{}` holds a neighbour table but no source.json: its vectors were not made by an \
         Encode node (a Features .npy, or a run of an older scanflow), so new images cannot \
         be embedded the same way; run the graph again with --fresh, or give --run a Scan or \
         SelfLabel folder to assign clusters",
        run.display()
    )]
    NoFeatureSource {
        /// The folder given.
        run: PathBuf,
    },
    /// The indexed vectors or the saved index could not be used.
    #[error("the neighbours of `{}` cannot be searched: {message}", run.display())]
    Neighbours {
        /// The folder given.
        run: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// An image's vector has no direction (all zeros or not finite).
    #[error("`{image}`: {message}")]
    Degenerate {
        /// The image.
        image: String,
        /// What is wrong with its vector.
        message: String,
    },
    /// An image could not be read (the error names it).
    #[error(transparent)]
    Data(#[from] DataError),
    /// A tensor operation failed while preparing the images.
    #[error("preparing the images: {0}")]
    Tensor(#[from] candle_core::Error),
    /// The predictions could not be written.
    #[error("cannot write `{}`: {source}", path.display())]
    Write {
        /// The output file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// Runs the command: bad input exits with code 2 and a message naming the file.
pub fn run(args: PredictArgs) -> anyhow::Result<ExitCode> {
    match predict(&args) {
        Ok(rows) => {
            println!("{rows} predictions written to {}", args.out.display());
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => {
            eprintln!("error: {error}");
            Ok(ExitCode::from(EXIT_INVALID))
        }
    }
}

/// Checks the model, lists the images, rebuilds the model and writes the predictions.
fn predict(args: &PredictArgs) -> Result<usize, PredictError> {
    if neighbours::is_knn_run(&args.run) && !args.run.join("model.json").is_file() {
        return neighbours::predict(args);
    }
    if args.k.is_some() {
        return Err(PredictError::KWithoutNeighbours {
            run: args.run.clone(),
        });
    }
    let info = model::ModelInfo::load(&args.run)?;
    let images = NewImages::open(&args.images)?;
    let device = Device::Cpu;
    let classify = model::cluster_model(&info, &args.run, &device)?;
    predict_with(
        &images,
        InputSizes::new(args.source_size.or(info.cropped_from), info.input_size)?,
        args.batch as usize,
        &args.out,
        &device,
        classify,
    )
}

/// Reads `images` in batches, turns each into model input of `sizes`, runs `classify`
/// (an (B, H, W, 3) tensor → (B, C) probabilities) and writes the CSV; returns its rows.
fn predict_with(
    images: &NewImages,
    sizes: InputSizes,
    batch: usize,
    out: &Path,
    device: &Device,
    mut classify: impl FnMut(&Tensor) -> Result<Tensor, PredictError>,
) -> Result<usize, PredictError> {
    let pool = rayon::ThreadPoolBuilder::new()
        .build()
        .map_err(|e| PredictError::Tensor(candle_core::Error::Msg(e.to_string())))?;
    let mut writer = output::PredictionWriter::create(out)?;
    let indices: Vec<usize> = (0..images.len()).collect();
    for chunk in indices.chunks(batch) {
        let x = images.model_input(chunk, sizes, None, &pool, device)?;
        let probs = classify(&x)?;
        let values: Vec<f32> = probs.flatten_all()?.to_vec1()?;
        if values.is_empty() || !values.len().is_multiple_of(chunk.len()) {
            return Err(PredictError::BadOutput {
                values: values.len(),
                images: chunk.len(),
            });
        }
        let names: Vec<String> = chunk.iter().map(|&i| images.name(i)).collect();
        writer.write_rows(&names, &values)?;
    }
    writer.finish()
}

#[cfg(test)]
mod tests;
