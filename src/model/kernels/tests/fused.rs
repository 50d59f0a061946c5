//! The fused conv → batch norm → ReLU → pool operation: the same values and gradients as
//! the separate CPU kernels, bit for bit (at f32 and at bf16), close to the portable
//! compositions, and clear errors for per-channel tensors of the wrong size.

use candle_core::{Tensor, Var};

use super::{compare, run, tensor};
use crate::linalg::{precision, Precision};
use crate::model::kernels::{self, portable, BlockCfg};

const EPS: f64 = 1e-5;

/// `x (B, H, W, Cin)`, `w (Cout, 3, 3, Cin)`, γ around 1 (some negative) and β.
fn inputs(x_dims: [usize; 4], cout: usize, seed: u64) -> [Tensor; 4] {
    let cin = x_dims[3];
    [
        tensor(&x_dims, seed).affine(2.0, 0.3).unwrap(),
        tensor(&[cout, 3, 3, cin], seed + 1),
        tensor(&[cout], seed + 2).affine(1.2, 0.6).unwrap(),
        tensor(&[cout], seed + 3),
    ]
}

fn cfg(stride: usize, pool: bool) -> BlockCfg {
    BlockCfg {
        stride,
        padding: 1,
        eps: EPS,
        pool,
    }
}

fn fused(t: &[Tensor], cfg: BlockCfg) -> (Tensor, Tensor, Tensor) {
    kernels::conv_bn_relu_train(&t[0], &t[1], (&t[2], &t[3]), cfg).unwrap()
}

fn separate(t: &[Tensor], cfg: BlockCfg) -> (Tensor, Tensor, Tensor) {
    let z = kernels::conv2d(&t[0], &t[1], cfg.stride, cfg.padding).unwrap();
    let (y, mean, var) = kernels::batch_norm_train(&z, &t[2], &t[3], cfg.eps, true).unwrap();
    let y = if cfg.pool {
        kernels::max_pool2(&y).unwrap()
    } else {
        y
    };
    (y, mean, var)
}

fn values(t: &Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1().unwrap()
}

/// Output, statistics and all four gradients of the fused and the separate kernels agree
/// to the bit.
fn assert_identical(t: &[Tensor], cfg: BlockCfg, what: &str) {
    let (out_f, grads_f) = run(t, |t| fused(t, cfg).0);
    let (out_s, grads_s) = run(t, |t| separate(t, cfg).0);
    assert_eq!(out_f.dims(), out_s.dims(), "{what}: output shape");
    assert_eq!(values(&out_f), values(&out_s), "{what}: output");
    for (i, name) in ["x", "w", "gamma", "beta"].iter().enumerate() {
        assert_eq!(values(&grads_f[i]), values(&grads_s[i]), "{what}: d{name}");
    }
    let ((_, mean_f, var_f), (_, mean_s, var_s)) = (fused(t, cfg), separate(t, cfg));
    assert_eq!(values(&mean_f), values(&mean_s), "{what}: mean");
    assert_eq!(values(&var_f), values(&var_s), "{what}: variance");
}

#[test]
fn fused_block_equals_the_separate_kernels_bit_for_bit() {
    // Odd sides (7 × 5) leave a row and a column the pool drops; stride 2 without a pool.
    let cases = [
        ([3, 7, 5, 4], 6, 1, true),
        ([3, 7, 5, 4], 6, 1, false),
        ([2, 8, 8, 3], 5, 2, false),
        ([4, 3, 3, 8], 16, 1, true),
    ];
    for (i, (x_dims, cout, stride, pool)) in cases.into_iter().enumerate() {
        let t = inputs(x_dims, cout, 10 * i as u64);
        let what = format!("{x_dims:?} → {cout}, stride {stride}, pool {pool}");
        assert_identical(&t, cfg(stride, pool), &what);
    }
}

#[test]
fn fused_block_equals_the_separate_kernels_at_bf16() {
    let _bf16 = precision::scoped(Precision::Bf16);
    let t = inputs([4, 12, 12, 16], 32, 7);
    assert_identical(&t, cfg(1, true), "bf16");
}

#[test]
fn fused_block_matches_the_portable_compositions() {
    let t = inputs([3, 6, 6, 3], 4, 21);
    let slow = |t: &[Tensor]| {
        let z = portable::conv2d(&t[0], &t[1], 1, 1).unwrap();
        let y = portable::batch_norm_train(&z, &t[2], &t[3], EPS, true).unwrap();
        portable::max_pool2(&y.0).unwrap()
    };
    compare(&t, |t| fused(t, cfg(1, true)).0, slow, "fused vs portable");
}

#[test]
fn an_input_without_gradient_gets_none_and_the_weights_still_learn() {
    let [x, w, gamma, beta] = inputs([2, 6, 6, 3], 4, 3);
    let w = Var::from_tensor(&w).unwrap();
    let (y, _, _) = kernels::conv_bn_relu_train(&x, &w, (&gamma, &beta), cfg(1, true)).unwrap();
    let grads = y.sum_all().unwrap().backward().unwrap();
    assert!(grads.get(&x).is_none());
    let dw = grads.get(w.as_tensor()).expect("dw");
    assert!(values(dw).iter().any(|v| *v != 0.0));
}

#[test]
fn per_channel_tensors_of_the_wrong_size_are_refused_by_name() {
    let [x, w, gamma, beta] = inputs([2, 6, 6, 3], 4, 5);
    let short = gamma.narrow(0, 0, 3).unwrap();
    let err = kernels::conv_bn_relu_train(&x, &w, (&short, &beta), cfg(1, true)).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("conv_bn_relu") && msg.contains("gamma"),
        "{msg}"
    );
    let err = kernels::conv_bn_relu_train(&x, &w, (&gamma, &short), cfg(1, true)).unwrap_err();
    assert!(err.to_string().contains("beta"), "{err}");
}
