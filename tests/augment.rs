//! The augmentation path end to end: `Images` (packed store, epochs, shuffling) →
//! `Augment` → views, deterministic whatever the worker count, with normalisation that can
//! come from measured statistics.

mod common;

use std::path::Path;

use scanflow::data::ViewBatch;
use scanflow::runtime::ProgressMode;
use scanflow::{Graph, RunOptions, RunReport};

/// 2 classes × 6 generated 16×16 PNGs with varied pixels.
fn make_folder(root: &Path) {
    for (c, class) in ["a", "b"].iter().enumerate() {
        std::fs::create_dir_all(root.join(class)).unwrap();
        for i in 0..6u32 {
            let image = image::RgbImage::from_fn(16, 16, |x, y| {
                image::Rgb([
                    (x * 16) as u8,
                    (y * 16) as u8,
                    (i * 40 + c as u32 * 20) as u8,
                ])
            });
            image
                .save(root.join(class).join(format!("{i}.png")))
                .unwrap();
        }
    }
}

fn run(text: &str, runs: &Path, collect: &[&str]) -> RunReport {
    let source = scanflow::spec::SourceText::new("augment.ron", text);
    let graph = Graph::from_source(source, &common::registry(), &[]).unwrap();
    let options = RunOptions {
        runs_dir: runs.to_path_buf(),
        progress: ProgressMode::Quiet,
        fresh: true,
        collect: collect.iter().map(|s| s.to_string()).collect(),
        ..RunOptions::default()
    };
    scanflow::run(graph, &options).unwrap()
}

fn views(report: &RunReport, id: &str) -> Vec<ViewBatch> {
    report
        .outputs(id)
        .iter()
        .map(|p| ViewBatch::clone(p.as_views().unwrap()))
        .collect()
}

fn graph(data: &Path, workers: usize) -> String {
    format!(
        r#"Graph(name: "aug", seed: 3, nodes: {{
            "images": Images(source: Folder(path: "{}"), batch: 5, epochs: 2, order: Shuffled),
            "views": Augment(input: "images", views: 2, recipe: SimClr(size: (8, 8)), workers: {workers}),
            "grid": ViewGrid(input: "views", images: 4),
        }})"#,
        data.display()
    )
}

#[test]
fn views_are_identical_whatever_the_worker_count() {
    let dir = tempfile::tempdir().unwrap();
    make_folder(&dir.path().join("data"));
    let one = views(
        &run(
            &graph(&dir.path().join("data"), 1),
            &dir.path().join("r1"),
            &["views"],
        ),
        "views",
    );
    let two = views(
        &run(
            &graph(&dir.path().join("data"), 2),
            &dir.path().join("r2"),
            &["views"],
        ),
        "views",
    );
    assert_eq!(one, two);
    let total: usize = one.iter().map(|b| b.batch).sum();
    assert_eq!(total, 24, "12 images × 2 epochs");
    let first = &one[0];
    assert_eq!(
        (first.views, first.channels, first.width, first.height),
        (2, 3, 8, 8)
    );
    assert_eq!(first.data.len(), 2 * first.batch * 3 * 64);
    assert!(one.iter().any(|b| b.epoch == 1));
    let epoch0: Vec<u64> = one
        .iter()
        .filter(|b| b.epoch == 0)
        .flat_map(|b| b.indices.clone())
        .collect();
    let epoch1: Vec<u64> = one
        .iter()
        .filter(|b| b.epoch == 1)
        .flat_map(|b| b.indices.clone())
        .collect();
    assert_ne!(epoch0, epoch1, "each epoch draws its own permutation");
    let mut sorted = epoch0.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..12).collect::<Vec<u64>>());
}

#[test]
fn normalisation_can_come_from_measured_statistics() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    make_folder(&data);
    let text = format!(
        r#"Graph(name: "norm", nodes: {{
            "measure": Images(source: Folder(path: "{0}")),
            "stats": ChannelStats(input: "measure"),
            "images": Images(source: Folder(path: "{0}"), batch: 12),
            "views": Augment(input: "images", views: 1, normalize_from: "stats",
                             recipe: Custom([Normalize(mean: (0.0, 0.0, 0.0), std: (1.0, 1.0, 1.0))])),
        }})"#,
        data.display()
    );
    let report = run(&text, &dir.path().join("runs"), &["views"]);
    let batch = &views(&report, "views")[0];
    let plane = 16 * 16;
    for channel in 0..3 {
        let values: Vec<f32> = (0..batch.batch)
            .flat_map(|i| batch.view(0, i)[channel * plane..(channel + 1) * plane].to_vec())
            .collect();
        let mean = values.iter().sum::<f32>() / values.len() as f32;
        let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / values.len() as f32;
        assert!(mean.abs() < 1e-3, "channel {channel}: mean {mean}");
        assert!(
            (var.sqrt() - 1.0).abs() < 1e-2,
            "channel {channel}: std {}",
            var.sqrt()
        );
    }
}

#[test]
fn the_store_is_packed_once_and_shared() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    make_folder(&data);
    let runs = dir.path().join("runs");
    run(&graph(&data, 2), &runs, &[]);
    let stores: Vec<_> = std::fs::read_dir(runs.join(".shared/stores"))
        .unwrap()
        .collect();
    assert_eq!(stores.len(), 1);
    let packed = stores[0].as_ref().unwrap().path();
    let modified = std::fs::metadata(&packed).unwrap().modified().unwrap();
    run(&graph(&data, 2), &runs, &[]);
    assert_eq!(
        std::fs::metadata(&packed).unwrap().modified().unwrap(),
        modified,
        "reused, not rebuilt"
    );
    let grid = image::open(runs.join("aug/grid/views.png")).unwrap();
    assert_eq!((grid.width(), grid.height()), (2 * 16 + 6, 4 * 16 + 10));
}
