//! Tests of the CPU operations against the portable candle compositions (an independent
//! implementation: candle's own conv2d / conv_transpose2d / reductions and autograd), on
//! small random tensors: forward values and every gradient, within 1e-4 of the largest
//! magnitude. Plus hand-worked cases, tie breaking, determinism and shape errors.

mod bf16;
mod conv;
mod fused;
mod norm_pool;

use candle_core::{Device, Tensor, Var};

/// Uniform values in [−1, 1) from a splitmix64 stream.
pub(super) fn data(n: usize, seed: u64) -> Vec<f32> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (0..n)
        .map(|_| {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            ((z ^ (z >> 31)) >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect()
}

pub(super) fn tensor(dims: &[usize], seed: u64) -> Tensor {
    let n = dims.iter().product();
    Tensor::from_vec(data(n, seed), dims, &Device::Cpu).unwrap()
}

/// Asserts `|a − b| ≤ 1e-4 · max|b|` element-wise.
pub(super) fn assert_close(a: &Tensor, b: &Tensor, what: &str) {
    assert_eq!(a.dims(), b.dims(), "{what}: shapes");
    let a: Vec<f32> = a.flatten_all().unwrap().to_vec1().unwrap();
    let b: Vec<f32> = b.flatten_all().unwrap().to_vec1().unwrap();
    let scale = b.iter().fold(1e-6f32, |m, v| m.max(v.abs()));
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        assert!(
            (x - y).abs() <= 1e-4 * scale,
            "{what}[{i}]: {x} vs {y} (scale {scale})"
        );
    }
}

/// Forward output and the gradients of `Σ out·r` with respect to `inputs`.
pub(super) fn run(inputs: &[Tensor], f: impl Fn(&[Tensor]) -> Tensor) -> (Tensor, Vec<Tensor>) {
    let vars: Vec<Var> = inputs
        .iter()
        .map(|t| Var::from_tensor(t).unwrap())
        .collect();
    let tensors: Vec<Tensor> = vars.iter().map(|v| v.as_tensor().clone()).collect();
    let out = f(&tensors);
    let r = tensor(out.dims(), 99);
    let grads = (&out * &r).unwrap().sum_all().unwrap().backward().unwrap();
    let grads = tensors
        .iter()
        .map(|t| grads.get(t).unwrap().clone())
        .collect();
    (out, grads)
}

/// Fast and portable give the same output and gradients for every input.
pub(super) fn compare(
    inputs: &[Tensor],
    fast: impl Fn(&[Tensor]) -> Tensor,
    slow: impl Fn(&[Tensor]) -> Tensor,
    what: &str,
) {
    let (out_fast, grads_fast) = run(inputs, fast);
    let (out_slow, grads_slow) = run(inputs, slow);
    assert_close(&out_fast, &out_slow, &format!("{what} forward"));
    for (i, (gf, gs)) in grads_fast.iter().zip(&grads_slow).enumerate() {
        assert_close(gf, gs, &format!("{what} gradient {i}"));
    }
}
