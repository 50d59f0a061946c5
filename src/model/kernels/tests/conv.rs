//! Convolution: against candle's conv2d and autograd, adjointness, hand-worked values,
//! strided inputs, the f64 fallback, thread-count independence and error messages.

use candle_core::{DType, Device, Tensor};

use super::{assert_close, compare, data, tensor};
use crate::model::kernels::{self, conv, im2col::Geometry, portable};

/// `[batch, h, w, cin, cout, k, stride, padding]`
const CONVS: [[usize; 8]; 9] = [
    [2, 7, 5, 3, 4, 3, 1, 1],
    [2, 7, 5, 3, 4, 3, 2, 1],
    [3, 6, 6, 5, 2, 3, 1, 0],
    [2, 9, 7, 4, 3, 3, 2, 0],
    [2, 5, 5, 6, 7, 1, 1, 0],
    [2, 8, 6, 6, 5, 1, 2, 0],
    [1, 4, 5, 2, 3, 3, 1, 3],
    [19, 5, 5, 3, 4, 3, 1, 1],
    [3, 12, 12, 64, 8, 3, 2, 1],
];

#[test]
fn conv_matches_portable_forward_and_gradients() {
    for (i, &[b, h, w, cin, cout, k, s, p]) in CONVS.iter().enumerate() {
        let inputs = [
            tensor(&[b, h, w, cin], i as u64),
            tensor(&[cout, k, k, cin], 100 + i as u64),
        ];
        let fast = |t: &[Tensor]| kernels::conv2d(&t[0], &t[1], s, p).unwrap();
        let slow = |t: &[Tensor]| portable::conv2d(&t[0], &t[1], s, p).unwrap();
        compare(&inputs, fast, slow, &format!("conv {:?}", CONVS[i]));
    }
}

#[test]
fn conv_gradient_functions_match_portable() {
    for (i, &[b, h, w, cin, cout, k, s, p]) in CONVS.iter().enumerate() {
        let (x, wt) = (
            tensor(&[b, h, w, cin], i as u64),
            tensor(&[cout, k, k, cin], 7),
        );
        let dy = tensor(kernels::conv2d(&x, &wt, s, p).unwrap().dims(), 8);
        let fast = kernels::conv2d_input_grad(&dy, &wt, s, p, (h, w)).unwrap();
        let slow = portable::conv2d_input_grad(&dy, &wt, s, p, (h, w)).unwrap();
        assert_close(&fast, &slow, &format!("input grad {:?}", CONVS[i]));
        let fast = kernels::conv2d_weight_grad(&x, &dy, s, p, (k, k)).unwrap();
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
        let y = kernels::conv2d(&x, &w, 2, k / 2).unwrap();
        let dy = tensor(y.dims(), 3);
        let dx = kernels::conv2d_input_grad(&dy, &w, 2, k / 2, (7, 6)).unwrap();
        let dw = kernels::conv2d_weight_grad(&x, &dy, 2, k / 2, (k, k)).unwrap();
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
    let y: Vec<f32> = kernels::conv2d(&x, &w, 1, 0)
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
        &kernels::conv2d(&strided, &w, 1, 1).unwrap(),
        &reference,
        "strided input",
    );
    let (x64, w64) = (
        x.to_dtype(DType::F64).unwrap(),
        w.to_dtype(DType::F64).unwrap(),
    );
    let y64 = kernels::conv2d(&x64, &w64, 1, 1)
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
    let message = kernels::conv2d(&x, &tensor(&[2, 3, 3, 4], 2), 1, 1)
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("x has 3 channels") && message.contains("w expects 4"),
        "{message}"
    );
    let message = kernels::conv2d(&x, &tensor(&[2, 7, 7, 3], 2), 1, 0)
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("7×7 kernel") && message.contains("5×5"),
        "{message}"
    );
    let message = kernels::conv2d(&x, &tensor(&[2, 3, 3, 3], 2), 0, 0)
        .unwrap_err()
        .to_string();
    assert!(message.contains("stride 0"), "{message}");
}
