//! NumPy `.npy` feature matrices, for users who bring their own embeddings.
//!
//! Layout: magic `\x93NUMPY`, version (major, minor), header length (u16 LE for 1.0, u32 LE
//! for 2.0 and 3.0), an ASCII header dict padded with spaces and ending in `\n`, then the
//! C-order data. Accepted: dtypes `<f4` and `<f2` (widened to f32), shape (N, D).

mod header;

use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::path::Path;

use half::f16;

use crate::data::error::{DataError, Result};
use crate::fsutil::write_atomic_with;

use header::{parse_header, Header};

/// The `.npy` magic string.
const MAGIC: &[u8; 6] = b"\x93NUMPY";
/// numpy aligns the data start to this many bytes.
const ALIGN: usize = 64;
/// numpy pads a header with room for a shape entry of this many digits (so it can grow in place).
const GROWTH_DIGITS: usize = 21;

/// A dense row-major f32 matrix, read into memory.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    /// Number of rows (samples).
    pub rows: usize,
    /// Number of columns (features).
    pub cols: usize,
    /// `rows·cols` values, row-major.
    pub data: Vec<f32>,
}

/// Reads a 2-D `<f4` or `<f2` C-order `.npy` file (format 1.0, 2.0 or 3.0) into memory.
///
/// Anything else — bad magic, an unparseable header, `fortran_order: True`, another dtype,
/// a shape that is not (N, D), or a data size that disagrees with the shape — is
/// [`DataError::Npy`] naming the file and what disagrees.
pub fn read_npy_matrix(path: &Path) -> Result<Matrix> {
    let io_error = |source| DataError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(io_error)?;
    let file_len = file.metadata().map_err(io_error)?.len();
    let mut reader = BufReader::new(file);
    let fail = |message: String| DataError::Npy {
        path: path.to_path_buf(),
        message,
    };
    let (header, data_start) = read_header(&mut reader).map_err(fail)?;
    let (rows, cols, item) = check_header(&header).map_err(fail)?;
    let needed = (rows as u128) * (cols as u128) * (item as u128);
    let held = u128::from(file_len.saturating_sub(data_start));
    if needed != held {
        return Err(fail(format!(
            "shape ({rows}, {cols}) of `{}` needs {needed} data bytes but the file holds {held} \
             after its {data_start}-byte header",
            header.descr
        )));
    }
    let data = read_values(&mut reader, rows * cols, item)
        .map_err(|e| fail(format!("cannot read the data: {e}")))?;
    Ok(Matrix { rows, cols, data })
}

/// Reads the magic, version and header dict; returns the header and where the data starts.
fn read_header(reader: &mut impl Read) -> std::result::Result<(Header, u64), String> {
    let mut start = [0u8; 8];
    reader
        .read_exact(&mut start)
        .map_err(|_| "the file is too short for a .npy header".to_string())?;
    if &start[..6] != MAGIC {
        return Err("bad magic: it does not start with `\\x93NUMPY`".into());
    }
    let (len, prefix) = match start[6] {
        1 => (u64::from(u16::from_le_bytes(read_array(reader)?)), 10),
        2 | 3 => (u64::from(u32::from_le_bytes(read_array(reader)?)), 12),
        major => return Err(format!("unsupported format version {major}.{}", start[7])),
    };
    let mut text = Vec::new();
    reader
        .take(len)
        .read_to_end(&mut text)
        .map_err(|e| e.to_string())?;
    if text.len() as u64 != len {
        return Err(format!(
            "the header claims {len} bytes but the file ends after {}",
            text.len()
        ));
    }
    let header = parse_header(&String::from_utf8_lossy(&text))?;
    Ok((header, prefix + len))
}

/// Reads `N` bytes of the header length field.
fn read_array<const N: usize>(reader: &mut impl Read) -> std::result::Result<[u8; N], String> {
    let mut bytes = [0u8; N];
    reader
        .read_exact(&mut bytes)
        .map_err(|_| "the file ends inside its header length".to_string())?;
    Ok(bytes)
}

/// Checks dtype, order and shape; returns (rows, cols, bytes per value).
fn check_header(header: &Header) -> std::result::Result<(usize, usize, usize), String> {
    let item = match header.descr.as_str() {
        "<f4" => 4,
        "<f2" => 2,
        other => {
            return Err(format!(
                "dtype `{other}` is not supported (only <f4 and <f2)"
            ))
        }
    };
    if header.fortran_order {
        return Err("fortran_order is True; save a C-order array (np.ascontiguousarray)".into());
    }
    let [rows, cols] = header.shape[..] else {
        let dims: Vec<String> = header.shape.iter().map(u64::to_string).collect();
        return Err(format!(
            "shape ({}{}) is {}-D but a 2-D (N, D) matrix is needed",
            dims.join(", "),
            if dims.len() == 1 { "," } else { "" },
            dims.len()
        ));
    };
    let fit = |n: u64| usize::try_from(n).map_err(|_| format!("dimension {n} is too large"));
    Ok((fit(rows)?, fit(cols)?, item))
}

/// Reads `count` little-endian values of `item` bytes (4: f32, 2: f16) as f32, in chunks.
fn read_values(reader: &mut impl Read, count: usize, item: usize) -> io::Result<Vec<f32>> {
    let mut data = Vec::with_capacity(count);
    let mut chunk = vec![0u8; 1 << 16];
    while data.len() < count {
        let take = ((count - data.len()) * item).min(chunk.len());
        let bytes = &mut chunk[..take];
        reader.read_exact(bytes)?;
        if item == 4 {
            let values = bytes.chunks_exact(4);
            data.extend(values.map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])));
        } else {
            let values = bytes.chunks_exact(2);
            data.extend(values.map(|b| f16::from_le_bytes([b[0], b[1]]).to_f32()));
        }
    }
    Ok(data)
}

/// Writes a `rows`×`cols` row-major f32 matrix as a version-1.0 `<f4` `.npy` file, header
/// byte-for-byte as numpy writes it, atomically (temp file then rename).
pub fn write_npy_f32(path: &Path, rows: usize, cols: usize, data: &[f32]) -> io::Result<()> {
    if rows.checked_mul(cols) != Some(data.len()) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} values do not fill a {rows}x{cols} matrix", data.len()),
        ));
    }
    let header = npy_header("<f4", rows, cols)?;
    write_atomic_with(path, |writer| {
        writer.write_all(&header)?;
        for value in data {
            writer.write_all(&value.to_le_bytes())?;
        }
        Ok(())
    })
}

/// The version-1.0 preamble and header numpy writes for a C-order (rows, cols) array of dtype
/// `descr` (e.g. `<f4`):
/// the dict, room for a 21-digit first dimension, then spaces and `\n` up to a multiple of 64
/// bytes (numpy pads by 1..=64 bytes, never 0).
fn npy_header(descr: &str, rows: usize, cols: usize) -> io::Result<Vec<u8>> {
    let mut dict =
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    dict.push_str(&" ".repeat(GROWTH_DIGITS.saturating_sub(rows.to_string().len())));
    let preamble = MAGIC.len() + 2 + 2;
    let pad = ALIGN - (preamble + dict.len() + 1) % ALIGN;
    let len = u16::try_from(dict.len() + pad + 1)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "npy header too long"))?;
    let mut out = Vec::with_capacity(preamble + usize::from(len));
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.extend(std::iter::repeat_n(b' ', pad));
    out.push(b'\n');
    Ok(out)
}

mod int;
mod stream;
pub use int::{read_npy_u32, write_npy_u32};
pub use stream::NpyRowWriter;

mod column;
pub use column::read_npy_ids;

#[cfg(test)]
mod tests;
