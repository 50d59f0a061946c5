//! The hand-written gradients of heads with a hidden layer against candle's autograd on the
//! same maths ([`ScanLossKind::compute`] on each head's softmax).

use candle_core::{Device, Tensor, Var};

use super::*;
use crate::rng::SplitMix64;

const SHAPE: MlpShape = MlpShape {
    heads: 3,
    clusters: 4,
    dim: 5,
    hidden: 6,
};
const BATCH: usize = 7;

fn random(n: usize, scale: f32, seed: u64) -> Vec<f32> {
    let mut rng = SplitMix64::new(seed);
    (0..n).map(|_| rng.uniform_f32(-scale, scale)).collect()
}

/// `W₁`, `b₁`, `W₂`, `b₂` and the `2B` rows.
fn problem() -> ([Vec<f32>; 4], Vec<f32>) {
    let [a, b, c, d] = SHAPE.sizes();
    let weights = [
        random(a, 1.0, 1),
        random(b, 0.5, 2),
        random(c, 1.0, 3),
        random(d, 0.5, 4),
    ];
    (weights, random(2 * BATCH * SHAPE.dim, 1.0, 5))
}

fn view(weights: &[Vec<f32>; 4]) -> MlpWeights<'_> {
    [&weights[0], &weights[1], &weights[2], &weights[3]]
}

/// The summed total loss and the gradients of the four tensors through candle.
fn candle_reference(weights: &[Vec<f32>; 4], x: &[f32], w: f64) -> (f64, Vec<Vec<f32>>) {
    let dev = Device::Cpu;
    let (h, c, d, k) = (SHAPE.heads, SHAPE.clusters, SHAPE.dim, SHAPE.hidden);
    let shapes = [vec![h * k, d], vec![h * k], vec![h * c, k], vec![h * c]];
    let vars: Vec<Var> = weights
        .iter()
        .zip(shapes)
        .map(|(v, s)| Var::from_vec(v.clone(), s, &dev).unwrap())
        .collect();
    let t = |i: usize| vars[i].as_tensor();
    let xt = Tensor::from_vec(x.to_vec(), (2 * BATCH, d), &dev).unwrap();
    let z1 = xt.matmul(&t(0).t().unwrap()).unwrap();
    let r = z1.broadcast_add(t(1)).unwrap().relu().unwrap();
    let mut total = Tensor::new(0f32, &dev).unwrap();
    for head in 0..h {
        let rh = r.narrow(1, head * k, k).unwrap();
        let w2 = t(2).narrow(0, head * c, c).unwrap();
        let b2 = t(3).narrow(0, head * c, c).unwrap();
        let z2 = rh
            .matmul(&w2.t().unwrap())
            .unwrap()
            .broadcast_add(&b2)
            .unwrap();
        let p = candle_nn::ops::softmax(&z2, 1).unwrap();
        let loss = ScanLossKind::Scan.compute(&p, 2, w).unwrap().total;
        total = (total + loss).unwrap();
    }
    let grads = total.backward().unwrap();
    let flat = |v: &Var| {
        let g = grads.get(v.as_tensor()).unwrap();
        g.flatten_all().unwrap().to_vec1::<f32>().unwrap()
    };
    let total = f64::from(total.to_scalar::<f32>().unwrap());
    (total, vars.iter().map(flat).collect())
}

#[test]
fn gradients_match_candle_autograd() {
    let (weights, x) = problem();
    for w in [5.0, 0.0] {
        let (grads, losses) = SHAPE.step(view(&weights), &x, ScanLossKind::Scan, w);
        let (total, expected) = candle_reference(&weights, &x, w);
        let ours: f64 = losses.iter().map(|l| l.total).sum();
        assert!((ours - total).abs() < 1e-4, "loss {ours} vs {total}");
        for (i, (g, e)) in grads.iter().zip(&expected).enumerate() {
            let close = g
                .iter()
                .zip(e)
                .all(|(a, b)| (a - b).abs() <= 1e-4 * (1.0 + b.abs()));
            assert!(close, "tensor {i}: {g:?} vs {e:?}");
        }
    }
}

#[test]
fn probabilities_apply_each_head_to_its_own_hidden_units() {
    // Two heads, D = 1, K = 1, C = 2. Head 0: hidden max(2x, 0), logits (h, 0); head 1:
    // hidden max(−x, 0), logits (0, h). At x = ln 3 / 2 head 0 gives (3, 1)/4 and head 1,
    // whose hidden unit is off, (1, 1)/2.
    let shape = MlpShape {
        heads: 2,
        clusters: 2,
        dim: 1,
        hidden: 1,
    };
    let weights: MlpWeights = [&[2.0, -1.0], &[0.0, 0.0], &[1.0, 0.0, 0.0, 1.0], &[0.0; 4]];
    let p = shape.probabilities(weights, &[3f32.ln() / 2.0]);
    let expected = [0.75, 0.25, 0.5, 0.5];
    assert!(
        p.iter().zip(expected).all(|(a, b)| (a - b).abs() < 1e-6),
        "{p:?}"
    );
}
