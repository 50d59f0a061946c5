//! 1-D integer `.npy` arrays read as u32 ids (cluster assignments, class labels): dtypes
//! `u1 u2 u4 u8 i1 i2 i4 i8`, little-endian (`<`, or `|` for one byte), shape (N,) or
//! (N, 1), C order. Negative values or values past u32::MAX are refused with their index.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use super::read_header;
use crate::data::error::{DataError, Result};

/// Reads a 1-D integer `.npy` array of ids; anything else is [`DataError::Npy`] naming the
/// file and what disagrees (dtype, shape, data size, or the first out-of-range value).
pub fn read_npy_ids(path: &Path) -> Result<Vec<u32>> {
    let fail = |message: String| DataError::Npy {
        path: path.to_path_buf(),
        message,
    };
    let file = File::open(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut reader = BufReader::new(file);
    let (header, data_start) = read_header(&mut reader).map_err(fail)?;
    let (signed, size) = int_dtype(&header.descr).map_err(fail)?;
    if header.fortran_order && header.shape.len() > 1 {
        return Err(fail("fortran_order is True; save a C-order array".into()));
    }
    let count = match header.shape[..] {
        [n] | [n, 1] => usize::try_from(n).map_err(|_| fail(format!("length {n} is too large")))?,
        _ => {
            return Err(fail(format!(
                "shape {:?} is not (N,) or (N, 1)",
                header.shape
            )))
        }
    };
    let mut bytes = Vec::new();
    reader
        .read_to_end(&mut bytes)
        .map_err(|e| fail(format!("cannot read the data: {e}")))?;
    if bytes.len() as u128 != count as u128 * size as u128 {
        return Err(fail(format!(
            "{count} values of `{}` need {} data bytes but the file holds {} after its \
             {data_start}-byte header",
            header.descr,
            count as u128 * size as u128,
            bytes.len()
        )));
    }
    decode_ids(&bytes, signed, size).map_err(fail)
}

/// (signed, bytes per value) of an integer dtype string such as `<i8` or `|u1`.
fn int_dtype(descr: &str) -> std::result::Result<(bool, usize), String> {
    let refuse =
        || format!("dtype `{descr}` is not a little-endian integer (u1 u2 u4 u8 i1 i2 i4 i8)");
    let mut chars = descr.chars();
    let (order, kind) = (chars.next(), chars.next());
    let size: usize = chars.as_str().parse().map_err(|_| refuse())?;
    let little = order == Some('<') || (order == Some('|') && size == 1);
    match (little, kind, size) {
        (true, Some(kind @ ('u' | 'i')), 1 | 2 | 4 | 8) => Ok((kind == 'i', size)),
        _ => Err(refuse()),
    }
}

/// Decodes little-endian integers of `size` bytes, refusing values outside 0..=u32::MAX.
fn decode_ids(bytes: &[u8], signed: bool, size: usize) -> std::result::Result<Vec<u32>, String> {
    let shift = 64 - 8 * size as u32;
    bytes
        .chunks_exact(size)
        .enumerate()
        .map(|(index, chunk)| {
            let mut wide = [0u8; 8];
            wide[..size].copy_from_slice(chunk);
            let raw = u64::from_le_bytes(wide);
            let value = if signed {
                i128::from(((raw << shift) as i64) >> shift)
            } else {
                i128::from(raw)
            };
            u32::try_from(value).map_err(|_| {
                format!(
                    "value {value} at index {index} is not an id (0 to {})",
                    u32::MAX
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::npy_header;
    use super::*;

    /// A `.npy` file as numpy writes it: version 1.0 header for `descr` and `shape`, then data.
    fn npy(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
        let dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
        let pad = 63 - (10 + dict.len()) % 64;
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend(((dict.len() + pad + 1) as u16).to_le_bytes());
        out.extend(dict.as_bytes());
        out.extend(std::iter::repeat_n(b' ', pad));
        out.push(b'\n');
        out.extend(data);
        out
    }

    fn read(bytes: &[u8]) -> Result<Vec<u32>> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ids.npy");
        std::fs::write(&path, bytes).unwrap();
        read_npy_ids(&path)
    }

    #[test]
    fn reads_every_integer_dtype() {
        let i8s: Vec<u8> = [3i64, 0, 7].iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(read(&npy("<i8", "(3,)", &i8s)).unwrap(), [3, 0, 7]);
        assert_eq!(
            read(&npy("|u1", "(3,)", &[255, 0, 1])).unwrap(),
            [255, 0, 1]
        );
        assert_eq!(read(&npy("|i1", "(2, 1)", &[5, 9])).unwrap(), [5, 9]);
        let u2s: Vec<u8> = [65535u16, 2].iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(read(&npy("<u2", "(2,)", &u2s)).unwrap(), [65535, 2]);
        let i4s: Vec<u8> = [1i32, 2].iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(read(&npy("<i4", "(2,)", &i4s)).unwrap(), [1, 2]);
        let u8s = u64::from(u32::MAX).to_le_bytes();
        assert_eq!(read(&npy("<u8", "(1,)", &u8s)).unwrap(), [u32::MAX]);
        assert_eq!(read(&npy("<i2", "(0,)", &[])).unwrap(), Vec::<u32>::new());
        // The header this module's writer produces parses too.
        let mut own = npy_header("<u4", 2, 1).unwrap();
        own.extend([4, 0, 0, 0, 6, 0, 0, 0]);
        assert_eq!(read(&own).unwrap(), [4, 6]);
    }

    #[test]
    fn refusals_name_the_file_and_the_value() {
        let message = |bytes: Vec<u8>| read(&bytes).unwrap_err().to_string();
        let minus_one = (-1i16).to_le_bytes();
        let text = message(npy("<i2", "(1,)", &minus_one));
        assert!(text.contains("ids.npy"), "{text}");
        assert!(
            text.ends_with("value -1 at index 0 is not an id (0 to 4294967295)"),
            "{text}"
        );
        let big = (1u64 << 32).to_le_bytes();
        assert!(message(npy("<u8", "(1,)", &big)).contains("value 4294967296 at index 0"));
        let text = message(npy("<f4", "(1,)", &[0; 4]));
        assert!(
            text.ends_with("dtype `<f4` is not a little-endian integer (u1 u2 u4 u8 i1 i2 i4 i8)"),
            "{text}"
        );
        assert!(message(npy(">i4", "(1,)", &[0; 4])).contains("dtype `>i4`"));
        assert!(
            message(npy("<i4", "(2, 2)", &[0; 16])).contains("shape [2, 2] is not (N,) or (N, 1)")
        );
        let text = message(npy("<i4", "(3,)", &[0; 8]));
        assert!(text.ends_with("3 values of `<i4` need 12 data bytes but the file holds 8 after its 128-byte header"), "{text}");
    }
}
