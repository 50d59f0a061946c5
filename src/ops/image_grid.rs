//! `ImageGrid`: a sink that writes the first images it receives as one PNG contact sheet in
//! its run folder, then stops reading (its producer stops too if nobody else listens).

use serde::{Deserialize, Serialize};

use super::{BuildContext, InputPort, Operator, ParamDoc, ParamError};
use crate::payload::PortType;
use crate::report::write_grid_png;
use crate::runtime::{Context, OpError};

/// Parameters of [`ImageGrid`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ImageGridParams {
    /// File name inside the node's run folder.
    pub file: String,
    /// Images per row.
    pub columns: u32,
    /// How many images to lay out.
    pub images: usize,
    /// Integer upscaling of each image (nearest neighbour).
    pub scale: u32,
    /// Pixels between images.
    pub pad: u32,
}

impl Default for ImageGridParams {
    fn default() -> Self {
        ImageGridParams {
            file: "grid.png".into(),
            columns: 16,
            images: 256,
            scale: 2,
            pad: 2,
        }
    }
}

/// The `ImageGrid` sink operator.
pub struct ImageGrid {
    params: ImageGridParams,
}

impl Operator for ImageGrid {
    type Params = ImageGridParams;
    const NAME: &'static str = "ImageGrid";
    const SUMMARY: &'static str =
        "Writes the first images it receives as a PNG grid in its run folder.";
    const PARAMS: &'static [ParamDoc] = &[
        ParamDoc {
            name: "file",
            ty: "String",
            doc: "PNG file name inside the node's run folder",
        },
        ParamDoc {
            name: "columns",
            ty: "u32",
            doc: "images per row",
        },
        ParamDoc {
            name: "images",
            ty: "usize",
            doc: "how many images to lay out",
        },
        ParamDoc {
            name: "scale",
            ty: "u32",
            doc: "integer upscaling of each image",
        },
        ParamDoc {
            name: "pad",
            ty: "u32",
            doc: "pixels between images",
        },
    ];
    const INPUTS: &'static [InputPort] = &[InputPort {
        field: "input",
        payload: PortType::Images,
        required: true,
        doc: "the images to show",
    }];
    const OUTPUT: Option<PortType> = None;

    fn build(params: ImageGridParams, _ctx: &BuildContext) -> Result<Self, Vec<ParamError>> {
        let mut errors = Vec::new();
        let bad_name = params.file.is_empty()
            || params.file.contains(['/', '\\'])
            || !params.file.ends_with(".png");
        if bad_name {
            errors.push(ParamError::new(
                "file",
                "must be a plain file name ending in `.png`",
            ));
        }
        for (field, value) in [("columns", params.columns), ("scale", params.scale)] {
            if value == 0 {
                errors.push(ParamError::new(field, "must be at least 1"));
            }
        }
        if params.images == 0 {
            errors.push(ParamError::new("images", "must be at least 1"));
        }
        ParamError::result(errors).map(|()| ImageGrid { params })
    }

    fn run(self, ctx: &mut Context) -> Result<(), OpError> {
        ctx.set_total(self.params.images as u64);
        let mut pixels: Vec<u8> = Vec::new();
        let mut shape = None;
        let mut count = 0;
        while count < self.params.images {
            let Some(batch) = ctx.recv_images("input")? else {
                break;
            };
            let take = batch.len().min(self.params.images - count);
            pixels.extend_from_slice(&batch.pixels[..take * batch.image_bytes()]);
            shape.get_or_insert((batch.width, batch.height, batch.image_bytes()));
            count += take;
        }
        let Some((width, height, bytes)) = shape else {
            return Err(OpError::Failed("received no image".into()));
        };
        let images: Vec<&[u8]> = pixels.chunks(bytes).collect();
        let path = ctx.run_dir().join(&self.params.file);
        let p = &self.params;
        write_grid_png(&path, &images, width, height, p.columns, p.pad, p.scale)
            .map_err(|e| OpError::io(&path, e))?;
        ctx.set_status(format!("wrote {}", path.display()));
        Ok(())
    }
}
