//! The predictions CSV: `file,cluster,confidence,p0,…,p{C-1}`, one line per image (or the
//! lines `neighbours` formats), written to a temp file and renamed into place at the end (no
//! half-written file on failure).

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use scanflow::report::csv_field;

use super::PredictError;

/// Streams prediction lines into `<out>.tmp`, renamed to `out` by [`PredictionWriter::finish`].
pub struct PredictionWriter {
    out: PathBuf,
    temp: PathBuf,
    file: BufWriter<File>,
    clusters: Option<usize>,
    rows: usize,
}

impl PredictionWriter {
    /// Opens the temp file (creating `out`'s folder).
    pub fn create(out: &Path) -> Result<Self, PredictError> {
        let temp = out.with_extension("csv.tmp");
        let error = |source| PredictError::Write {
            path: out.to_path_buf(),
            source,
        };
        if let Some(folder) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(folder).map_err(error)?;
        }
        let file = File::create(&temp).map_err(error)?;
        Ok(PredictionWriter {
            out: out.to_path_buf(),
            temp,
            file: BufWriter::new(file),
            clusters: None,
            rows: 0,
        })
    }

    /// Writes one line per name; `probs` holds as many equal rows as there are names (C is
    /// fixed by the first call, and the header written then).
    pub fn write_rows(&mut self, names: &[String], probs: &[f32]) -> Result<(), PredictError> {
        let c = probs.len() / names.len().max(1);
        if *self.clusters.get_or_insert(c) != c {
            return Err(PredictError::BadOutput {
                values: probs.len(),
                images: names.len(),
            });
        }
        let mut text = String::new();
        for (name, row) in names.iter().zip(probs.chunks_exact(c)) {
            text.push_str(&line(name, row));
        }
        self.write_lines(&header(c), &text, names.len())
    }

    /// Writes `rows` finished lines, preceded by `header` when they are the first.
    pub fn write_lines(
        &mut self,
        header: &str,
        lines: &str,
        rows: usize,
    ) -> Result<(), PredictError> {
        if self.rows == 0 {
            self.file
                .write_all(header.as_bytes())
                .map_err(|e| self.error(e))?;
        }
        self.rows += rows;
        self.file
            .write_all(lines.as_bytes())
            .map_err(|e| self.error(e))
    }

    /// Flushes and renames the file into place; returns the rows written.
    pub fn finish(mut self) -> Result<usize, PredictError> {
        self.file.flush().map_err(|e| self.error(e))?;
        std::fs::rename(&self.temp, &self.out).map_err(|e| self.error(e))?;
        Ok(self.rows)
    }

    fn error(&self, source: std::io::Error) -> PredictError {
        PredictError::Write {
            path: self.out.clone(),
            source,
        }
    }
}

/// `file,cluster,confidence,p0,…,p{C-1}` and a newline.
pub fn header(clusters: usize) -> String {
    let mut out = String::from("file,cluster,confidence");
    for c in 0..clusters {
        let _ = write!(out, ",p{c}");
    }
    out.push('\n');
    out
}

/// One image's line: its name, most probable cluster (lowest id on ties), that probability
/// and every probability, to 6 decimals.
pub fn line(name: &str, probs: &[f32]) -> String {
    let (cluster, confidence) =
        probs
            .iter()
            .enumerate()
            .fold((0, f32::NEG_INFINITY), |best, (c, &p)| {
                if p > best.1 {
                    (c, p)
                } else {
                    best
                }
            });
    let mut out = format!("{},{cluster},{confidence:.6}", csv_field(name));
    for p in probs {
        let _ = write!(out, ",{p:.6}");
    }
    out.push('\n');
    out
}
