//! `Encode`: runs a trained encoder over evaluation views (no augmentation: an `Augment`
//! with the `Eval` recipe) in evaluation mode and sends L2-normalised feature batches — the
//! input of neighbour mining. With several views per image (`EvalViews`: the image, its
//! mirror image and a wider crop of both) each image's vector is the normalised mean of
//! its views' normalised vectors. Also streams them into `features.npy` (`<f4`, N×D) in its
//! run folder, in arrival order, with `indices.npy` giving each row's dataset index. With
//! `output: Clusters` it reads a cluster model (from `Scan`) instead and emits each image's
//! cluster probabilities under the selected head (not normalised). `encoder.json` records
//! the model, the output and the view size (`ops::provenance`).

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{BuildContext, InputPort, Operator, ParamDoc, ParamError};
use crate::data::npy::NpyRowWriter;
use crate::data::{FeatureBatch, ViewBatch};
use crate::model::input::{first_views_to_nhwc, views_to_nhwc};
use crate::model::network::ContrastiveModel;
use crate::model::{ClusterModel, ModelArtifact};
use crate::ops::provenance::{self, EncoderRecord, ENCODER_FILE};
use crate::payload::{Payload, PortType};
use crate::runtime::{Context, OpError};

/// Parameters of [`Encode`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EncodeParams {
    /// Which representation to emit.
    #[serde(default)]
    pub output: EncodeOutput,
    /// What becomes of several views of an image.
    #[serde(default, skip_serializing_if = "ViewsOut::is_average")]
    pub views: ViewsOut,
}

/// How [`Encode`] turns the V views of an image into one row.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ViewsOut {
    /// The normalised mean of the views' normalised vectors (D values per image).
    #[default]
    Average,
    /// Every view's normalised vector, one after another (V·D values per image): the
    /// augmented views `Scan` can train its heads on (its `augmented` input).
    Keep,
}

impl ViewsOut {
    /// True for the default, [`ViewsOut::Average`] (left out of the cache key).
    pub fn is_average(&self) -> bool {
        *self == ViewsOut::Average
    }
}

/// What [`Encode`] emits per image.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum EncodeOutput {
    /// The encoder's features (SCAN mines neighbours on these for ImageNet).
    Features,
    /// The projection head's output (SCAN mines CIFAR neighbours on the 128-d head output).
    #[default]
    Projection,
    /// The C cluster probabilities of a cluster model's selected head (rows sum to 1).
    Clusters,
}

/// The model an [`Encode`] node runs.
enum Loaded {
    Contrastive(ContrastiveModel),
    Cluster(ClusterModel),
}

/// The `Encode` operator.
pub struct Encode {
    params: EncodeParams,
}

impl Operator for Encode {
    type Params = EncodeParams;
    const NAME: &'static str = "Encode";
    const SUMMARY: &'static str = "Embeds evaluation views with a trained model (evaluation mode) and sends L2-normalised feature batches; writes features.npy.";
    const PARAMS: &'static [ParamDoc] = &[
        ParamDoc {
            name: "output",
            ty: "Features | Projection | Clusters",
            doc: "encoder features, the projection head's output (SCAN's choice for CIFAR), or a Scan model's cluster probabilities",
        },
        ParamDoc {
            name: "views",
            ty: "Average | Keep",
            doc: "several views of an image: one row of their normalised mean (default), or one row of every view's vector in turn (V·D values: augmented views for Scan's `augmented` input)",
        },
    ];
    const INPUTS: &'static [InputPort] = &[
        InputPort {
            field: "input",
            payload: PortType::Views,
            required: true,
            doc: "evaluation views (several views of an image are embedded and averaged; `Clusters` takes one)",
        },
        InputPort {
            field: "model",
            payload: PortType::Model,
            required: true,
            doc: "the trained model (a SimClr node; a Scan node for `Clusters`)",
        },
    ];
    const OUTPUT: Option<PortType> = Some(PortType::Features);

    fn build(params: EncodeParams, _ctx: &BuildContext) -> Result<Self, Vec<ParamError>> {
        Ok(Encode { params })
    }

    fn run(self, ctx: &mut Context) -> Result<(), OpError> {
        let artifact = ctx.recv_model("model")?;
        let device = crate::model::device::select(ctx.device()).map_err(failed)?;
        let model = match self.params.output {
            EncodeOutput::Clusters => {
                Loaded::Cluster(ClusterModel::from_artifact(&artifact, &device).map_err(failed)?)
            }
            _ => Loaded::Contrastive(
                ContrastiveModel::from_artifact(&artifact, &device).map_err(failed)?,
            ),
        };
        let mut features: Option<NpyRowWriter> = None;
        let mut indices = Vec::new();
        while let Some(payload) = ctx.recv("input")? {
            let batch = payload
                .as_views()
                .cloned()
                .ok_or_else(|| OpError::Failed("`input` must receive view batches".into()))?;
            let out = self.embed(&model, &batch, &device)?;
            let writer = match &mut features {
                Some(writer) => writer,
                None => features.insert(self.open_outputs(ctx, &artifact, &batch, out.dim)?),
            };
            writer.push(&out.data).map_err(failed)?;
            indices.extend(out.indices.iter().map(|&i| i as u32));
            ctx.send(Payload::Features(Arc::new(out)))?;
        }
        if let Some(writer) = features {
            writer.finish().map_err(failed)?;
            crate::data::npy::write_npy_u32(
                &ctx.run_dir().join("indices.npy"),
                indices.len(),
                1,
                &indices,
            )
            .map_err(failed)?;
        }
        Ok(())
    }
}

impl Encode {
    /// Records how the vectors are made (`encoder.json`, for `predict` on new images) and
    /// opens `features.npy` for rows of `dim` values.
    fn open_outputs(
        &self,
        ctx: &Context,
        artifact: &ModelArtifact,
        batch: &ViewBatch,
        dim: usize,
    ) -> Result<NpyRowWriter, OpError> {
        let record = EncoderRecord {
            model: artifact.clone(),
            output: self.params.output,
            input_size: (batch.height, batch.width),
            cropped_from: batch.cropped_from,
            eval_views: batch.eval_views,
            kept_views: (self.params.views == ViewsOut::Keep).then_some(batch.views),
        };
        let dir = ctx.run_dir();
        provenance::save(&record, dir, ENCODER_FILE)
            .map_err(|e| OpError::io(dir.join(ENCODER_FILE), e))?;
        NpyRowWriter::create(&dir.join("features.npy"), dim).map_err(failed)
    }

    /// Every image in `batch` embedded and L2-normalised, its views averaged (cluster
    /// probabilities are left as they are, from the only view).
    fn embed(
        &self,
        model: &Loaded,
        batch: &ViewBatch,
        device: &candle_core::Device,
    ) -> Result<FeatureBatch, OpError> {
        let (dim, data) = match model {
            Loaded::Contrastive(m) => {
                let x = views_to_nhwc(batch, device).map_err(failed)?;
                let z = match self.params.output {
                    EncodeOutput::Features => m.features(&x),
                    _ => m.forward(&x, false),
                }
                .map_err(failed)?;
                let dim = z.dim(1).map_err(failed)?;
                let rows: Vec<f32> = z.flatten_all().and_then(|t| t.to_vec1()).map_err(failed)?;
                match self.params.views {
                    ViewsOut::Average => (dim, mean_of_views(rows, dim, batch.views)),
                    ViewsOut::Keep => (dim * batch.views, side_by_side(rows, dim, batch.views)),
                }
            }
            Loaded::Cluster(m) => {
                if batch.views > 1 {
                    return Err(OpError::Failed(format!("`output: Clusters` embeds one view per image, but `input` sends {} (an `EvalViews` recipe belongs to mining)", batch.views)));
                }
                let x = first_views_to_nhwc(batch, device).map_err(failed)?;
                let p = m.probabilities(&x).map_err(failed)?;
                let dim = p.dim(1).map_err(failed)?;
                (
                    dim,
                    p.flatten_all().and_then(|t| t.to_vec1()).map_err(failed)?,
                )
            }
        };
        Ok(FeatureBatch {
            dim,
            data,
            indices: batch.indices.clone(),
            labels: batch.labels.clone(),
            names: batch.names.clone(),
        })
    }
}

/// `rows` holds `views` view-major blocks of one row of `dim` values per image: each row is
/// scaled to unit length, the views of each image are averaged and the mean is scaled to
/// unit length again (one view: just normalised).
pub fn mean_of_views(mut rows: Vec<f32>, dim: usize, views: usize) -> Vec<f32> {
    normalise_rows(&mut rows, dim);
    if views <= 1 {
        return rows;
    }
    let block = rows.len() / views;
    let mut mean = rows[..block].to_vec();
    for view in rows.chunks_exact(block).skip(1) {
        mean.iter_mut().zip(view).for_each(|(m, v)| *m += v);
    }
    normalise_rows(&mut mean, dim);
    mean
}

/// `rows` as in [`mean_of_views`], each row scaled to unit length and the views of each
/// image laid side by side: row `i` of the result is view 0 of image `i`, then view 1, …
pub fn side_by_side(mut rows: Vec<f32>, dim: usize, views: usize) -> Vec<f32> {
    normalise_rows(&mut rows, dim);
    if views <= 1 {
        return rows;
    }
    let images = rows.len() / views / dim.max(1);
    let mut out = Vec::with_capacity(rows.len());
    for image in 0..images {
        for view in 0..views {
            let start = (view * images + image) * dim;
            out.extend_from_slice(&rows[start..start + dim]);
        }
    }
    out
}

/// Scales each row to unit length (rows of zeros stay zero; mining reports them).
fn normalise_rows(data: &mut [f32], dim: usize) {
    for row in data.chunks_exact_mut(dim.max(1)) {
        let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt();
        if norm > 0.0 {
            row.iter_mut().for_each(|v| *v /= norm);
        }
    }
}

fn failed(error: impl std::fmt::Display) -> OpError {
    OpError::Failed(error.to_string())
}

#[cfg(test)]
mod tests {
    use super::{mean_of_views, side_by_side};

    #[test]
    fn the_views_of_an_image_are_normalised_averaged_and_normalised_again() {
        // Two images, dim 2, two views laid out view-major: [view 0: a, b][view 1: a, b].
        let rows = vec![3.0, 4.0, 0.0, 2.0, 0.0, 5.0, 1.0, 0.0];
        let mean = mean_of_views(rows, 2, 2);
        // a: (0.6, 0.8) + (0, 1) = (0.6, 1.8); b: (0, 1) + (1, 0) = (1, 1).
        let a = (0.6f32 * 0.6 + 1.8 * 1.8).sqrt();
        let expected = [0.6 / a, 1.8 / a, 0.5f32.sqrt(), 0.5f32.sqrt()];
        for (m, e) in mean.iter().zip(expected) {
            assert!((m - e).abs() < 1e-6, "{mean:?}");
        }
        assert_eq!(mean_of_views(vec![0.0, 2.0], 2, 1), vec![0.0, 1.0]);
    }

    #[test]
    fn kept_views_are_normalised_and_laid_side_by_side_per_image() {
        // Two images, dim 2, two views view-major: [view 0: a, b][view 1: a, b].
        let rows = vec![3.0, 4.0, 0.0, 2.0, 0.0, 5.0, 1.0, 0.0];
        let kept = side_by_side(rows, 2, 2);
        assert_eq!(kept, vec![0.6, 0.8, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0]);
        assert_eq!(side_by_side(vec![0.0, 2.0], 2, 1), vec![0.0, 1.0]);
    }
}
