//! `scanflow metrics` end to end: the real binary on CSV and hand-written `.npy` files in a
//! temp folder, its table, JSON and heat map, and exit code 2 on bad input.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

fn scanflow(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_scanflow"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A version-1.0 `.npy` file: magic, header length, the dict padded with spaces to a
/// multiple of 64 bytes ending in `\n`, then the raw little-endian data.
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

#[test]
fn scores_csv_predictions_against_npy_labels() {
    let dir = tempfile::tempdir().unwrap();
    // sklearn's example: labels [0,0,0,1,1,1], pred [0,0,1,1,2,2]. Hand-worked in
    // src/metrics/scores/tests.rs: ARI 8/33 = 0.2424, NMI (4/3) ln 2 / ln 6 = 0.5158,
    // ACC 4/6 = 0.6667 one-to-one, 5/6 = 0.8333 by majority.
    fs::write(
        dir.path().join("pred.csv"),
        "id,cluster\n0,0\n1,0\n2,1\n3,1\n4,2\n5,2\n",
    )
    .unwrap();
    let labels: Vec<u8> = [0i64, 0, 0, 1, 1, 1]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    fs::write(dir.path().join("labels.npy"), npy("<i8", "(6,)", &labels)).unwrap();
    let args = [
        "metrics",
        "--pred",
        "pred.csv:cluster",
        "--labels",
        "labels.npy",
    ];
    let out = scanflow(
        dir.path(),
        &[
            &args[..],
            &["--json", "out/m.json", "--heatmap", "out/c.png"],
        ]
        .concat(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    for line in [
        "samples 6, clusters 3, classes 2\n",
        "ACC (one-to-one)  0.6667\n",
        "ACC (majority)    0.8333\n",
        "NMI               0.5158\n",
        "ARI               0.2424\n",
        "      1     2  0.5000         0        -\n",
    ] {
        assert!(table.contains(line), "missing `{line}` in:\n{table}");
    }
    let json: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.path().join("out/m.json")).unwrap()).unwrap();
    assert!((json["ari"].as_f64().unwrap() - 8.0 / 33.0).abs() < 1e-12);
    assert_eq!(json["confusion"], serde_json::json!([[2, 1, 0], [0, 1, 2]]));
    assert_eq!(json["top5"], serde_json::Value::Null);
    // 2 classes × 3 clusters of 24 px with 1-px grid lines.
    let png = fs::read(dir.path().join("out/c.png")).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    let (width, height) = (
        u32::from_be_bytes(png[16..20].try_into().unwrap()),
        u32::from_be_bytes(png[20..24].try_into().unwrap()),
    );
    assert_eq!((width, height), (3 * 25 + 1, 2 * 25 + 1));
}

#[test]
fn top5_from_a_probability_matrix() {
    let dir = tempfile::tempdir().unwrap();
    // 6 clusters = 6 classes, cluster c is class (c + 1) % 6, and every sample's true
    // cluster is its most probable: ACC 1 and top-5 1.
    let labels: Vec<u32> = vec![0, 1, 2, 3, 4, 5, 0, 1];
    let pred: Vec<u32> = labels.iter().map(|&k| (k + 5) % 6).collect();
    let probs: Vec<u8> = pred
        .iter()
        .flat_map(|&c| (0..6u32).map(move |j| if j == c { 0.5f32 } else { 0.1 }))
        .flat_map(f32::to_le_bytes)
        .collect();
    let column = |ids: &[u32]| ids.iter().map(|v| format!("{v}\n")).collect::<String>();
    fs::write(dir.path().join("p.csv"), column(&pred)).unwrap();
    fs::write(dir.path().join("l.csv"), column(&labels)).unwrap();
    fs::write(dir.path().join("probs.npy"), npy("<f4", "(8, 6)", &probs)).unwrap();
    let out = scanflow(
        dir.path(),
        &[
            "metrics",
            "--pred",
            "p.csv",
            "--labels",
            "l.csv",
            "--probs",
            "probs.npy",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    assert!(table.contains("ACC (one-to-one)  1.0000\n"), "{table}");
    assert!(table.contains("top-5             1.0000\n"), "{table}");
}

#[test]
fn bad_input_exits_2_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("p.csv"), "0\n1\n1\n").unwrap();
    fs::write(dir.path().join("bad.csv"), "0\nseven\n1\n").unwrap();
    fs::write(dir.path().join("short.csv"), "0\n1\n").unwrap();
    fs::write(dir.path().join("one.csv"), "0\n0\n0\n").unwrap();
    let cases = [
        (
            ["p.csv", "bad.csv"],
            "error: `bad.csv` line 2: `seven` is not an id",
        ),
        (
            ["p.csv", "short.csv"],
            "error: `p.csv` holds 3 predictions but `short.csv` holds 2 labels",
        ),
        (
            ["one.csv", "p.csv"],
            "error: 1 cluster(s): scoring a clustering needs at least 2",
        ),
        (["p.csv", "nope.csv"], "error: cannot read `nope.csv`"),
        (
            ["p.csv", "p.csv:label"],
            "error: `p.csv` has no column `label` in its header",
        ),
    ];
    for ([pred, labels], message) in cases {
        let out = scanflow(dir.path(), &["metrics", "--pred", pred, "--labels", labels]);
        assert_eq!(out.status.code(), Some(2), "{pred} {labels}");
        let stderr = text(&out.stderr);
        assert!(stderr.starts_with(message), "{stderr}");
        assert!(out.stdout.is_empty());
    }
}
