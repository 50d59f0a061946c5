//! `ViewGrid`: a sink that writes a PNG of augmented views — one row per image, its V views
//! side by side — so a recipe can be checked by eye. Each view is stretched to [0, 255]
//! (min–max over the view), since views are normalised. Stops reading once it has enough.

use serde::{Deserialize, Serialize};

use super::{BuildContext, InputPort, Operator, ParamDoc, ParamError};
use crate::data::ViewBatch;
use crate::payload::PortType;
use crate::report::write_grid_png;
use crate::runtime::{Context, OpError};

/// Parameters of [`ViewGrid`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ViewGridParams {
    /// File name inside the node's run folder.
    pub file: String,
    /// How many images (rows) to show.
    pub images: usize,
    /// Integer upscaling of each view.
    pub scale: u32,
}

impl Default for ViewGridParams {
    fn default() -> Self {
        ViewGridParams {
            file: "views.png".into(),
            images: 16,
            scale: 2,
        }
    }
}

/// The `ViewGrid` sink operator.
pub struct ViewGrid {
    params: ViewGridParams,
}

impl Operator for ViewGrid {
    type Params = ViewGridParams;
    const NAME: &'static str = "ViewGrid";
    const SUMMARY: &'static str =
        "Writes a PNG of augmented views, one row per image, to check a recipe by eye.";
    const PARAMS: &'static [ParamDoc] = &[
        ParamDoc {
            name: "file",
            ty: "String",
            doc: "PNG file name inside the node's run folder",
        },
        ParamDoc {
            name: "images",
            ty: "usize",
            doc: "how many images (rows) to show",
        },
        ParamDoc {
            name: "scale",
            ty: "u32",
            doc: "integer upscaling of each view",
        },
    ];
    const INPUTS: &'static [InputPort] = &[InputPort {
        field: "input",
        payload: PortType::Views,
        required: true,
        doc: "the views",
    }];
    const OUTPUT: Option<PortType> = None;

    fn build(params: ViewGridParams, _ctx: &BuildContext) -> Result<Self, Vec<ParamError>> {
        let mut errors = Vec::new();
        if params.file.contains(['/', '\\']) || !params.file.ends_with(".png") {
            errors.push(ParamError::new(
                "file",
                "must be a plain file name ending in `.png`",
            ));
        }
        if params.images == 0 || params.scale == 0 {
            errors.push(ParamError::new(
                if params.images == 0 {
                    "images"
                } else {
                    "scale"
                },
                "must be at least 1",
            ));
        }
        ParamError::result(errors).map(|()| ViewGrid { params })
    }

    fn run(self, ctx: &mut Context) -> Result<(), OpError> {
        let mut tiles: Vec<Vec<u8>> = Vec::new();
        let mut shape = None;
        let mut rows = 0;
        while rows < self.params.images {
            let Some(payload) = ctx.recv("input")? else {
                break;
            };
            let Some(batch) = payload.as_views() else {
                continue;
            };
            let take = batch.batch.min(self.params.images - rows);
            for image in 0..take {
                tiles.extend((0..batch.views).map(|v| to_rgb8(batch, v, image)));
            }
            shape.get_or_insert((batch.width, batch.height, batch.views as u32));
            rows += take;
        }
        let Some((width, height, views)) = shape else {
            return Err(OpError::Failed("received no view".into()));
        };
        let refs: Vec<&[u8]> = tiles.iter().map(Vec::as_slice).collect();
        let path = ctx.run_dir().join(&self.params.file);
        write_grid_png(&path, &refs, width, height, views, 2, self.params.scale)
            .map_err(|e| OpError::io(&path, e))
    }
}

/// View `view` of image `image` as HWC RGB8, stretched to the full range.
fn to_rgb8(batch: &ViewBatch, view: usize, image: usize) -> Vec<u8> {
    let chw = batch.view(view, image);
    let (lo, hi) = chw
        .iter()
        .fold((f32::MAX, f32::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    let scale = if hi > lo { 255.0 / (hi - lo) } else { 0.0 };
    let plane = (batch.width * batch.height) as usize;
    (0..plane * 3)
        .map(|i| chw[(i % 3) * plane + i / 3])
        .map(|v| ((v - lo) * scale).round().clamp(0.0, 255.0) as u8)
        .collect()
}
