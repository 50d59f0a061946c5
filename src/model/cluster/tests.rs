//! The cluster model: shapes, probabilities, the image-size guard, weights round trips and
//! initialisation from a contrastive model's encoder.

use candle_core::{Device, Tensor};
use serde_json::json;

use super::*;
use crate::model::{ContrastiveModel, HeadKind};

fn arch(heads: usize) -> ClusterArchitecture {
    ClusterArchitecture {
        encoder: EncoderKind::small_cnn(vec![4, 8]),
        clusters: 3,
        heads,
        selected_head: 0,
        input_size: (8, 8),
        normalize_features: false,
        projection: None,
        hidden: None,
        cropped_from: None,
        consensus: None,
    }
}

fn images(b: usize, side: usize) -> Tensor {
    Tensor::randn(0f32, 1.0, (b, side, side, 3), &Device::Cpu).unwrap()
}

#[test]
fn every_head_gives_rows_of_probabilities() {
    let model = ClusterModel::new(arch(2), 1, &Device::Cpu).unwrap();
    let p = model.forward(&images(5, 8), true).unwrap();
    assert_eq!(p.len(), 2);
    for head in &p {
        assert_eq!(head.dims(), &[5, 3]);
        let sums: Vec<f32> = head.sum(1).unwrap().to_vec1().unwrap();
        assert!(sums.iter().all(|s| (s - 1.0).abs() < 1e-5), "{sums:?}");
    }
    assert_eq!(
        model.head_trainables().len(),
        4,
        "weight and bias of 2 heads"
    );
}

#[test]
fn other_image_sizes_are_refused() {
    let model = ClusterModel::new(arch(1), 1, &Device::Cpu).unwrap();
    let message = model.probabilities(&images(2, 16)).unwrap_err().to_string();
    assert!(
        message.contains("8×8") && message.contains("16"),
        "{message}"
    );
}

#[test]
fn one_cluster_is_refused() {
    let bad = ClusterArchitecture {
        clusters: 1,
        ..arch(1)
    };
    let message = ClusterModel::new(bad, 0, &Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(message.contains("clusters"), "{message}");
}

#[test]
fn artifacts_rebuild_the_selected_head() {
    let dir = tempfile::tempdir().unwrap();
    let mut model = ClusterModel::new(arch(3), 4, &Device::Cpu).unwrap();
    model.select_head(2).unwrap();
    let again = saved_and_reloaded(&model, dir.path());
    assert_eq!(again.architecture().selected_head, 2);
    let x = images(2, 8);
    let (a, b) = (
        model.probabilities(&x).unwrap(),
        again.probabilities(&x).unwrap(),
    );
    let diff: f32 = (a - b)
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar()
        .unwrap();
    assert_eq!(diff, 0.0);
}

#[test]
fn a_consensus_model_averages_its_renumbered_heads_and_keeps_that_when_saved() {
    let dir = tempfile::tempdir().unwrap();
    let mut model = ClusterModel::new(arch(2), 4, &Device::Cpu).unwrap();
    let message = model.set_consensus(vec![vec![0, 1, 1], vec![0, 1, 2]]);
    assert!(message.unwrap_err().to_string().contains("renumbering"));
    model
        .set_consensus(vec![vec![0, 1, 2], vec![2, 0, 1]])
        .unwrap();
    let x = images(4, 8);
    let heads = model.forward(&x, false).unwrap();
    let (first, second): (Vec<Vec<f32>>, Vec<Vec<f32>>) =
        (heads[0].to_vec2().unwrap(), heads[1].to_vec2().unwrap());
    let got: Vec<Vec<f32>> = model.probabilities(&x).unwrap().to_vec2().unwrap();
    for row in 0..4 {
        for (c, own) in [2, 0, 1].into_iter().enumerate() {
            let want = (first[row][c] + second[row][own]) / 2.0;
            assert!((got[row][c] - want).abs() < 1e-6, "{got:?}");
        }
    }
    assert_eq!(
        model.selected_trainables(false).len(),
        4,
        "every head trains"
    );
    let again = saved_and_reloaded(&model, dir.path());
    let again: Vec<Vec<f32>> = again.probabilities(&x).unwrap().to_vec2().unwrap();
    assert_eq!(again, got);
}

/// `model` saved into `dir` and rebuilt from its artifact.
fn saved_and_reloaded(model: &ClusterModel, dir: &std::path::Path) -> ClusterModel {
    let weights = dir.join("m.safetensors");
    model.save(&weights).unwrap();
    let artifact = ModelArtifact {
        weights,
        architecture: serde_json::to_value(model.architecture()).unwrap(),
        producer: "Scan".into(),
    };
    ClusterModel::from_artifact(&artifact, &Device::Cpu).unwrap()
}

#[test]
fn the_encoder_comes_from_a_contrastive_model() {
    let dir = tempfile::tempdir().unwrap();
    let encoder = EncoderKind::small_cnn(vec![4, 8]);
    let pretext = ContrastiveModel::new(&encoder, &HeadKind::default(), 9, &Device::Cpu).unwrap();
    let weights = dir.path().join("pretext.safetensors");
    pretext.save(&weights).unwrap();
    let artifact = ModelArtifact {
        weights,
        architecture: json!({ "encoder": encoder, "head": HeadKind::default() }),
        producer: "SimClr".into(),
    };
    let model = ClusterModel::from_pretext(
        &artifact,
        HeadSpec::linear(3, 1),
        (8, 8),
        false,
        0,
        &Device::Cpu,
    )
    .unwrap();
    let x = images(2, 8);
    let want: Vec<f32> = pretext
        .features(&x)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    let got: Vec<f32> = model
        .frozen_features(&x)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    assert_eq!(want, got);
    let mut sized = artifact.clone();
    sized.architecture["input_size"] = json!([16, 16]);
    let message = ClusterModel::from_pretext(
        &sized,
        HeadSpec::linear(3, 1),
        (8, 8),
        false,
        0,
        &Device::Cpu,
    )
    .unwrap_err()
    .to_string();
    assert!(message.contains("16×16"), "{message}");
}

#[test]
fn self_labelling_trains_the_selected_head_alone() {
    let mut model = ClusterModel::new(arch(3), 2, &Device::Cpu).unwrap();
    model.select_head(1).unwrap();
    let names = |with: bool| -> Vec<String> {
        let vars = model.selected_trainables(with);
        vars.into_iter().map(|(n, _)| n).collect()
    };
    let heads = names(false);
    assert_eq!(heads.len(), 2, "{heads:?}");
    assert!(
        heads.iter().all(|n| n.starts_with("cluster_head.1.")),
        "{heads:?}"
    );
    let all = model.params().trainables().len();
    assert_eq!(
        names(true).len(),
        all - 4,
        "every trainable but heads 0 and 2"
    );
    let x = images(2, 8);
    let logits = model
        .selected_logits(&model.features(&x, false).unwrap())
        .unwrap();
    let p = softmax_rows(&logits).unwrap();
    let want = model.probabilities(&x).unwrap();
    let diff: f32 = (p - want)
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar()
        .unwrap();
    assert!(diff < 1e-6, "{diff}");
}

#[test]
fn heads_of_the_wrong_size_are_refused() {
    let model = ClusterModel::new(arch(2), 0, &Device::Cpu).unwrap();
    // 2 heads × 3 clusters on the 8-d features of widths [4, 8].
    model
        .set_heads(&[&[0.0; 2 * 3 * 8], &[0.0; 2 * 3]])
        .unwrap();
    let message = model
        .set_heads(&[&[0.0; 2 * 3 * 4], &[0.0; 2 * 3]])
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("2 heads of 3 clusters on 8-d features"),
        "{message}"
    );
}

/// Flattens a tensor for exact comparison.
fn values(t: &Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1().unwrap()
}

#[test]
fn heads_on_the_projection_read_what_the_pretext_projects() {
    let dir = tempfile::tempdir().unwrap();
    let encoder = EncoderKind::small_cnn(vec![4, 8]);
    let head = HeadKind::Mlp {
        hidden: Some(6),
        out: 5,
        batch_norm: true,
    };
    let pretext = ContrastiveModel::new(&encoder, &head, 9, &Device::Cpu).unwrap();
    let weights = dir.path().join("pretext.safetensors");
    pretext.save(&weights).unwrap();
    let artifact = ModelArtifact {
        weights,
        architecture: json!({ "encoder": encoder, "head": head }),
        producer: "SimClr".into(),
    };
    let mut model = ClusterModel::from_pretext(
        &artifact,
        HeadSpec::linear(3, 2),
        (8, 8),
        true,
        0,
        &Device::Cpu,
    )
    .unwrap();
    model.normalize_features();
    let x = images(4, 8);
    let projected = pretext.forward(&x, false).unwrap();
    assert_eq!(
        values(&model.frozen_features(&x).unwrap()),
        values(&projected)
    );
    assert_eq!(model.feature_dim(), 5);
    model
        .set_heads(&[&[0.1; 2 * 3 * 5], &[0.0; 2 * 3]])
        .unwrap();
    let trained: Vec<String> = model
        .selected_trainables(true)
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert!(
        trained.iter().any(|n| n.starts_with("head.")),
        "{trained:?}"
    );
    // Saved and rebuilt from its artifact, it keeps the projection and its weights.
    let saved = crate::model::ModelArtifact {
        weights: dir.path().join("cluster.safetensors"),
        architecture: serde_json::to_value(model.architecture()).unwrap(),
        producer: "Scan".into(),
    };
    model.save(&saved.weights).unwrap();
    let again = ClusterModel::from_artifact(&saved, &Device::Cpu).unwrap();
    let (p, q) = (
        model.probabilities(&x).unwrap(),
        again.probabilities(&x).unwrap(),
    );
    assert_eq!(values(&p), values(&q));
    // A cluster model built on it can be clustered on its projection again.
    let from_cluster = ClusterModel::from_pretext(
        &saved,
        HeadSpec::linear(3, 1),
        (8, 8),
        true,
        0,
        &Device::Cpu,
    )
    .unwrap();
    assert_eq!(
        values(&from_cluster.features(&x, false).unwrap()),
        values(
            &pretext
                .head()
                .forward(&pretext.features(&x).unwrap(), false, 0)
                .unwrap()
        )
    );
    let mut bare = artifact.clone();
    bare.architecture = json!({ "encoder": encoder });
    let message =
        ClusterModel::from_pretext(&bare, HeadSpec::linear(3, 1), (8, 8), true, 0, &Device::Cpu)
            .unwrap_err()
            .to_string();
    assert!(message.contains("no projection head"), "{message}");
}
