//! Record-file helpers shared by the CIFAR and STL-10 readers: record-length checks,
//! class-name files, planar-to-interleaved pixel copies and writing (resized) RGB8 output.

use super::Member;
use crate::data::error::{DataError, Result};
use crate::data::resize::resize_rgb8;

/// Checks that `member` holds whole `record`-byte records, and exactly `expected` of them
/// when given; returns the record count.
pub(crate) fn count_records(
    member: &Member,
    record: usize,
    expected: Option<usize>,
) -> Result<usize> {
    let len = member.bytes.len();
    if !len.is_multiple_of(record) {
        return Err(DataError::RecordLength {
            file: member.name.clone(),
            len: len as u64,
            record,
        });
    }
    let records = len / record;
    match expected {
        Some(expected) if expected != records => Err(DataError::RecordCount {
            file: member.name.clone(),
            len: len as u64,
            record,
            records,
            expected,
        }),
        _ => Ok(records),
    }
}

/// Class names, one a line (blank lines ignored); exactly `expected` of them or [`DataError::ClassNames`].
pub(crate) fn class_names(member: &Member, expected: usize) -> Result<Vec<String>> {
    let names: Vec<String> = String::from_utf8_lossy(&member.bytes)
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_string)
        .collect();
    if names.len() != expected {
        return Err(DataError::ClassNames {
            file: member.name.clone(),
            found: names.len(),
            expected,
        });
    }
    Ok(names)
}

/// Interleaves three `side`×`side` channel planes (R, G, B) into row-major RGB8 `out`; a
/// plane is row-major (byte `y·side + x`) or, when `column_major`, transposed (byte `x·side + y`).
pub(crate) fn interleave(planes: &[u8], side: usize, column_major: bool, out: &mut [u8]) {
    let area = side * side;
    for (c, plane) in planes.chunks_exact(area).take(3).enumerate() {
        for y in 0..side {
            for x in 0..side {
                let at = if column_major {
                    x * side + y
                } else {
                    y * side + x
                };
                out[(y * side + x) * 3 + c] = plane[at];
            }
        }
    }
}

/// Writes the `side`×`side` RGB8 image `rgb` into `out` as `width`×`height`, resizing when
/// the sizes differ; a wrong `out` length is a [`DataError::Decode`] naming `name`.
pub(crate) fn write_rgb(
    name: &str,
    rgb: &[u8],
    side: u32,
    (width, height): (u32, u32),
    out: &mut [u8],
) -> Result<()> {
    if resize_rgb8(rgb, side, side, width, height, out) {
        return Ok(());
    }
    Err(DataError::Decode {
        file: name.to_string(),
        message: format!(
            "output buffer holds {} bytes but {width}x{height} RGB needs {}",
            out.len(),
            width as usize * height as usize * 3
        ),
    })
}

/// The error for an index past the end of a dataset.
pub(crate) fn out_of_range(name: &str, i: usize, len: usize) -> DataError {
    DataError::Decode {
        file: name.to_string(),
        message: format!("image index {i} is out of range: the dataset holds {len} images"),
    }
}
