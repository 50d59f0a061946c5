//! `scanflow predict` through the binary: a run folder without a model, and one holding a
//! model that is not a cluster model, exit with code 2 and a message naming the folder.

use std::fs;
use std::process::Command;

#[test]
fn predict_refuses_folders_without_a_cluster_model() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("runs/g/pretext");
    fs::create_dir_all(&run).unwrap();
    let predict = || {
        Command::new(env!("CARGO_BIN_EXE_scanflow"))
            .args(["predict", "--run", "runs/g/pretext", "--images", "new"])
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    let out = predict();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: `runs/g/pretext` has no model.json: --run takes the run folder of a node that \
         trained a cluster model, runs/<graph>/<node> (a node of kind Scan or SelfLabel)\n"
    );
    let model = r#"{"weights": "w.safetensors", "architecture": {}, "producer": "SimClr"}"#;
    fs::write(run.join("model.json"), model).unwrap();
    let out = predict();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: `runs/g/pretext` holds a SimClr model, not a cluster model: predict needs the \
         run folder of a node of kind Scan or SelfLabel\n"
    );
    assert!(!dir.path().join("predictions.csv").exists());
}
