//! Golden tests of validation messages: every `tests/graphs/bad/*.ron` is checked with the
//! real binary (`scanflow check`), and its stderr must equal `*.stderr` beside it.
//! Regenerate the golden files with `UPDATE_GOLDEN=1 cargo test --test validation` and
//! review the diff.

use std::path::{Path, PathBuf};
use std::process::Command;

fn bad_graphs() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/graphs/bad");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "ron"))
        .collect();
    files.sort();
    files
}

/// Runs `scanflow check` from the crate root, so paths print as `tests/graphs/bad/x.ron`.
fn check(graph: &Path) -> (Option<i32>, String) {
    let relative = graph.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_scanflow"))
        .arg("check")
        .arg(relative)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

fn diff(expected: &str, actual: &str) -> String {
    let mut out = String::new();
    let (e, a): (Vec<_>, Vec<_>) = (expected.lines().collect(), actual.lines().collect());
    for i in 0..e.len().max(a.len()) {
        match (e.get(i), a.get(i)) {
            (Some(x), Some(y)) if x == y => out.push_str(&format!("  {x}\n")),
            (x, y) => {
                if let Some(x) = x {
                    out.push_str(&format!("- {x}\n"));
                }
                if let Some(y) = y {
                    out.push_str(&format!("+ {y}\n"));
                }
            }
        }
    }
    out
}

#[test]
fn bad_graphs_fail_with_their_golden_messages() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut failures = Vec::new();
    let graphs = bad_graphs();
    assert!(
        graphs.len() >= 12,
        "expected the bad-graph corpus, found {}",
        graphs.len()
    );
    for graph in graphs {
        let (code, stderr) = check(&graph);
        let golden = graph.with_extension("stderr");
        if update {
            std::fs::write(&golden, &stderr).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&golden).unwrap_or_default();
        if code != Some(2) {
            failures.push(format!(
                "{}: exit code {code:?}, expected 2",
                graph.display()
            ));
        }
        if stderr != expected {
            failures.push(format!(
                "{}:\n{}",
                graph.display(),
                diff(&expected, &stderr)
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn every_golden_message_names_file_line_and_column() {
    for graph in bad_graphs() {
        let (_, stderr) = check(&graph);
        let name = graph.file_name().unwrap().to_string_lossy().into_owned();
        for line in stderr.lines().filter(|l| l.starts_with("error:")) {
            let located = line.contains(&format!("{name}:"));
            assert!(
                located,
                "{name}: error without a file:line:col location: {line}"
            );
        }
    }
}
