//! Reading what a clustering is scored from: ids (cluster assignments or class labels) from a
//! CSV column (one integer a line, or `FILE:COLUMN` for a named column of a CSV whose first
//! line is a header; blank lines skipped; no quoted fields) or from a 1-D integer `.npy`, and
//! per-sample cluster probabilities from an (N, C) f32 `.npy`.

use std::path::{Path, PathBuf};

use super::MetricsError;
use crate::data::{read_npy_ids, read_npy_matrix};

/// Where a column of ids lives: a file, and a column name for CSV files with a header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnSpec {
    /// The CSV or `.npy` file.
    pub path: PathBuf,
    /// The header name of the column, for a CSV with several columns.
    pub column: Option<String>,
}

impl ColumnSpec {
    /// Parses `FILE` or `FILE:COLUMN`. A spec naming an existing file is a whole file even
    /// when it holds a `:`; otherwise the text after the last `:` is a column name.
    pub fn parse(spec: &str) -> Self {
        let whole = || Self {
            path: PathBuf::from(spec),
            column: None,
        };
        if Path::new(spec).exists() {
            return whole();
        }
        match spec.rsplit_once(':') {
            Some((file, column))
                if !file.is_empty() && !column.is_empty() && !column.contains(['/', '\\']) =>
            {
                Self {
                    path: PathBuf::from(file),
                    column: Some(column.to_string()),
                }
            }
            _ => whole(),
        }
    }

    /// Reads the ids: a `.npy` file by its header, anything else as CSV text.
    pub fn read(&self) -> Result<Vec<u32>, MetricsError> {
        let is_npy = self
            .path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("npy"));
        if !is_npy {
            let text = std::fs::read_to_string(&self.path).map_err(|source| MetricsError::Io {
                path: self.path.clone(),
                source,
            })?;
            return parse_csv(&self.path, &text, self.column.as_deref());
        }
        match &self.column {
            Some(column) => Err(MetricsError::ColumnOfNpy {
                path: self.path.clone(),
                column: column.clone(),
            }),
            None => Ok(read_npy_ids(&self.path)?),
        }
    }
}

/// Reads predictions and labels, refusing empty files and files of different lengths (the
/// error names both files).
pub fn read_pair(
    pred: &ColumnSpec,
    labels: &ColumnSpec,
) -> Result<(Vec<u32>, Vec<u32>), MetricsError> {
    let (pred_ids, label_ids) = (read_nonempty(pred)?, read_nonempty(labels)?);
    if pred_ids.len() != label_ids.len() {
        return Err(MetricsError::FilesDisagree {
            pred: pred.path.clone(),
            pred_len: pred_ids.len(),
            labels: labels.path.clone(),
            labels_len: label_ids.len(),
        });
    }
    Ok((pred_ids, label_ids))
}

/// The ids of a file that holds at least one.
fn read_nonempty(spec: &ColumnSpec) -> Result<Vec<u32>, MetricsError> {
    let ids = spec.read()?;
    if ids.is_empty() {
        return Err(MetricsError::EmptyFile {
            path: spec.path.clone(),
        });
    }
    Ok(ids)
}

/// Reads an (N, C) f32/f16 `.npy` of cluster probabilities; returns the values and C. N must
/// be `samples`, and C the declared number of clusters when there is one.
pub fn read_probs(
    path: &Path,
    samples: usize,
    clusters: Option<usize>,
) -> Result<(Vec<f32>, usize), MetricsError> {
    let matrix = read_npy_matrix(path)?;
    if matrix.rows != samples || clusters.is_some_and(|c| c != matrix.cols) {
        return Err(MetricsError::ProbsShape {
            path: path.to_path_buf(),
            rows: matrix.rows,
            cols: matrix.cols,
            samples,
            clusters,
        });
    }
    Ok((matrix.data, matrix.cols))
}

/// Parses CSV text: every non-blank line one id, or with `column`, the first non-blank line
/// a header and that field of each later line.
fn parse_csv(path: &Path, text: &str, column: Option<&str>) -> Result<Vec<u32>, MetricsError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, line)| (i + 1, line.trim()))
        .filter(|(_, line)| !line.is_empty());
    let field = match column {
        Some(name) => Some(header_index(path, lines.next().map(|(_, l)| l), name)?),
        None => None,
    };
    lines
        .map(|(line, text)| {
            parse_line(text, field, column).map_err(|message| MetricsError::Line {
                path: path.to_path_buf(),
                line,
                message,
            })
        })
        .collect()
}

/// The position of `name` in the header line.
fn header_index(path: &Path, header: Option<&str>, name: &str) -> Result<usize, MetricsError> {
    let available: Vec<String> = header
        .unwrap_or("")
        .split(',')
        .map(|f| unquote(f).to_string())
        .filter(|f| !f.is_empty())
        .collect();
    available
        .iter()
        .position(|f| f == name)
        .ok_or_else(|| MetricsError::NoColumn {
            path: path.to_path_buf(),
            column: name.to_string(),
            available,
        })
}

/// The id on one line: its only field, or field `field` of the named `column`.
fn parse_line(text: &str, field: Option<usize>, column: Option<&str>) -> Result<u32, String> {
    let fields: Vec<&str> = text.split(',').collect();
    let value = match (field, column) {
        (Some(i), Some(name)) => *fields.get(i).ok_or_else(|| {
            format!(
                "{} fields, but column `{name}` is field {}",
                fields.len(),
                i + 1
            )
        })?,
        _ if fields.len() > 1 => {
            return Err(format!(
                "{} comma-separated fields; name the column as FILE:COLUMN",
                fields.len()
            ))
        }
        _ => text,
    };
    let value = unquote(value);
    value.parse().map_err(|_| {
        let hint = if column.is_none() && !value.contains(|c: char| c.is_ascii_digit()) {
            " (for a CSV with a header, name the column as FILE:COLUMN)"
        } else {
            ""
        };
        format!(
            "`{value}` is not an id (an integer from 0 to {}){hint}",
            u32::MAX
        )
    })
}

/// A field without surrounding spaces and double quotes.
fn unquote(field: &str) -> &str {
    let field = field.trim();
    field
        .strip_prefix('"')
        .and_then(|f| f.strip_suffix('"'))
        .unwrap_or(field)
        .trim()
}

#[cfg(test)]
mod tests;
