//! The CPU operations against the portable candle compositions (an independent
//! implementation: candle's own conv2d / conv_transpose2d / reductions and autograd), on
//! small random tensors: forward values and every gradient, within 1e-4 of the largest
//! magnitude. Plus hand-worked cases, tie breaking, determinism and shape errors.

use candle_core::{DType, Device, Tensor, Var};

use super::im2col::Geometry;
use super::{conv, portable};

/// Uniform values in [−1, 1) from a splitmix64 stream.
fn data(n: usize, seed: u64) -> Vec<f32> {
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

fn tensor(dims: &[usize], seed: u64) -> Tensor {
    let n = dims.iter().product();
    Tensor::from_vec(data(n, seed), dims, &Device::Cpu).unwrap()
}

/// Asserts `|a − b| ≤ 1e-4 · max|b|` element-wise.
fn assert_close(a: &Tensor, b: &Tensor, what: &str) {
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
fn run(inputs: &[Tensor], f: impl Fn(&[Tensor]) -> Tensor) -> (Tensor, Vec<Tensor>) {
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
fn compare(
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

/// (batch, h, w, cin, cout, k, stride, padding)
type ConvCase = (usize, usize, usize, usize, usize, usize, usize, usize);
const CONVS: [ConvCase; 9] = [
    (2, 7, 5, 3, 4, 3, 1, 1),
    (2, 7, 5, 3, 4, 3, 2, 1),
    (3, 6, 6, 5, 2, 3, 1, 0),
    (2, 9, 7, 4, 3, 3, 2, 0),
    (2, 5, 5, 6, 7, 1, 1, 0),
    (2, 8, 6, 6, 5, 1, 2, 0),
    (1, 4, 5, 2, 3, 3, 1, 3),
    (19, 5, 5, 3, 4, 3, 1, 1),
    (3, 12, 12, 64, 8, 3, 2, 1),
];

#[test]
fn conv_matches_portable_forward_and_gradients() {
    for (i, &(b, h, w, cin, cout, k, s, p)) in CONVS.iter().enumerate() {
        let inputs = [
            tensor(&[b, h, w, cin], i as u64),
            tensor(&[cout, k, k, cin], 100 + i as u64),
        ];
        let fast = |t: &[Tensor]| super::conv2d(&t[0], &t[1], s, p).unwrap();
        let slow = |t: &[Tensor]| portable::conv2d(&t[0], &t[1], s, p).unwrap();
        compare(&inputs, fast, slow, &format!("conv {:?}", CONVS[i]));
    }
}

#[test]
fn conv_gradient_functions_match_portable() {
    for (i, &(b, h, w, cin, cout, k, s, p)) in CONVS.iter().enumerate() {
        let (x, wt) = (
            tensor(&[b, h, w, cin], i as u64),
            tensor(&[cout, k, k, cin], 7),
        );
        let dy = tensor(super::conv2d(&x, &wt, s, p).unwrap().dims(), 8);
        let fast = super::conv2d_input_grad(&dy, &wt, s, p, (h, w)).unwrap();
        let slow = portable::conv2d_input_grad(&dy, &wt, s, p, (h, w)).unwrap();
        assert_close(&fast, &slow, &format!("input grad {:?}", CONVS[i]));
        let fast = super::conv2d_weight_grad(&x, &dy, s, p, (k, k)).unwrap();
        let slow = portable::conv2d_weight_grad(&x, &dy, s, p, (k, k)).unwrap();
        assert_close(&fast, &slow, &format!("weight grad {:?}", CONVS[i]));
    }
}

/// Σ a·b over all elements.
fn dot(a: &Tensor, b: &Tensor) -> f32 {
    (a * b).unwrap().sum_all().unwrap().to_scalar().unwrap()
}

#[test]
fn conv_gradients_are_adjoint_where_candle_backward_fails() {
    // Stride 2 on a 7×6 input: candle's own conv2d backward takes one output padding for
    // both axes and fails. The gradients are checked through adjointness instead:
    // ⟨conv(x, w), dy⟩ = ⟨x, dX(dy)⟩ = ⟨w, dW(x, dy)⟩, as the convolution is bilinear.
    for k in [1, 3] {
        let (x, w) = (tensor(&[2, 7, 6, 3], 1), tensor(&[4, k, k, 3], 2));
        let y = super::conv2d(&x, &w, 2, k / 2).unwrap();
        let dy = tensor(y.dims(), 3);
        let dx = super::conv2d_input_grad(&dy, &w, 2, k / 2, (7, 6)).unwrap();
        let dw = super::conv2d_weight_grad(&x, &dy, 2, k / 2, (k, k)).unwrap();
        let (lhs, by_x, by_w) = (dot(&y, &dy), dot(&x, &dx), dot(&w, &dw));
        assert!(
            (lhs - by_x).abs() < 1e-4 * lhs.abs().max(1.0),
            "k {k}: {lhs} vs {by_x}"
        );
        assert!(
            (lhs - by_w).abs() < 1e-4 * lhs.abs().max(1.0),
            "k {k}: {lhs} vs {by_w}"
        );
        let portable = portable::conv2d_input_grad(&dy, &w, 2, k / 2, (7, 6)).unwrap();
        assert_close(&dx, &portable, "per-axis output padding");
    }
}

#[test]
fn conv_hand_worked() {
    // x = 1..9 on a 3×3 grid, w = [[1, 0], [0, −1]]: y[i][j] = x[i][j] − x[i+1][j+1] = −4.
    let x = Tensor::arange(1f32, 10., &Device::Cpu)
        .unwrap()
        .reshape((1, 3, 3, 1))
        .unwrap();
    let w = Tensor::new(&[1f32, 0., 0., -1.], &Device::Cpu)
        .unwrap()
        .reshape((1, 2, 2, 1))
        .unwrap();
    let y: Vec<f32> = super::conv2d(&x, &w, 1, 0)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    assert_eq!(y, [-4.0; 4]);
}

#[test]
fn conv_on_transposed_input_and_f64_fallback() {
    let x = tensor(&[2, 5, 6, 3], 1);
    let w = tensor(&[4, 3, 3, 3], 2);
    let reference = portable::conv2d(&x, &w, 1, 1).unwrap();
    let strided = x
        .transpose(1, 2)
        .unwrap()
        .contiguous()
        .unwrap()
        .transpose(1, 2)
        .unwrap();
    assert!(!strided.is_contiguous());
    assert_close(
        &super::conv2d(&strided, &w, 1, 1).unwrap(),
        &reference,
        "strided input",
    );
    let (x64, w64) = (
        x.to_dtype(DType::F64).unwrap(),
        w.to_dtype(DType::F64).unwrap(),
    );
    let y64 = super::conv2d(&x64, &w64, 1, 1)
        .unwrap()
        .to_dtype(DType::F32)
        .unwrap();
    assert_close(&y64, &reference, "f64 through the portable path");
}

#[test]
fn conv_is_bit_identical_for_any_thread_count() {
    let g = Geometry::new("test", [21, 9, 9, 16], [24, 3, 3, 16], 1, 1).unwrap();
    let x = data(21 * 9 * 9 * 16, 1);
    let w = data(24 * 9 * 16, 2);
    let dy = data(21 * 9 * 9 * 24, 3);
    let fwd: Vec<_> = [1, 2, 16]
        .into_iter()
        .map(|t| conv::forward(&g, &x, &w, t).unwrap())
        .collect();
    let dx: Vec<_> = [1, 2, 16]
        .into_iter()
        .map(|t| conv::backward_input(&g, &dy, &w, t).unwrap())
        .collect();
    let dw: Vec<_> = [1, 2, 16]
        .into_iter()
        .map(|t| conv::backward_weight(&g, &x, &dy, t).unwrap())
        .collect();
    for results in [fwd, dx, dw] {
        let bits: Vec<Vec<u32>> = results
            .iter()
            .map(|r| r.iter().map(|v| v.to_bits()).collect())
            .collect();
        assert!(bits.windows(2).all(|p| p[0] == p[1]));
    }
}

#[test]
fn conv_errors_name_the_tensors() {
    let x = tensor(&[1, 5, 5, 3], 1);
    let message = super::conv2d(&x, &tensor(&[2, 3, 3, 4], 2), 1, 1)
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("x has 3 channels") && message.contains("w expects 4"),
        "{message}"
    );
    let message = super::conv2d(&x, &tensor(&[2, 7, 7, 3], 2), 1, 0)
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("7×7 kernel") && message.contains("5×5"),
        "{message}"
    );
    let message = super::conv2d(&x, &tensor(&[2, 3, 3, 3], 2), 0, 0)
        .unwrap_err()
        .to_string();
    assert!(message.contains("stride 0"), "{message}");
}

/// Inputs of batch norm: `x`, γ (around 1) and β.
fn bn_inputs(dims: &[usize], seed: u64) -> [Tensor; 3] {
    let c = *dims.last().unwrap();
    let gamma = tensor(&[c], seed + 1).affine(0.5, 1.0).unwrap();
    [
        tensor(dims, seed).affine(3.0, 0.5).unwrap(),
        gamma,
        tensor(&[c], seed + 2),
    ]
}

#[test]
fn batch_norm_train_matches_portable() {
    for (i, dims) in [&[3, 5, 4, 6][..], &[7, 5], &[70, 3, 3, 2]]
        .into_iter()
        .enumerate()
    {
        for relu in [false, true] {
            let what = format!("batch_norm_train {dims:?} relu {relu}");
            let inputs = bn_inputs(dims, i as u64);
            let fast = |t: &[Tensor]| {
                super::batch_norm_train(&t[0], &t[1], &t[2], 1e-5, relu)
                    .unwrap()
                    .0
            };
            let slow = |t: &[Tensor]| {
                portable::batch_norm_train(&t[0], &t[1], &t[2], 1e-5, relu)
                    .unwrap()
                    .0
            };
            compare(&inputs, fast, slow, &what);
            let (_, mean, var) =
                super::batch_norm_train(&inputs[0], &inputs[1], &inputs[2], 1e-5, relu).unwrap();
            let (_, m, v) =
                portable::batch_norm_train(&inputs[0], &inputs[1], &inputs[2], 1e-5, relu).unwrap();
            assert_close(&mean, &m, &format!("{what} mean"));
            assert_close(&var, &v, &format!("{what} var"));
        }
    }
}

#[test]
fn batch_norm_train_hand_worked() {
    // One channel, x = [1, 2, 3, 6]: mean 3, biased variance (4 + 1 + 0 + 9)/4 = 3.5.
    let x = Tensor::new(&[[1f32], [2.], [3.], [6.]], &Device::Cpu).unwrap();
    let (one, zero) = (
        Tensor::new(&[1f32], &Device::Cpu).unwrap(),
        Tensor::new(&[0f32], &Device::Cpu).unwrap(),
    );
    let (y, mean, var) = super::batch_norm_train(&x, &one, &zero, 0.0, true).unwrap();
    assert_eq!(mean.to_vec1::<f32>().unwrap(), [3.0]);
    assert_eq!(var.to_vec1::<f32>().unwrap(), [3.5]);
    let y: Vec<f32> = y.flatten_all().unwrap().to_vec1().unwrap();
    let expected = [0.0, 0.0, 0.0, 3.0 / 3.5f32.sqrt()];
    assert!(
        y.iter().zip(expected).all(|(a, b)| (a - b).abs() < 1e-6),
        "{y:?}"
    );
}

#[test]
fn batch_norm_eval_matches_portable() {
    for relu in [false, true] {
        let [x, gamma, beta] = bn_inputs(&[4, 3, 5, 6], 3);
        let mean = tensor(&[6], 20);
        let var = (tensor(&[6], 21) + 1.5).unwrap();
        let (m, v) = (mean.clone(), var.clone());
        let fast =
            |t: &[Tensor]| super::batch_norm_eval(&t[0], &t[1], &t[2], &m, &v, 1e-5, relu).unwrap();
        let slow = |t: &[Tensor]| {
            portable::batch_norm_eval(&t[0], &t[1], &t[2], &mean, &var, 1e-5, relu).unwrap()
        };
        compare(
            &[x, gamma, beta],
            fast,
            slow,
            &format!("batch_norm_eval relu {relu}"),
        );
    }
}

#[test]
fn batch_norm_errors_name_the_tensor() {
    let [x, gamma, _] = bn_inputs(&[2, 3, 3, 4], 1);
    let beta = tensor(&[5], 2);
    let message = super::batch_norm_train(&x, &gamma, &beta, 1e-5, false)
        .unwrap_err()
        .to_string();
    assert!(message.contains("beta must have shape [4]"), "{message}");
}

#[test]
fn max_pool_matches_portable() {
    for (i, dims) in [[2, 7, 5, 3], [3, 4, 6, 5], [1, 2, 2, 1]]
        .into_iter()
        .enumerate()
    {
        let fast = |t: &[Tensor]| super::max_pool2(&t[0]).unwrap();
        let slow = |t: &[Tensor]| portable::max_pool2(&t[0]).unwrap();
        compare(
            &[tensor(&dims, i as u64)],
            fast,
            slow,
            &format!("max_pool2 {dims:?}"),
        );
    }
}

#[test]
fn max_pool_ties_go_to_the_first_maximum() {
    // One 2×3 image, one channel: the window [[5, 5], [1, 5]] ties three ways; the first
    // (top-left) takes the gradient. The third column is dropped.
    let x = Tensor::new(&[5f32, 5., 9., 1., 5., 9.], &Device::Cpu)
        .unwrap()
        .reshape((1, 2, 3, 1))
        .unwrap();
    let var = Var::from_tensor(&x).unwrap();
    let y = super::max_pool2(var.as_tensor()).unwrap();
    assert_eq!(y.flatten_all().unwrap().to_vec1::<f32>().unwrap(), [5.0]);
    let grads = (y * 2.0).unwrap().sum_all().unwrap().backward().unwrap();
    let dx: Vec<f32> = grads
        .get(var.as_tensor())
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    assert_eq!(dx, [2.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
}

#[test]
fn batch_norm_and_pool_are_bit_identical_run_to_run() {
    let [x, gamma, beta] = bn_inputs(&[64, 8, 8, 32], 5);
    let once = || {
        let (out, grads) = run(&[x.clone(), gamma.clone(), beta.clone()], |t| {
            let y = super::batch_norm_train(&t[0], &t[1], &t[2], 1e-5, true)
                .unwrap()
                .0;
            super::max_pool2(&y).unwrap()
        });
        let all = std::iter::once(out).chain(grads);
        all.flat_map(|t| t.flatten_all().unwrap().to_vec1::<f32>().unwrap())
            .map(f32::to_bits)
            .collect::<Vec<_>>()
    };
    assert_eq!(once(), once());
}
