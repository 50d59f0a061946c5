//! The hand-written gradients against candle's autograd on the same maths
//! ([`ScanLossKind::compute`] on `softmax(X·Wᵀ + b)`) and against central finite differences.

use candle_core::{Device, Tensor, Var};

use super::*;
use crate::rng::SplitMix64;

const SHAPE: HeadShape = HeadShape {
    heads: 2,
    clusters: 4,
    dim: 5,
};
const BATCH: usize = 6;

fn random(n: usize, scale: f32, seed: u64) -> Vec<f32> {
    let mut rng = SplitMix64::new(seed);
    (0..n).map(|_| rng.uniform_f32(-scale, scale)).collect()
}

fn problem() -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let weight = random(SHAPE.columns() * SHAPE.dim, 1.5, 1);
    let bias = random(SHAPE.columns(), 0.5, 2);
    let x = random(2 * BATCH * SHAPE.dim, 1.0, 3);
    (weight, bias, x)
}

/// The summed total loss and its gradients through candle.
fn candle_reference(
    weight: &[f32],
    bias: &[f32],
    x: &[f32],
    loss: ScanLossKind,
    w: f64,
) -> (f64, Vec<f32>, Vec<f32>) {
    let dev = Device::Cpu;
    let wv = Var::from_vec(weight.to_vec(), (SHAPE.columns(), SHAPE.dim), &dev).unwrap();
    let bv = Var::from_vec(bias.to_vec(), SHAPE.columns(), &dev).unwrap();
    let xt = Tensor::from_vec(x.to_vec(), (2 * BATCH, SHAPE.dim), &dev).unwrap();
    let z = xt
        .matmul(&wv.as_tensor().t().unwrap())
        .unwrap()
        .broadcast_add(bv.as_tensor())
        .unwrap();
    let mut total = Tensor::new(0f32, &dev).unwrap();
    for h in 0..SHAPE.heads {
        let p = candle_nn::ops::softmax(
            &z.narrow(1, h * SHAPE.clusters, SHAPE.clusters)
                .unwrap()
                .contiguous()
                .unwrap(),
            1,
        )
        .unwrap();
        total = (total + loss.compute(&p, 2, w).unwrap().total).unwrap();
    }
    let grads = total.backward().unwrap();
    let flat = |v: &Var| {
        grads
            .get(v.as_tensor())
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap()
    };
    (
        f64::from(total.to_scalar::<f32>().unwrap()),
        flat(&wv),
        flat(&bv),
    )
}

fn close(a: &[f32], b: &[f32], tol: f32) -> bool {
    a.iter()
        .zip(b)
        .all(|(x, y)| (x - y).abs() <= tol * (1.0 + y.abs()))
}

#[test]
fn gradients_match_candle_autograd() {
    let (weight, bias, x) = problem();
    for (loss, w) in [
        (ScanLossKind::Scan, 5.0),
        (ScanLossKind::Keras, 5.0),
        (ScanLossKind::Scan, 0.0),
    ] {
        let step = SHAPE.step(&weight, &bias, &x, loss, w);
        let (total, gw, gb) = candle_reference(&weight, &bias, &x, loss, w);
        let ours: f64 = step.losses.iter().map(|l| l.total).sum();
        assert!(
            (ours - total).abs() < 1e-4,
            "{loss:?}: loss {ours} vs {total}"
        );
        assert!(
            close(&step.weight, &gw, 1e-4),
            "{loss:?}: {:?} vs {gw:?}",
            step.weight
        );
        assert!(
            close(&step.bias, &gb, 1e-4),
            "{loss:?}: {:?} vs {gb:?}",
            step.bias
        );
    }
}

#[test]
fn gradients_match_finite_differences() {
    let (weight, bias, x) = problem();
    let total = |weight: &[f32]| -> f64 {
        SHAPE
            .step(weight, &bias, &x, ScanLossKind::Scan, 5.0)
            .losses
            .iter()
            .map(|l| l.total)
            .sum()
    };
    let step = SHAPE.step(&weight, &bias, &x, ScanLossKind::Scan, 5.0);
    let h = 1e-2f32;
    for i in (0..weight.len()).step_by(3) {
        let (mut up, mut down) = (weight.clone(), weight.clone());
        up[i] += h;
        down[i] -= h;
        let numeric = (total(&up) - total(&down)) / (2.0 * f64::from(h));
        let analytic = f64::from(step.weight[i]);
        assert!(
            (numeric - analytic).abs() < 2e-3 * (1.0 + analytic.abs()),
            "w[{i}]: {numeric} vs {analytic}"
        );
    }
}

#[test]
fn probabilities_are_per_head_softmaxes() {
    // One head, C = 2, D = 1, W = (1, −1), b = 0: x = ln 3 gives logits (ln 3, −ln 3),
    // so p = (9, 1)/10.
    let shape = HeadShape {
        heads: 1,
        clusters: 2,
        dim: 1,
    };
    let p = shape.probabilities(&[1.0, -1.0], &[0.0, 0.0], &[3f32.ln()]);
    assert!(
        (p[0] - 0.9).abs() < 1e-6 && (p[1] - 0.1).abs() < 1e-6,
        "{p:?}"
    );
}
