//! Convolutions at the bf16 precision a training operator sets for its thread: forward and
//! both gradients equal the f32 operations on bf16-rounded operands (on a CPU with a bf16 kernel).

use candle_core::Tensor;

use super::{assert_close, tensor};
use crate::linalg::{precision, Precision};
use crate::model::kernels::{self, portable};

/// `t` with every value rounded to the nearest bfloat16.
fn rounded(t: &Tensor) -> Tensor {
    let values: Vec<f32> = t.flatten_all().unwrap().to_vec1().unwrap();
    let values: Vec<f32> = values
        .iter()
        .map(|&v| half::bf16::from_f32(v).to_f32())
        .collect();
    Tensor::from_vec(values, t.dims(), t.device()).unwrap()
}

fn differs(a: &Tensor, b: &Tensor) -> bool {
    let (a, b): (Vec<f32>, Vec<f32>) = (
        a.flatten_all().unwrap().to_vec1().unwrap(),
        b.flatten_all().unwrap().to_vec1().unwrap(),
    );
    a != b
}

#[test]
fn convolutions_on_a_bf16_thread_multiply_rounded_operands() {
    if Precision::Bf16.kernel().is_none() {
        eprintln!("skipped: this CPU has no bf16 kernel, so Bf16 runs in f32");
        return;
    }
    let (s, p, (h, w)) = (1, 1, (12, 12));
    let x = tensor(&[6, h, w, 32], 1);
    let wt = tensor(&[64, 3, 3, 32], 2);
    let dy = tensor(&[6, h, w, 64], 3);
    let exact = kernels::conv2d(&x, &wt, s, p).unwrap();
    let _bf16 = precision::scoped(Precision::Bf16);
    let fast = kernels::conv2d(&x, &wt, s, p).unwrap();
    assert!(differs(&fast, &exact), "the forward pass ran in f32");
    let slow = portable::conv2d(&rounded(&x), &rounded(&wt), s, p).unwrap();
    assert_close(&fast, &slow, "forward");
    let fast = kernels::conv2d_input_grad(&dy, &wt, s, p, (h, w)).unwrap();
    let slow = portable::conv2d_input_grad(&rounded(&dy), &rounded(&wt), s, p, (h, w)).unwrap();
    assert_close(&fast, &slow, "input gradient");
    let fast = kernels::conv2d_weight_grad(&x, &dy, s, p, (3, 3)).unwrap();
    let slow = portable::conv2d_weight_grad(&rounded(&x), &rounded(&dy), s, p, (3, 3)).unwrap();
    assert_close(&fast, &slow, "weight gradient");
}

#[test]
fn convolutions_outside_the_scope_stay_f32() {
    let x = tensor(&[2, 7, 5, 3], 4);
    let wt = tensor(&[4, 3, 3, 3], 5);
    let before = kernels::conv2d(&x, &wt, 1, 1).unwrap();
    drop(precision::scoped(Precision::Bf16));
    let after = kernels::conv2d(&x, &wt, 1, 1).unwrap();
    assert!(!differs(&before, &after));
    assert_close(
        &after,
        &portable::conv2d(&x, &wt, 1, 1).unwrap(),
        "f32 forward",
    );
}
