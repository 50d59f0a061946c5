//! Unsigned 32-bit integer `.npy` matrices (dtype `<u4`, shape (N, K), C order): how
//! neighbour indices are stored, since indices written as floats lose precision past 2²⁴.

use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::path::Path;

use super::{npy_header, read_header};
use crate::data::error::{DataError, Result};
use crate::fsutil::write_atomic_with;

/// Writes a `rows`×`cols` row-major u32 matrix as a version-1.0 `<u4` `.npy` file,
/// atomically (temp file then rename).
pub fn write_npy_u32(path: &Path, rows: usize, cols: usize, data: &[u32]) -> io::Result<()> {
    if rows.checked_mul(cols) != Some(data.len()) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} values do not fill a {rows}x{cols} matrix", data.len()),
        ));
    }
    let header = npy_header("<u4", rows, cols)?;
    write_atomic_with(path, |writer| {
        writer.write_all(&header)?;
        for value in data {
            writer.write_all(&value.to_le_bytes())?;
        }
        Ok(())
    })
}

/// Reads a 2-D `<u4` C-order `.npy` file; returns (rows, cols, values row-major). Anything
/// else is [`DataError::Npy`] naming the file.
pub fn read_npy_u32(path: &Path) -> Result<(usize, usize, Vec<u32>)> {
    let io_error = |source| DataError::Io {
        path: path.to_path_buf(),
        source,
    };
    let fail = |message: String| DataError::Npy {
        path: path.to_path_buf(),
        message,
    };
    let mut reader = BufReader::new(File::open(path).map_err(io_error)?);
    let (header, _) = read_header(&mut reader).map_err(fail)?;
    if header.descr != "<u4" || header.fortran_order {
        return Err(fail(format!(
            "dtype `{}` (fortran_order {}) is not a C-order <u4 matrix",
            header.descr, header.fortran_order
        )));
    }
    let [rows, cols] = header.shape[..] else {
        return Err(fail(format!("shape {:?} is not 2-D", header.shape)));
    };
    let count = usize::try_from(rows.saturating_mul(cols))
        .map_err(|_| fail(format!("shape ({rows}, {cols}) is too large")))?;
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes).map_err(io_error)?;
    if bytes.len() as u128 != count as u128 * 4 {
        return Err(fail(format!(
            "shape ({rows}, {cols}) needs {} data bytes but the file holds {}",
            count as u128 * 4,
            bytes.len()
        )));
    }
    let values = bytes.chunks_exact(4);
    let data = values.map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    Ok((rows as usize, cols as usize, data.collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_floats() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.npy");
        write_npy_u32(&path, 2, 3, &[0, 1, 2, 16_777_217, 4, u32::MAX]).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        // numpy aligns the data to 64 bytes; the dict with its 21-digit growth room is 81
        // bytes, so the header takes 128, then 6 values × 4 bytes.
        assert_eq!(bytes.len(), 128 + 24);
        assert!(String::from_utf8_lossy(&bytes[..128]).contains("'descr': '<u4'"));
        let (rows, cols, data) = read_npy_u32(&path).unwrap();
        assert_eq!((rows, cols), (2, 3));
        assert_eq!(data, vec![0, 1, 2, 16_777_217, 4, u32::MAX]);
        crate::data::write_npy_f32(&path, 1, 1, &[1.0]).unwrap();
        let err = read_npy_u32(&path).unwrap_err().to_string();
        assert!(err.contains("n.npy") && err.contains("<f4"), "{err}");
    }
}
