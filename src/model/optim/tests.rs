//! Tests of the optimisers against torch's update formulas worked in f64 in the test, on
//! both the in-place CPU path (f32) and the candle-operations path (f64); state and
//! settings in [`state`].

use super::*;
use candle_core::{DType, Device};

mod state;

/// The gradient of `loss = Σ p ⊙ c` is `c`, the same every step.
const GRAD_W: [f64; 2] = [0.5, -1.0];
const GRAD_B: [f64; 2] = [0.25, 2.0];
const INIT_W: [f64; 2] = [1.0, -2.0];
pub(super) const INIT_B: [f64; 2] = [0.5, 0.25];

/// A weight `w` (1, 2), which is decayed, and a bias `b` (2,), which is not by default.
pub(super) fn params(dtype: DType) -> Vec<(String, Var)> {
    let w = Tensor::new(&[INIT_W], &Device::Cpu)
        .unwrap()
        .to_dtype(dtype)
        .unwrap();
    let b = Tensor::new(&INIT_B, &Device::Cpu)
        .unwrap()
        .to_dtype(dtype)
        .unwrap();
    vec![
        ("w".into(), Var::from_tensor(&w).unwrap()),
        ("b".into(), Var::from_tensor(&b).unwrap()),
    ]
}

pub(super) fn grads(params: &[(String, Var)]) -> GradStore {
    let dtype = params[0].1.dtype();
    let cw = Tensor::new(&[GRAD_W], &Device::Cpu)
        .unwrap()
        .to_dtype(dtype)
        .unwrap();
    let cb = Tensor::new(&GRAD_B, &Device::Cpu)
        .unwrap()
        .to_dtype(dtype)
        .unwrap();
    let loss = ((params[0].1.as_tensor() * cw).unwrap().sum_all().unwrap()
        + (params[1].1.as_tensor() * cb).unwrap().sum_all().unwrap())
    .unwrap();
    loss.backward().unwrap()
}

pub(super) fn values(params: &[(String, Var)]) -> Vec<f64> {
    params
        .iter()
        .flat_map(|(_, v)| {
            v.flatten_all()
                .unwrap()
                .to_dtype(DType::F64)
                .unwrap()
                .to_vec1::<f64>()
                .unwrap()
        })
        .collect()
}

/// Runs `steps` steps at learning rates 0.1, 0.09, 0.08, ... and returns `w ++ b`.
fn run(kind: OptimizerKind, dtype: DType, steps: usize) -> Vec<f64> {
    let params = params(dtype);
    let mut optimizer = kind.build(&params).unwrap();
    for step in 0..steps {
        optimizer
            .step(&grads(&params), 0.1 - 0.01 * step as f64)
            .unwrap();
    }
    assert_eq!(optimizer.steps_taken(), steps as u64);
    values(&params)
}

/// torch.optim.SGD on one element with constant gradient `g`, in f64.
fn sgd_reference(mut p: f64, g: f64, mu: f64, nesterov: bool, wd: f64, steps: usize) -> f64 {
    let mut buf = 0.0;
    for step in 0..steps {
        let lr = 0.1 - 0.01 * step as f64;
        let d = g + wd * p;
        buf = if step == 0 { d } else { mu * buf + d };
        p -= lr * if nesterov { d + mu * buf } else { buf };
    }
    p
}

/// torch.optim.Adam (`decoupled = false`) or AdamW on one element, in f64.
fn adam_reference(mut p: f64, g: f64, wd: f64, decoupled: bool, steps: usize) -> f64 {
    let (b1, b2, eps) = (0.9f64, 0.999f64, 1e-8);
    let (mut m, mut v) = (0.0, 0.0);
    for step in 0..steps {
        let (lr, t) = (0.1 - 0.01 * step as f64, (step + 1) as i32);
        let g = if decoupled {
            p *= 1.0 - lr * wd;
            g
        } else {
            g + wd * p
        };
        m = b1 * m + (1.0 - b1) * g;
        v = b2 * v + (1.0 - b2) * g * g;
        let denom = v.sqrt() / (1.0 - b2.powi(t)).sqrt() + eps;
        p -= lr / (1.0 - b1.powi(t)) * m / denom;
    }
    p
}

fn reference(update: impl Fn(f64, f64, bool) -> f64) -> Vec<f64> {
    let w = INIT_W.iter().zip(GRAD_W).map(|(&p, g)| update(p, g, true));
    let b = INIT_B.iter().zip(GRAD_B).map(|(&p, g)| update(p, g, false));
    w.chain(b).collect()
}

fn assert_close(ours: &[f64], expected: &[f64], tolerance: f64) {
    for (a, b) in ours.iter().zip(expected) {
        assert!((a - b).abs() < tolerance, "{ours:?} vs {expected:?}");
    }
}

pub(super) fn sgd(nesterov: bool) -> OptimizerKind {
    OptimizerKind::Sgd {
        lr: 0.1,
        momentum: 0.9,
        nesterov,
        weight_decay: 0.01,
        decay_bn_and_bias: false,
    }
}

#[test]
fn sgd_first_steps_by_hand() {
    // w[0]: p = 1, g = 0.5, wd = 0.01, μ = 0.9. Step 1 (lr 0.1): d = 0.51, buf = 0.51,
    // p = 1 − 0.051 = 0.949. Step 2 (lr 0.09): d = 0.5 + 0.00949 = 0.50949,
    // buf = 0.459 + 0.50949 = 0.96849, p = 0.949 − 0.0871641 = 0.8618359.
    // b[0] is rank 1, so no decay: p = 0.5 − 0.1·0.25 = 0.475, buf = 0.25; then
    // buf = 0.225 + 0.25 = 0.475, p = 0.475 − 0.09·0.475 = 0.43225.
    let ours = run(sgd(false), DType::F32, 2);
    assert_close(&[ours[0], ours[2]], &[0.8618359, 0.43225], 1e-6);
    // Nesterov, step 1: d = 0.51 + 0.9·0.51 = 0.969, p = 1 − 0.0969 = 0.9031.
    assert_close(&run(sgd(true), DType::F32, 1)[..1], &[0.9031], 1e-6);
}

#[test]
fn sgd_matches_torch_formulas_on_both_paths() {
    for nesterov in [false, true] {
        let expected = reference(|p, g, decayed| {
            sgd_reference(p, g, 0.9, nesterov, if decayed { 0.01 } else { 0.0 }, 5)
        });
        assert_close(&run(sgd(nesterov), DType::F32, 5), &expected, 1e-5);
        assert_close(&run(sgd(nesterov), DType::F64, 5), &expected, 1e-12);
    }
}

pub(super) fn adam(decoupled: bool, decay_bn_and_bias: bool) -> OptimizerKind {
    let (lr, betas, eps, weight_decay) = (0.1, (0.9, 0.999), 1e-8, 0.01);
    if decoupled {
        OptimizerKind::AdamW {
            lr,
            betas,
            eps,
            weight_decay,
            decay_bn_and_bias,
        }
    } else {
        OptimizerKind::Adam {
            lr,
            betas,
            eps,
            weight_decay,
            decay_bn_and_bias,
        }
    }
}

#[test]
fn adam_first_step_moves_each_weight_by_the_learning_rate() {
    // Step 1: m = 0.1·g, v = 0.001·g², bias-corrected m̂/√v̂ = sign(g), so Adam moves
    // p by −0.1·sign(g); AdamW first shrinks w by (1 − 0.1·0.01) = 0.999.
    // w = (1, −2), g = (0.5, −1): Adam → (0.9, −1.9); AdamW → (0.899, −1.898).
    let adam_w = run(adam(false, false), DType::F32, 1);
    assert_close(&adam_w[..2], &[0.9, -1.9], 1e-6);
    let adamw_w = run(adam(true, false), DType::F32, 1);
    assert_close(&adamw_w[..2], &[0.899, -1.898], 1e-6);
}

#[test]
fn adam_and_adamw_match_torch_formulas_on_both_paths() {
    for decoupled in [false, true] {
        for decay_all in [false, true] {
            let expected = reference(|p, g, decayed| {
                let wd = if decayed || decay_all { 0.01 } else { 0.0 };
                adam_reference(p, g, wd, decoupled, 6)
            });
            let kind = adam(decoupled, decay_all);
            assert_close(&run(kind, DType::F32, 6), &expected, 1e-5);
            assert_close(&run(kind, DType::F64, 6), &expected, 1e-12);
        }
    }
}
