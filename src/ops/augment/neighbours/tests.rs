//! Neighbour views: validation of `views`/`pick`, row ↔ dataset-index maps, and the
//! determinism of random draws.

use std::sync::Arc;

use super::*;

/// 4 points, k = 2; row r's neighbours are r+1 and r+2 (mod 4).
fn table(ids: Option<Vec<u64>>) -> Arc<NeighbourTable> {
    Arc::new(NeighbourTable {
        k: 2,
        indices: vec![1, 2, 2, 3, 3, 0, 0, 1],
        similarities: vec![0.0; 8],
        labels: None,
        ids,
    })
}

fn batch(indices: Vec<u64>, epoch_size: u64) -> ImageBatch {
    let n = indices.len();
    let mut b = ImageBatch::new(
        1,
        1,
        3,
        vec![0; 3 * n],
        indices,
        None,
        Arc::from(Vec::new()),
    )
    .unwrap();
    b.epoch_size = epoch_size;
    b
}

#[test]
fn views_must_fit_the_pick() {
    let err = |pick, views| NeighbourViews::new(table(None), pick, views, "n").err();
    assert!(err(Pick::All, 3).is_none());
    assert!(err(Pick::All, 2).unwrap().to_string().contains("views: 3"));
    assert!(err(Pick::Random { top: 3 }, 2).is_some(), "top above k");
    assert!(
        err(Pick::Random { top: 2 }, 1).is_some(),
        "no neighbour view"
    );
    assert!(err(Pick::Random { top: 2 }, 4).is_none());
}

#[test]
fn all_maps_rows_through_the_ids() {
    // Rows hold dataset images 10, 20, 30, 40: image 30 is row 2, whose neighbours are rows
    // 3 and 0, i.e. images 40 and 10.
    let views = NeighbourViews::new(table(Some(vec![10, 20, 30, 40])), Pick::All, 3, "n").unwrap();
    let b = batch(vec![30], 4);
    assert_eq!(views.source(&b, 1, 0, 7).unwrap(), 40);
    assert_eq!(views.source(&b, 2, 0, 7).unwrap(), 10);
    assert!(
        views.source(&batch(vec![5], 4), 1, 0, 7).is_err(),
        "5 has no row"
    );
}

#[test]
fn random_draws_stay_in_the_top_and_repeat() {
    let views = NeighbourViews::new(table(None), Pick::Random { top: 1 }, 2, "n").unwrap();
    // top 1: always the nearest, row r + 1.
    let b = batch(vec![0, 1, 2, 3], 4);
    let picked: Vec<usize> = (0..4).map(|i| views.source(&b, 1, i, 9).unwrap()).collect();
    assert_eq!(picked, vec![1, 2, 3, 0]);
    let views = NeighbourViews::new(table(None), Pick::Random { top: 2 }, 5, "n").unwrap();
    let draws = |seed| -> Vec<usize> {
        (1..5)
            .map(|v| views.source(&b, v, 2, seed).unwrap())
            .collect()
    };
    assert_eq!(draws(3), draws(3));
    assert!(draws(3).iter().all(|&i| i == 3 || i == 0));
}

#[test]
fn a_table_of_other_images_is_refused() {
    let views = NeighbourViews::new(table(None), Pick::All, 3, "pairs").unwrap();
    let message = views
        .check_size(&batch(vec![0], 5), "pairs")
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("`pairs`") && message.contains("4 images"),
        "{message}"
    );
    assert!(views.check_size(&batch(vec![0], 4), "pairs").is_ok());
}
