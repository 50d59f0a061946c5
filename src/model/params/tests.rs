//! Tests of the parameter store: seeded initialisers, and safetensors round trips and
//! refusals (each naming file and tensor).

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor};

use super::*;
use crate::model::error::TensorProblem;

fn store(seed: u64) -> Params {
    let mut params = Params::new(seed, &Device::Cpu);
    params
        .trainable(
            "encoder.conv.weight",
            &[4, 3, 3, 2],
            Init::kaiming_normal_fan_out(36),
        )
        .unwrap();
    params
        .trainable("encoder.bn.weight", &[4], Init::Ones)
        .unwrap();
    params
        .buffer("encoder.bn.running_mean", &[4], Init::Zeros)
        .unwrap();
    params
        .trainable("head.0.weight", &[2, 4], Init::linear_default(4))
        .unwrap();
    params
}

fn values(params: &Params, name: &str) -> Vec<f32> {
    params
        .get(name)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap()
}

fn load_problems(result: Result<(), ModelError>, path: &Path) -> Vec<TensorProblem> {
    match result {
        Err(ModelError::Load { path: p, problems }) => {
            assert_eq!(p, path);
            problems
        }
        other => panic!("expected a load error, got {other:?}"),
    }
}

fn mean_and_std(xs: &[f32]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().map(|&x| f64::from(x)).sum::<f64>() / n;
    let var = xs
        .iter()
        .map(|&x| (f64::from(x) - mean).powi(2))
        .sum::<f64>()
        / n;
    (mean, var.sqrt())
}

#[test]
fn kaiming_normal_has_the_torchvision_spread() {
    // torchvision: std = sqrt(2 / fan_out); fan_out = 64·3·3 = 576 → std = 0.058926.
    let xs = Init::kaiming_normal_fan_out(576).values(200_000, 7, "w");
    let (mean, std) = mean_and_std(&xs);
    let expected = (2.0f64 / 576.0).sqrt();
    assert!(mean.abs() < 0.01 * expected, "mean {mean}");
    assert!(
        (std / expected - 1.0).abs() < 0.01,
        "std {std} vs {expected}"
    );
}

#[test]
fn linear_default_is_uniform_within_one_over_sqrt_fan_in() {
    // U(-b, b) with b = 1/sqrt(256) = 0.0625 has standard deviation b/sqrt(3).
    let xs = Init::linear_default(256).values(200_000, 7, "w");
    assert!(xs.iter().all(|x| x.abs() <= 0.0625));
    let (mean, std) = mean_and_std(&xs);
    assert!(mean.abs() < 0.001, "mean {mean}");
    assert!(
        (std / (0.0625 / 3f64.sqrt()) - 1.0).abs() < 0.01,
        "std {std}"
    );
}

#[test]
fn initialisation_is_a_function_of_seed_and_name() {
    let (a, b, c) = (store(1), store(1), store(2));
    for (name, _) in a.iter() {
        assert_eq!(values(&a, name), values(&b, name), "{name}");
    }
    assert_ne!(
        values(&a, "encoder.conv.weight"),
        values(&c, "encoder.conv.weight")
    );
    let first = Init::Normal { std: 1.0 }.values(8, 1, "x");
    assert_ne!(first, Init::Normal { std: 1.0 }.values(8, 1, "y"));
    assert_eq!(values(&a, "encoder.bn.weight"), vec![1.0; 4]);
}

#[test]
fn trainables_and_buffers_are_kept_apart_in_insertion_order() {
    let params = store(1);
    let names: Vec<&str> = params
        .trainables()
        .iter()
        .map(|(n, _)| n.as_str())
        .collect();
    assert_eq!(
        names,
        ["encoder.conv.weight", "encoder.bn.weight", "head.0.weight"]
    );
    assert_eq!(params.buffers().len(), 1);
    assert_eq!(params.trainable_count(), 72 + 4 + 8);
    assert_eq!(params.buffer_count(), 4);
}

#[test]
fn a_name_registered_twice_is_refused() {
    let mut params = store(1);
    let err = params
        .buffer("encoder.bn.weight", &[4], Init::Zeros)
        .unwrap_err();
    assert!(matches!(err, ModelError::DuplicateParam { name } if name == "encoder.bn.weight"));
}

#[test]
fn save_then_load_restores_every_tensor() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("all.safetensors");
    let a = store(1);
    a.get("encoder.bn.running_mean")
        .unwrap()
        .set(&Tensor::new(&[1f32, 2., 3., 4.], &Device::Cpu).unwrap())
        .unwrap();
    a.save(&path).unwrap();
    let b = store(2);
    b.load(&path).unwrap();
    for (name, _) in a.iter() {
        assert_eq!(values(&a, name), values(&b, name), "{name}");
    }
}

#[test]
fn load_prefix_reads_full_or_bare_names_and_ignores_other_prefixes() {
    let dir = tempfile::tempdir().unwrap();
    let (whole, bare) = (
        dir.path().join("whole.safetensors"),
        dir.path().join("bare.safetensors"),
    );
    let a = store(1);
    a.save(&whole).unwrap();
    let renamed: HashMap<String, Tensor> = a
        .iter()
        .filter_map(|(n, v)| {
            Some((
                n.strip_prefix("encoder.")?.to_string(),
                v.as_tensor().clone(),
            ))
        })
        .collect();
    candle_core::safetensors::save(&renamed, &bare).unwrap();
    for file in [&whole, &bare] {
        let b = store(2);
        b.load_prefix(file, "encoder.").unwrap();
        assert_eq!(
            values(&a, "encoder.conv.weight"),
            values(&b, "encoder.conv.weight")
        );
        assert_ne!(
            values(&a, "head.0.weight"),
            values(&b, "head.0.weight"),
            "head must be left alone"
        );
    }
}

#[test]
fn missing_unexpected_misshaped_and_non_f32_tensors_are_all_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.safetensors");
    let cpu = Device::Cpu;
    let tensors = HashMap::from([
        (
            "encoder.conv.weight",
            Tensor::zeros((4, 2, 3, 3), DType::F32, &cpu).unwrap(),
        ),
        (
            "encoder.bn.weight",
            Tensor::zeros(4, DType::F64, &cpu).unwrap(),
        ),
        (
            "encoder.bn.running_maen",
            Tensor::zeros(4, DType::F32, &cpu).unwrap(),
        ),
        (
            "head.0.weight",
            Tensor::zeros((2, 4), DType::F32, &cpu).unwrap(),
        ),
    ]);
    candle_core::safetensors::save(&tensors, &path).unwrap();
    let params = store(1);
    let before = values(&params, "head.0.weight");
    let problems = load_problems(params.load(&path), &path);
    assert_eq!(
        problems,
        vec![
            TensorProblem::Shape {
                name: "encoder.conv.weight".into(),
                expected: vec![4, 3, 3, 2],
                found: vec![4, 2, 3, 3]
            },
            TensorProblem::Dtype {
                name: "encoder.bn.weight".into(),
                found: "F64".into()
            },
            TensorProblem::Missing {
                name: "encoder.bn.running_mean".into()
            },
            TensorProblem::Unexpected {
                name: "encoder.bn.running_maen".into(),
                hint: Some("did you mean `encoder.bn.running_mean`?".into()),
            },
        ]
    );
    assert_eq!(
        values(&params, "head.0.weight"),
        before,
        "a refused file changes nothing"
    );
    let message = params.load(&path).unwrap_err().to_string();
    assert!(
        message.contains("bad.safetensors")
            && message.contains("`encoder.bn.running_mean` is missing"),
        "{message}"
    );
}

#[test]
fn a_file_that_is_not_safetensors_is_a_read_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("junk.safetensors");
    std::fs::write(&path, b"not a safetensors file").unwrap();
    let err = store(1).load(&path).unwrap_err();
    assert!(
        matches!(&err, ModelError::Read { path: p, .. } if *p == path),
        "{err}"
    );
    let missing = dir.path().join("absent.safetensors");
    assert!(matches!(
        store(1).load(&missing),
        Err(ModelError::Read { .. })
    ));
}
