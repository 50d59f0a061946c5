//! Tests of the contrastive model: unit-norm projections, seeded initialisation, batch
//! norm in training and evaluation, safetensors round trips and gradients for every
//! trainable.

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};

use super::*;
use crate::model::error::TensorProblem;

fn small() -> EncoderKind {
    EncoderKind::small_cnn(vec![8, 16])
}

fn model(encoder: &EncoderKind, head: &HeadKind, seed: u64) -> ContrastiveModel {
    ContrastiveModel::new(encoder, head, seed, &Device::Cpu).unwrap()
}

fn images(b: usize, side: usize) -> Tensor {
    Tensor::randn(0f32, 1f32, (b, side, side, 3), &Device::Cpu).unwrap()
}

fn vec1(t: &Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1().unwrap()
}

#[test]
fn projections_have_unit_rows_and_names_are_prefixed() {
    let m = model(&small(), &HeadKind::default(), 1);
    let z = m.forward(&images(4, 8), true).unwrap();
    assert_eq!(z.dims(), [4, 128]);
    for norm in vec1(&z.sqr().unwrap().sum(1).unwrap()) {
        assert!((norm - 1.0).abs() < 1e-5, "{norm}");
    }
    assert!(m
        .params()
        .iter()
        .all(|(n, _)| n.starts_with("encoder.") || n.starts_with("head.")));
    assert_eq!(m.params().get("head.0.weight").unwrap().dims(), [16, 16]);
    assert_eq!(m.features(&images(3, 8)).unwrap().dims(), [3, 16]);
}

#[test]
fn the_same_seed_gives_the_same_model() {
    let x = images(2, 8);
    let outputs: Vec<Vec<f32>> = [5, 5, 6]
        .iter()
        .map(|&seed| {
            vec1(
                &model(&small(), &HeadKind::default(), seed)
                    .forward(&x, false)
                    .unwrap(),
            )
        })
        .collect();
    assert_eq!(outputs[0], outputs[1]);
    assert_ne!(outputs[0], outputs[2]);
}

#[test]
fn training_moves_running_stats_and_evaluation_uses_them() {
    let m = model(&small(), &HeadKind::default(), 1);
    let running = |name: &str| vec1(m.params().get(name).unwrap());
    let x = images(4, 8).affine(3.0, 2.0).unwrap();
    let before = running("encoder.features.1.running_mean");
    let eval_before = vec1(&m.features(&x).unwrap());
    m.forward(&x, true).unwrap();
    let after = running("encoder.features.1.running_mean");
    assert_ne!(
        before, after,
        "a training forward must move running statistics"
    );
    let eval_after = vec1(&m.features(&x).unwrap());
    assert_ne!(
        eval_before, eval_after,
        "evaluation must use the moved statistics"
    );
    assert_eq!(
        eval_after,
        vec1(&m.features(&x).unwrap()),
        "evaluation is repeatable"
    );
    assert_eq!(
        after,
        running("encoder.features.1.running_mean"),
        "evaluation moves nothing"
    );
}

#[test]
fn keras_head_dropout_follows_the_training_step() {
    // Training outputs depend on batch statistics and the dropout mask only, so two
    // models from one seed agree step for step, and a restored step count resumes.
    let x = images(4, 8);
    let keras = HeadKind::Keras { out: 32 };
    let (a, b) = (model(&small(), &keras, 1), model(&small(), &keras, 1));
    let first = vec1(&a.forward(&x, true).unwrap());
    assert_eq!(first, vec1(&b.forward(&x, true).unwrap()));
    let second = vec1(&a.forward(&x, true).unwrap());
    assert_ne!(first, second, "each step draws a new mask");
    assert_eq!(a.train_steps(), 2);
    let resumed = model(&small(), &keras, 1);
    resumed.set_train_steps(1);
    assert_eq!(second, vec1(&resumed.forward(&x, true).unwrap()));
    assert_eq!(a.params().get("head.1.weight").unwrap().dims(), [32, 16]);
    assert!(a.params().get("head.1.bias").is_none());
}

#[test]
fn save_then_load_gives_identical_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    let x = images(3, 8);
    let a = model(&small(), &HeadKind::default(), 1);
    a.forward(&x, true).unwrap();
    a.save(&path).unwrap();
    let b = model(&small(), &HeadKind::default(), 2);
    b.load(&path).unwrap();
    assert_eq!(
        vec1(&a.forward(&x, false).unwrap()),
        vec1(&b.forward(&x, false).unwrap())
    );
}

#[test]
fn an_encoder_moves_between_models_with_other_heads() {
    let dir = tempfile::tempdir().unwrap();
    let (encoder_file, bare) = (
        dir.path().join("enc.safetensors"),
        dir.path().join("user.safetensors"),
    );
    let x = images(3, 8);
    let a = model(&small(), &HeadKind::default(), 1);
    a.forward(&x, true).unwrap();
    a.save_encoder(&encoder_file).unwrap();
    let user: HashMap<String, Tensor> = a
        .params()
        .iter()
        .filter_map(|(n, v)| {
            Some((
                n.strip_prefix("encoder.")?.to_string(),
                v.as_tensor().clone(),
            ))
        })
        .collect();
    candle_core::safetensors::save(&user, &bare).unwrap();
    for file in [&encoder_file, &bare] {
        let b = model(&small(), &HeadKind::Keras { out: 64 }, 2);
        b.load_encoder(file).unwrap();
        assert_eq!(
            vec1(&a.features(&x).unwrap()),
            vec1(&b.features(&x).unwrap())
        );
    }
    let whole = model(&small(), &HeadKind::Keras { out: 64 }, 2);
    let err = whole.load(&encoder_file).unwrap_err();
    assert!(
        matches!(err, ModelError::Load { problems, .. } if problems.iter().all(|p| matches!(p, TensorProblem::Missing { name } if name.starts_with("head."))))
    );
}

#[test]
fn a_user_file_for_another_encoder_is_refused_naming_file_and_tensors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wrong.safetensors");
    let mut user: HashMap<String, Tensor> = model(
        &EncoderKind::small_cnn(vec![8, 32]),
        &HeadKind::default(),
        1,
    )
    .params()
    .iter()
    .filter_map(|(n, v)| {
        Some((
            n.strip_prefix("encoder.")?.to_string(),
            v.as_tensor().clone(),
        ))
    })
    .collect();
    user.remove("features.5.running_var");
    user.insert(
        "features.1.bias".into(),
        Tensor::zeros(8, DType::F16, &Device::Cpu).unwrap(),
    );
    candle_core::safetensors::save(&user, &path).unwrap();
    let err = model(&small(), &HeadKind::default(), 1)
        .load_encoder(&path)
        .unwrap_err();
    let ModelError::Load { path: p, problems } = &err else {
        panic!("{err}")
    };
    assert_eq!(p, &path);
    assert!(problems.contains(&TensorProblem::Shape {
        name: "features.4.weight".into(),
        expected: vec![16, 3, 3, 8],
        found: vec![32, 3, 3, 8]
    }));
    assert!(problems.contains(&TensorProblem::Dtype {
        name: "features.1.bias".into(),
        found: "F16".into()
    }));
    assert!(problems.contains(&TensorProblem::Missing {
        name: "features.5.running_var".into()
    }));
    assert!(err.to_string().contains("wrong.safetensors"), "{err}");
}

/// loss = Σ z ⊙ r for a fixed r (Σ z² would be constant under the L2 normalisation).
fn assert_every_trainable_gets_a_gradient(encoder: &EncoderKind, head: &HeadKind, side: usize) {
    let m = model(encoder, head, 1);
    let z = m.forward(&images(2, side), true).unwrap();
    let r = Tensor::randn(0f32, 1f32, z.dims(), &Device::Cpu).unwrap();
    let grads = (z * r).unwrap().sum_all().unwrap().backward().unwrap();
    for (name, var) in m.params().trainables() {
        let grad = grads
            .get(var)
            .unwrap_or_else(|| panic!("{encoder:?}: no gradient for {name}"));
        assert_eq!(grad.dims(), var.dims(), "{name}");
        assert!(vec1(grad).iter().all(|g| g.is_finite()), "{name}");
    }
    for (name, var) in m.params().buffers() {
        assert!(
            grads.get(var).is_none(),
            "buffer {name} must not be trained"
        );
    }
}

#[test]
fn every_small_cnn_trainable_gets_a_gradient_with_each_head() {
    assert_every_trainable_gets_a_gradient(&small(), &HeadKind::default(), 8);
    let no_bn = HeadKind::Mlp {
        hidden: Some(12),
        out: 8,
        batch_norm: false,
    };
    assert_every_trainable_gets_a_gradient(&small(), &no_bn, 8);
    assert_every_trainable_gets_a_gradient(&small(), &HeadKind::Keras { out: 8 }, 8);
}

#[test]
fn every_resnet18_trainable_gets_a_gradient() {
    assert_every_trainable_gets_a_gradient(&EncoderKind::ResNet18Cifar, &HeadKind::default(), 4);
}

#[test]
fn every_resnet50_v2_trainable_gets_a_gradient() {
    // 8×8 inputs: 4×4 after the stem, 2×2 after the pool, 1×1 from the second stack on.
    let encoder = EncoderKind::ResNet50V2 { dense: 16 };
    assert_every_trainable_gets_a_gradient(&encoder, &HeadKind::Keras { out: 8 }, 8);
}

#[test]
fn head_kinds_read_from_ron_with_defaults() {
    let parse = |text: &str| crate::spec::ron_options().from_str::<HeadKind>(text);
    assert_eq!(parse("Mlp()").unwrap(), HeadKind::default());
    assert_eq!(
        parse("Mlp(hidden: 512, batch_norm: false)").unwrap(),
        HeadKind::Mlp {
            hidden: Some(512),
            out: 128,
            batch_norm: false
        }
    );
    assert_eq!(
        parse("Mlp(hidden: None, out: 64)").unwrap(),
        HeadKind::Mlp {
            hidden: None,
            out: 64,
            batch_norm: true
        }
    );
    assert_eq!(
        parse("Keras(out: 128)").unwrap(),
        HeadKind::Keras { out: 128 }
    );
    assert!(parse("Keras(out: 128, dropout: 0.2)").is_err());
    let zero = ContrastiveModel::new(&small(), &HeadKind::Keras { out: 0 }, 1, &Device::Cpu);
    assert!(matches!(
        zero,
        Err(ModelError::Config {
            field: "Keras.out",
            ..
        })
    ));
}
