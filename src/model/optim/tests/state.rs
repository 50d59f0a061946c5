//! Tests of optimiser state export/import and of the RON settings and their ranges.

use super::*;
use candle_core::{DType, Device};

#[test]
fn restored_state_continues_identically() {
    for (kind, dtype) in [
        (sgd(true), DType::F32),
        (adam(true, false), DType::F32),
        (adam(false, true), DType::F64),
    ] {
        let first = params(dtype);
        let mut optimizer = kind.build(&first).unwrap();
        for _ in 0..3 {
            optimizer.step(&grads(&first), 0.05).unwrap();
        }
        let state = optimizer.state().unwrap();
        let second: Vec<(String, Var)> = first
            .iter()
            .map(|(n, v)| {
                (
                    n.clone(),
                    Var::from_tensor(&v.as_tensor().copy().unwrap()).unwrap(),
                )
            })
            .collect();
        let mut resumed = kind.build(&second).unwrap();
        resumed.load_state(&state).unwrap();
        assert_eq!(resumed.steps_taken(), 3);
        for _ in 0..4 {
            optimizer.step(&grads(&first), 0.05).unwrap();
            resumed.step(&grads(&second), 0.05).unwrap();
        }
        assert_eq!(values(&first), values(&second), "{kind:?}");
    }
}

#[test]
fn exported_state_is_a_snapshot() {
    let params = params(DType::F32);
    let mut optimizer = sgd(false).build(&params).unwrap();
    optimizer.step(&grads(&params), 0.1).unwrap();
    let state = optimizer.state().unwrap();
    let names: Vec<&str> = state.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "steps",
            "w.momentum_buffer",
            "w.updates",
            "b.momentum_buffer",
            "b.updates"
        ]
    );
    let before = state[1].1.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    optimizer.step(&grads(&params), 0.1).unwrap();
    assert_eq!(
        state[1].1.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
        before
    );
}

#[test]
fn bad_state_is_refused_by_name() {
    let params = params(DType::F32);
    let mut optimizer = adam(true, false).build(&params).unwrap();
    let state = optimizer.state().unwrap();
    let without: Vec<_> = state
        .iter()
        .filter(|(n, _)| n != "b.exp_avg")
        .cloned()
        .collect();
    let err = optimizer.load_state(&without).unwrap_err().to_string();
    assert_eq!(err, "optimiser state `b.exp_avg` is missing");
    let mut extra = state.clone();
    extra.push((
        "c.exp_avg".into(),
        Tensor::zeros(2, DType::F32, &Device::Cpu).unwrap(),
    ));
    let err = optimizer.load_state(&extra).unwrap_err().to_string();
    assert!(err.contains("`c.exp_avg` belongs to no parameter"), "{err}");
    let mut reshaped = state;
    reshaped[1].1 = Tensor::zeros(3, DType::F32, &Device::Cpu).unwrap();
    let err = optimizer.load_state(&reshaped).unwrap_err().to_string();
    assert_eq!(
        err,
        format!("`{}` has shape [3] but [1, 2] was expected", reshaped[1].0)
    );
}

#[test]
fn parameters_without_gradient_are_left_alone() {
    let params = params(DType::F32);
    let mut optimizer = sgd(false).build(&params).unwrap();
    let loss = params[0].1.as_tensor().sum_all().unwrap();
    optimizer.step(&loss.backward().unwrap(), 0.1).unwrap();
    assert_eq!(&values(&params)[2..], &INIT_B);
    let state = optimizer.state().unwrap();
    let updates = |name: &str| {
        state
            .iter()
            .find(|(n, _)| n == name)
            .unwrap()
            .1
            .to_scalar::<f64>()
            .unwrap()
    };
    assert_eq!((updates("w.updates"), updates("b.updates")), (1.0, 0.0));
}

#[test]
fn kinds_read_from_ron_with_documented_defaults() {
    let sgd: OptimizerKind = ron::from_str("Sgd()").unwrap();
    assert_eq!(
        sgd,
        OptimizerKind::Sgd {
            lr: 0.4,
            momentum: 0.9,
            nesterov: false,
            weight_decay: 1e-4,
            decay_bn_and_bias: false
        }
    );
    let adamw: OptimizerKind = ron::from_str("AdamW(betas: (0.5, 0.9))").unwrap();
    assert_eq!(
        adamw,
        OptimizerKind::AdamW {
            lr: 1e-3,
            betas: (0.5, 0.9),
            eps: 1e-8,
            weight_decay: 1e-4,
            decay_bn_and_bias: false
        }
    );
    let adam: OptimizerKind = ron::from_str("Adam(decay_bn_and_bias: true)").unwrap();
    assert_eq!(adam.base_lr(), 1e-4);
    assert!(ron::from_str::<OptimizerKind>("Sgd(momentun: 0.9)").is_err());
}

#[test]
fn out_of_range_settings_and_duplicate_names_are_refused() {
    let p = params(DType::F32);
    let bad = |kind: OptimizerKind| kind.build(&p).err().unwrap().to_string();
    let sgd_with = |momentum, nesterov| OptimizerKind::Sgd {
        lr: 0.1,
        momentum,
        nesterov,
        weight_decay: 0.0,
        decay_bn_and_bias: false,
    };
    assert_eq!(
        bad(sgd_with(1.0, false)),
        "optimiser setting `momentum` is 1, but it must be in [0, 1)"
    );
    assert!(bad(sgd_with(0.0, true)).contains("nesterov"));
    let adamw = OptimizerKind::AdamW {
        lr: -1.0,
        betas: (0.9, 0.999),
        eps: 1e-8,
        weight_decay: 0.0,
        decay_bn_and_bias: false,
    };
    assert!(bad(adamw).starts_with("optimiser setting `lr` is -1"));
    let twice = vec![p[0].clone(), p[0].clone()];
    let err = sgd(false).build(&twice).err().unwrap().to_string();
    assert_eq!(err, "parameter name `w` is used twice");
}
