//! The `Images` source on bad data: a corrupt file stops the run naming it (the default),
//! or is left out, counted and listed when the graph says `on_error: Skip`.

mod common;

use std::path::Path;

use scanflow::runtime::ProgressMode;
use scanflow::{Graph, RunOptions};

fn folder_with_a_corrupt_jpeg(root: &Path) {
    for class in ["a", "b"] {
        std::fs::create_dir_all(root.join(class)).unwrap();
        for i in 0..3u8 {
            image::RgbImage::from_pixel(8, 8, image::Rgb([i * 50, 10, 10]))
                .save(root.join(class).join(format!("{i}.png")))
                .unwrap();
        }
    }
    std::fs::write(
        root.join("b/broken.jpg"),
        b"\xff\xd8\xff\xe0 this is not a jpeg",
    )
    .unwrap();
}

fn run(
    data: &Path,
    runs: &Path,
    on_error: &str,
    store: bool,
) -> Result<scanflow::RunReport, scanflow::RunFailure> {
    let text = format!(
        r#"Graph(name: "bad-data", nodes: {{
            "images": Images(source: Folder(path: "{}"), size: (8, 8), on_error: {on_error}, store: {store}),
            "stats": ChannelStats(input: "images"),
        }})"#,
        data.display()
    );
    let graph = Graph::from_source(
        scanflow::spec::SourceText::new("bad.ron", text),
        &common::registry(),
        &[],
    )
    .unwrap();
    let options = RunOptions {
        runs_dir: runs.to_path_buf(),
        progress: ProgressMode::Quiet,
        fresh: true,
        ..RunOptions::default()
    };
    scanflow::run(graph, &options)
}

#[test]
fn a_corrupt_image_stops_the_run_and_is_named() {
    let dir = tempfile::tempdir().unwrap();
    folder_with_a_corrupt_jpeg(&dir.path().join("data"));
    for store in [true, false] {
        let failure = run(
            &dir.path().join("data"),
            &dir.path().join("runs"),
            "Fail",
            store,
        )
        .unwrap_err();
        let message = failure.error.to_string();
        assert!(
            message.contains("node `images` (Images) failed"),
            "{message}"
        );
        assert!(message.contains("broken.jpg"), "{message}");
    }
}

#[test]
fn skip_leaves_corrupt_images_out_and_lists_them() {
    let dir = tempfile::tempdir().unwrap();
    folder_with_a_corrupt_jpeg(&dir.path().join("data"));
    for store in [true, false] {
        let report = run(
            &dir.path().join("data"),
            &dir.path().join("runs"),
            "Skip",
            store,
        )
        .unwrap();
        assert_eq!(
            report.node("images").unwrap().items_out,
            6,
            "store: {store}"
        );
        let listed =
            std::fs::read_to_string(dir.path().join("runs/bad-data/images/skipped.txt")).unwrap();
        assert_eq!(listed.lines().count(), 1, "{listed}");
        assert!(listed.contains("broken.jpg"), "{listed}");
    }
}
