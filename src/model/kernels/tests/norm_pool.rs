//! Batch norm (train and eval, with and without ReLU) and 2×2 max-pooling: against the
//! portable compositions, hand-worked values, tie breaking, determinism and errors.

use candle_core::{Device, Tensor, Var};

use super::{assert_close, compare, run, tensor};
use crate::model::kernels::{self, portable};

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
                kernels::batch_norm_train(&t[0], &t[1], &t[2], 1e-5, relu)
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
                kernels::batch_norm_train(&inputs[0], &inputs[1], &inputs[2], 1e-5, relu).unwrap();
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
    let (y, mean, var) = kernels::batch_norm_train(&x, &one, &zero, 0.0, true).unwrap();
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
        let fast = |t: &[Tensor]| {
            kernels::batch_norm_eval(&t[0], &t[1], &t[2], &m, &v, 1e-5, relu).unwrap()
        };
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
    let message = kernels::batch_norm_train(&x, &gamma, &beta, 1e-5, false)
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
        let fast = |t: &[Tensor]| kernels::max_pool2(&t[0]).unwrap();
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
    let y = kernels::max_pool2(var.as_tensor()).unwrap();
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
            let y = kernels::batch_norm_train(&t[0], &t[1], &t[2], 1e-5, true)
                .unwrap()
                .0;
            kernels::max_pool2(&y).unwrap()
        });
        let all = std::iter::once(out).chain(grads);
        all.flat_map(|t| t.flatten_all().unwrap().to_vec1::<f32>().unwrap())
            .map(f32::to_bits)
            .collect::<Vec<_>>()
    };
    assert_eq!(once(), once());
}
