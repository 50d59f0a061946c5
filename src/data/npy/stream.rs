//! Writing an f32 `.npy` matrix row batch by row batch, so a producer never holds the whole
//! matrix: the header reserves room for the row count (numpy's growth padding), rows are
//! appended to a temporary file, and [`NpyRowWriter::finish`] rewrites the header with the
//! final count and renames the file into place.

use std::fs::File;
use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::npy_header;

/// An `.npy` file being written row batch by row batch.
pub struct NpyRowWriter {
    file: BufWriter<File>,
    temp: PathBuf,
    path: PathBuf,
    cols: usize,
    rows: usize,
}

impl NpyRowWriter {
    /// Starts `path` (written as `<path>.partial` until finished) for rows of `cols` values.
    pub fn create(path: &Path, cols: usize) -> io::Result<Self> {
        let temp = path.with_extension("npy.partial");
        let mut file = BufWriter::new(File::create(&temp)?);
        file.write_all(&npy_header("<f4", 0, cols)?)?;
        Ok(NpyRowWriter {
            file,
            temp,
            path: path.to_path_buf(),
            cols,
            rows: 0,
        })
    }

    /// Appends whole rows (`values.len()` must be a multiple of the row length).
    pub fn push(&mut self, values: &[f32]) -> io::Result<()> {
        if !values.len().is_multiple_of(self.cols.max(1)) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{} values are not whole rows of {}",
                    values.len(),
                    self.cols
                ),
            ));
        }
        for value in values {
            self.file.write_all(&value.to_le_bytes())?;
        }
        self.rows += values.len() / self.cols.max(1);
        Ok(())
    }

    /// Rows written so far.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Writes the final header, syncs and moves the file into place.
    pub fn finish(mut self) -> io::Result<PathBuf> {
        let header = npy_header("<f4", self.rows, self.cols)?;
        self.file.seek(SeekFrom::Start(0))?;
        self.file.write_all(&header)?;
        let file = self.file.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&self.temp, &self.path)?;
        Ok(self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::npy::read_npy_matrix;

    #[test]
    fn rows_written_in_batches_read_back_as_one_matrix() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("features.npy");
        let mut writer = NpyRowWriter::create(&path, 2).unwrap();
        writer.push(&[1.0, 2.0, 3.0, 4.0]).unwrap();
        writer.push(&[5.0, 6.0]).unwrap();
        assert!(writer.push(&[7.0]).is_err());
        assert!(!path.exists(), "nothing appears before finish");
        writer.finish().unwrap();
        let matrix = read_npy_matrix(&path).unwrap();
        assert_eq!((matrix.rows, matrix.cols), (3, 2));
        assert_eq!(matrix.data, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    }
}
