//! Reading id columns from CSV and `.npy` files, and the errors that name file and line.

use std::fs;

use super::*;

/// Writes `text` to `name` in a fresh temp folder.
fn file(name: &str, bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    fs::write(&path, bytes).unwrap();
    (dir, path)
}

fn spec(path: &Path, column: Option<&str>) -> ColumnSpec {
    ColumnSpec {
        path: path.to_path_buf(),
        column: column.map(str::to_string),
    }
}

#[test]
fn parses_file_and_column_specs() {
    let (_dir, path) = file("a:b.csv", b"1\n");
    let existing = path.to_str().unwrap();
    assert_eq!(ColumnSpec::parse(existing), spec(&path, None));
    assert_eq!(
        ColumnSpec::parse("out/pred.csv:cluster"),
        spec(Path::new("out/pred.csv"), Some("cluster"))
    );
    assert_eq!(
        ColumnSpec::parse("pred.csv"),
        spec(Path::new("pred.csv"), None)
    );
    assert_eq!(
        ColumnSpec::parse("C:/x/p.csv"),
        spec(Path::new("C:/x/p.csv"), None)
    );
    assert_eq!(ColumnSpec::parse("p.csv:"), spec(Path::new("p.csv:"), None));
}

#[test]
fn reads_one_id_a_line() {
    let (_dir, path) = file("p.csv", "\u{feff}3\n\n 0 \r\n\"7\"\n\n".as_bytes());
    assert_eq!(spec(&path, None).read().unwrap(), [3, 0, 7]);
}

#[test]
fn reads_a_named_column() {
    let text = "\nid, \"label\" ,score\n0,4,0.5\n\n1, 2 ,0.25\n";
    let (_dir, path) = file("l.csv", text.as_bytes());
    assert_eq!(spec(&path, Some("label")).read().unwrap(), [4, 2]);
    let err = spec(&path, Some("lable")).read().unwrap_err().to_string();
    let shown = path.display();
    assert_eq!(
        err,
        format!("`{shown}` has no column `lable` in its header (columns: id, label, score)")
    );
    assert_eq!(spec(&path, Some("id")).read().unwrap(), [0, 1]);
}

#[test]
fn bad_lines_name_file_and_line() {
    let (_dir, path) = file("p.csv", b"pred\n1\n");
    let shown = path.display().to_string();
    let err = spec(&path, None).read().unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "`{shown}` line 1: `pred` is not an id (an integer from 0 to 4294967295) (for a \
             CSV with a header, name the column as FILE:COLUMN)"
        )
    );
    fs::write(&path, b"1\n\n-1\n").unwrap();
    let err = spec(&path, None).read().unwrap_err().to_string();
    assert_eq!(
        err,
        format!("`{shown}` line 3: `-1` is not an id (an integer from 0 to 4294967295)")
    );
    fs::write(&path, b"1,2\n").unwrap();
    let err = spec(&path, None).read().unwrap_err().to_string();
    assert_eq!(
        err,
        format!("`{shown}` line 1: 2 comma-separated fields; name the column as FILE:COLUMN")
    );
    fs::write(&path, b"a,b\n1,2\n3\n").unwrap();
    let err = spec(&path, Some("b")).read().unwrap_err().to_string();
    assert_eq!(
        err,
        format!("`{shown}` line 3: 1 fields, but column `b` is field 2")
    );
    let missing = spec(&path.with_file_name("missing.csv"), None)
        .read()
        .unwrap_err();
    assert!(matches!(missing, MetricsError::Io { .. }));
    assert!(missing.to_string().contains("missing.csv"));
}

#[test]
fn npy_files_are_read_by_header_and_have_no_columns() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.npy");
    crate::data::write_npy_u32(&path, 3, 1, &[2, 0, 1]).unwrap();
    assert_eq!(spec(&path, None).read().unwrap(), [2, 0, 1]);
    let err = spec(&path, Some("x")).read().unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "`{}` is a .npy array: it has no named columns (drop `:x`)",
            path.display()
        )
    );
}

#[test]
fn pairs_must_be_nonempty_and_equally_long() {
    let (_dir, pred) = file("p.csv", b"0\n1\n1\n");
    let labels = pred.with_file_name("l.csv");
    fs::write(&labels, b"0\n1\n").unwrap();
    let err = read_pair(&spec(&pred, None), &spec(&labels, None)).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "`{}` holds 3 predictions but `{}` holds 2 labels: they must pair up one to one",
            pred.display(),
            labels.display()
        )
    );
    fs::write(&labels, b"\n\n").unwrap();
    let err = read_pair(&spec(&pred, None), &spec(&labels, None)).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("`{}` holds no values", labels.display())
    );
    fs::write(&labels, b"1\n0\n0\n").unwrap();
    let (p, l) = read_pair(&spec(&pred, None), &spec(&labels, None)).unwrap();
    assert_eq!((p, l), (vec![0, 1, 1], vec![1, 0, 0]));
}

#[test]
fn probabilities_need_one_row_per_sample() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("probs.npy");
    crate::data::write_npy_f32(&path, 2, 3, &[0.1, 0.2, 0.7, 0.3, 0.3, 0.4]).unwrap();
    let (values, cols) = read_probs(&path, 2, None).unwrap();
    assert_eq!((values.len(), cols), (6, 3));
    let err = read_probs(&path, 4, Some(3)).unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "`{}` holds a (2, 3) matrix of probabilities; expected (4, C) with C the number \
             of clusters (3)",
            path.display()
        )
    );
    assert!(read_probs(&path, 2, Some(5)).is_err());
}
