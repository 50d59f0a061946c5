//! Unit tests of the `Evaluate` pieces: row checks, collection, prototype selection,
//! CSV lines and the unscored report. Expected values are worked out by hand in comments.

use std::sync::Arc;

use serde_json::json;

use super::collect::{assign, Collected};
use super::error::{EvaluateError, RowProblem};
use super::files::{assignment_line, unscored_document, unscored_notes, unscored_table};
use super::prototypes::Prototypes;
use super::status_line;
use crate::data::{FeatureBatch, ImageBatch};

fn features(indices: &[u64], rows: &[&[f32]], labels: Option<Vec<u32>>) -> FeatureBatch {
    FeatureBatch {
        dim: rows.first().map_or(0, |r| r.len()),
        data: rows.concat(),
        indices: indices.to_vec(),
        labels,
        names: None,
    }
}

/// 1×1 RGB images whose red channel is their dataset index.
fn images(indices: &[u64]) -> ImageBatch {
    let pixels = indices.iter().flat_map(|&i| [i as u8, 0, 0]).collect();
    let classes: Arc<[String]> = Arc::from(vec!["cat".to_string(), "dog".to_string()]);
    ImageBatch::new(1, 1, 3, pixels, indices.to_vec(), None, classes).unwrap()
}

#[test]
fn rows_must_be_distributions() {
    assert_eq!(assign(&[0.2, 0.5, 0.3]), Ok((1, 0.5)));
    // Ties go to the lowest cluster id; a sum of 1.0009 is inside the 1e-3 tolerance.
    assert_eq!(assign(&[0.5, 0.5009]).map(|a| a.0), Ok(1));
    assert_eq!(assign(&[0.5, 0.5]), Ok((0, 0.5)));
    let nan = assign(&[0.5, f32::NAN]).unwrap_err();
    assert_eq!(nan.to_string(), "column 1 is NaN");
    let infinite = assign(&[f32::INFINITY, 0.0]).unwrap_err();
    assert_eq!(infinite.to_string(), "column 0 is inf");
    assert_eq!(
        assign(&[1.5, -0.5]),
        Err(RowProblem::Negative {
            column: 1,
            value: -0.5
        })
    );
    let logits = assign(&[2.0, 1.0]).unwrap_err();
    assert_eq!(
        logits.to_string(),
        "its values sum to 3, not 1 (±0.001); were logits sent instead of softmax probabilities?"
    );
}

#[test]
fn bad_row_names_its_position_and_index() {
    let mut collected = Collected::new();
    collected
        .push(&features(&[7, 8], &[&[0.9, 0.1], &[0.4, 0.6]], None))
        .unwrap();
    let err = collected
        .push(&features(&[3], &[&[0.9, 0.9]], None))
        .unwrap_err();
    assert!(
        err.to_string().starts_with(
            "row 2 (dataset index 3) of `input` is not a probability distribution: its values \
             sum to 1.8"
        ),
        "{err}"
    );
}

#[test]
fn collection_checks_shapes_indices_and_labels() {
    let mut collected = Collected::new();
    let first = features(&[5, 2], &[&[0.1, 0.9], &[0.7, 0.3]], Some(vec![1, 0]));
    collected.push(&first).unwrap();
    assert_eq!(collected.get(5), Some((1, 0.9)));
    assert_eq!(collected.get(9), None);
    assert_eq!(collected.labels(), Some(&[1, 0][..]));
    assert_eq!(collected.by_index(), vec![1, 0]);
    assert_eq!(collected.sizes(), vec![1, 1]);
    let wider = features(&[6], &[&[0.2, 0.3, 0.5]], None);
    assert!(matches!(
        collected.push(&wider),
        Err(EvaluateError::ClustersChanged {
            expected: 2,
            found: 3,
            index: 6
        })
    ));
    let again = features(&[2], &[&[0.5, 0.5]], Some(vec![0]));
    assert!(matches!(
        collected.push(&again),
        Err(EvaluateError::DuplicateIndex { index: 2 })
    ));
    // A batch without labels makes the whole collection unlabelled.
    collected
        .push(&features(&[11], &[&[1.0, 0.0]], None))
        .unwrap();
    assert_eq!(collected.labels(), None);
    let mut one = Collected::new();
    assert!(matches!(
        one.push(&features(&[0], &[&[1.0]], None)),
        Err(EvaluateError::TooFewClusters { found: 1 })
    ));
    let ragged = FeatureBatch {
        dim: 2,
        data: vec![0.5; 3],
        indices: vec![0, 1],
        labels: None,
        names: None,
    };
    assert!(matches!(
        one.push(&ragged),
        Err(EvaluateError::RaggedBatch { .. })
    ));
}

/// Ten images, index i in cluster i % 2 with confidence 0.5 + i/100 (ties for 4 and 14).
fn ten_rows() -> Collected {
    let rows: Vec<Vec<f32>> = (0..10u64)
        .map(|i| {
            let p = 0.5 + i as f32 / 100.0;
            if i % 2 == 0 {
                vec![p, 1.0 - p]
            } else {
                vec![1.0 - p, p]
            }
        })
        .collect();
    let mut rows: Vec<Vec<f32>> = rows;
    rows.push(vec![0.54, 0.46]);
    let views: Vec<&[f32]> = rows.iter().map(Vec::as_slice).collect();
    let indices: Vec<u64> = (0..10).chain([14]).collect();
    let mut collected = Collected::new();
    collected.push(&features(&indices, &views, None)).unwrap();
    collected
}

#[test]
fn prototypes_are_the_most_confident_whatever_the_order() {
    let collected = ten_rows();
    // Cluster 0: 8 (0.58), 6 (0.56), then 4 and 14 tie at 0.54: the lower index wins.
    // Cluster 1: 9, 7, 5.
    for order in [
        vec![0u64, 1, 2, 3, 4, 5, 6, 7, 8, 9, 14],
        vec![14, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
    ] {
        let mut prototypes = Prototypes::new(3);
        for chunk in order.chunks(4) {
            prototypes.offer(&images(chunk), &collected, false).unwrap();
        }
        let members = prototypes.members(3);
        let ids: Vec<Vec<u64>> = members
            .iter()
            .map(|row| row.iter().map(|m| m.index).collect())
            .collect();
        assert_eq!(
            ids,
            vec![vec![8, 6, 4], vec![9, 7, 5], vec![]],
            "order {order:?}"
        );
        assert_eq!(members[0][0].pixels, vec![8, 0, 0]);
    }
}

#[test]
fn images_wait_for_their_probabilities_until_input_ends() {
    let mut prototypes = Prototypes::new(2);
    let empty = Collected::new();
    prototypes.offer(&images(&[3, 4]), &empty, false).unwrap();
    let collected = ten_rows();
    prototypes.settle(&[3], &collected);
    prototypes.close();
    prototypes.offer(&images(&[5]), &empty, true).unwrap();
    let ids: Vec<Vec<u64>> = prototypes
        .members(2)
        .iter()
        .map(|row| row.iter().map(|m| m.index).collect())
        .collect();
    // 3 was settled; 4 was still waiting at close and 5 came after it: both dropped.
    assert_eq!(ids, vec![vec![], vec![3]]);
    assert_eq!(prototypes.received(), 3);
    assert_eq!(prototypes.classes(), ["cat", "dog"]);
}

#[test]
fn grid_has_a_row_per_cluster_and_blank_cells() {
    let collected = ten_rows();
    let mut prototypes = Prototypes::new(2);
    prototypes
        .offer(&images(&[1, 2, 4]), &collected, false)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("prototypes.png");
    assert!(prototypes.write_png(&path, 3, 2).unwrap());
    let image = image::open(&path).unwrap().to_rgb8();
    // 2 columns and 3 rows of 2×2-px tiles (1×1 scaled by 2) with 2-px padding.
    assert_eq!(image.dimensions(), (2 * 2 + 3 * 2, 3 * 2 + 4 * 2));
    // Row 0: index 4 then 2; row 1: index 1 then a blank cell; row 2 all blank.
    assert_eq!(image.get_pixel(2, 2).0, [4, 0, 0]);
    assert_eq!(image.get_pixel(6, 2).0, [2, 0, 0]);
    assert_eq!(image.get_pixel(2, 6).0, [1, 0, 0]);
    assert_eq!(image.get_pixel(6, 6).0, crate::report::BACKGROUND);
    assert_eq!(image.get_pixel(2, 10).0, crate::report::BACKGROUND);
    assert!(!Prototypes::new(2).write_png(&path, 3, 2).unwrap());
}

#[test]
fn images_of_another_size_are_refused() {
    let collected = ten_rows();
    let mut prototypes = Prototypes::new(2);
    prototypes.offer(&images(&[1]), &collected, false).unwrap();
    let big = ImageBatch::new(2, 1, 3, vec![0; 6], vec![2], None, Arc::from(Vec::new())).unwrap();
    let err = prototypes.offer(&big, &collected, false).unwrap_err();
    assert_eq!(
        err.to_string(),
        "image 2 on `images` is (1, 2, 3) (width, height, channels), the first was (1, 1, 3): \
         the prototype grid needs images of one size"
    );
}

#[test]
fn assignment_lines() {
    let classes = ["cat".to_string(), "big, red dog".to_string()];
    assert_eq!(
        assignment_line(12, "a/b,c.jpg", 3, 0.25, Some(1), &classes),
        "12,\"a/b,c.jpg\",3,0.250000,1,\"big, red dog\""
    );
    assert_eq!(
        assignment_line(4, "4", 0, 1.0, None, &classes),
        "4,4,0,1.000000,,"
    );
    assert_eq!(
        assignment_line(4, "4", 0, 1.0, Some(0), &[]),
        "4,4,0,1.000000,0,"
    );
}

#[test]
fn unscored_report_lists_sizes_and_empty_clusters() {
    let sizes = [3, 0, 2];
    let notes = unscored_notes(&sizes);
    let document = unscored_document(&sizes, &notes);
    assert_eq!(document["samples"], json!(5));
    assert_eq!(document["labelled"], json!(false));
    assert_eq!(document["empty_clusters"], json!([1]));
    assert_eq!(
        document["per_cluster"][1],
        json!({"cluster": 1, "size": 0, "purity": null, "majority_class": null, "matched_class": null})
    );
    let expected = "\
samples 5, clusters 3

cluster  size
      0     3
      1     0
      2     2

note: labels missing: ACC, NMI, ARI, top-5 and the confusion matrix skipped (assignments and prototypes are still written)
note: empty clusters (size 0): 1
";
    assert_eq!(unscored_table(&sizes, &notes), expected);
    assert_eq!(
        status_line(&document),
        "no labels: metrics skipped (5 samples, 3 clusters, 1 empty; table in summary.txt)"
    );
}

#[test]
fn majority_lines_read_as_the_keras_example_prints_them() {
    // Two clusters: cluster 0 mostly class 1 ("frog") at purity 0.316, cluster 1 unlabelled.
    let document = json!({"per_cluster": [
        {"cluster": 0, "size": 3582, "purity": 0.316, "majority_class": 1, "matched_class": 1},
        {"cluster": 1, "size": 0, "purity": null, "majority_class": null, "matched_class": null}
    ]});
    let classes = vec!["cat".to_string(), "frog".to_string()];
    assert_eq!(
        super::files::majority_lines(&document, &classes),
        "cluster 0 label is: frog  -  accuracy: 31.60 %  (size 3582)\n"
    );
    assert_eq!(super::files::majority_lines(&json!({}), &classes), "");
}
