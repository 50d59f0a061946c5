//! JPEG decoding with `zune-jpeg`: truncated files are refused, the header is parsed once, its size checked against the
//! limits, then the pixels are decoded as RGB8 straight into the caller's buffer (greyscale
//! comes out as R=G=B, CMYK is converted by the decoder).

use zune_core::bytestream::ZCursor;
use zune_core::colorspace::ColorSpace;
use zune_core::options::DecoderOptions;
use zune_jpeg::JpegDecoder;

use super::{check_limits, decode_error};
use crate::data::error::Result;

/// Whether `bytes` start with a JPEG start-of-image marker followed by another marker.
pub(super) fn is_jpeg(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0xff, 0xd8, 0xff])
}

/// Whether an end-of-image marker follows the last scan. A truncated file has none, and
/// `zune-jpeg` (like browsers) would otherwise fill the missing rows with grey silently.
pub(super) fn is_complete(bytes: &[u8]) -> bool {
    let Some(end) = bytes.windows(2).rposition(|w| w == [0xff, 0xd9]) else {
        return false;
    };
    !bytes[end..].windows(2).any(|w| w == [0xff, 0xda])
}

/// A JPEG whose header has been read and checked against the decoding limits.
pub(super) struct Jpeg<'a> {
    /// Boxed: the decoder state is about 29 KB.
    decoder: Box<JpegDecoder<ZCursor<&'a [u8]>>>,
    /// (width, height) from the header.
    pub(super) size: (u32, u32),
}

impl<'a> Jpeg<'a> {
    /// Parses the header of `bytes`: over [`super::MAX_SIDE`] / [`super::MAX_PIXELS`] is
    /// `TooLarge`. Returns `None` when the decoder would not output RGB (then the caller
    /// falls back to the `image` crate).
    pub(super) fn open(bytes: &'a [u8], name: &str) -> Result<Option<Jpeg<'a>>> {
        // JPEG sides are u16, so lifting the decoder's own cap lets `check_limits` report
        // oversized images uniformly; nothing is allocated for pixels before that check.
        let options = DecoderOptions::default()
            .set_max_width(usize::from(u16::MAX))
            .set_max_height(usize::from(u16::MAX))
            .jpeg_set_out_colorspace(ColorSpace::RGB);
        let mut decoder = Box::new(JpegDecoder::new_with_options(ZCursor::new(bytes), options));
        decoder
            .decode_headers()
            .map_err(|e| decode_error(name, e))?;
        let Some((width, height)) = decoder.dimensions() else {
            return Err(decode_error(name, "JPEG header without dimensions"));
        };
        let size = (width as u32, height as u32);
        check_limits(name, size.0, size.1)?;
        if decoder.output_colorspace() != Some(ColorSpace::RGB) {
            return Ok(None);
        }
        Ok(Some(Jpeg { decoder, size }))
    }

    /// Decodes the pixels into `out`, which must hold exactly width·height·3 bytes.
    pub(super) fn decode_into(mut self, name: &str, out: &mut [u8]) -> Result<()> {
        if self.decoder.output_buffer_size() != Some(out.len()) {
            return Err(decode_error(name, "decoded size differs from the header"));
        }
        self.decoder
            .decode_into(out)
            .map_err(|e| decode_error(name, e))
    }
}
