//! Tests of the layers against values worked out by hand.

use candle_core::{Device, Tensor};

use super::*;

fn params() -> Params {
    Params::new(3, &Device::Cpu)
}

fn vec1(t: &Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1().unwrap()
}

fn close(a: &[f32], b: &[f32]) {
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() < 1e-5, "{a:?} vs {b:?}");
    }
}

#[test]
fn batch_norm_train_normalises_and_moves_running_stats_with_unbiased_variance() {
    let mut p = params();
    let bn = BatchNorm::new(&mut p, "bn", 2).unwrap();
    // Channel 0: 1, 2, 3, 4 → mean 2.5, biased var 1.25, unbiased 5/3.
    // Channel 1: all 2 → mean 2, var 0.
    let x = Tensor::new(&[[1f32, 2.], [2., 2.], [3., 2.], [4., 2.]], &Device::Cpu).unwrap();
    let y = bn.forward(&x, true, false).unwrap();
    let s = (1.25f32 + 1e-5).sqrt();
    close(
        &vec1(&y),
        &[-1.5 / s, 0., -0.5 / s, 0., 0.5 / s, 0., 1.5 / s, 0.],
    );
    // running ← 0.9·running + 0.1·batch, from mean 0 and var 1.
    close(&vec1(p.get("bn.running_mean").unwrap()), &[0.25, 0.2]);
    close(
        &vec1(p.get("bn.running_var").unwrap()),
        &[0.9 + 0.1 * 5. / 3., 0.9],
    );
}

#[test]
fn batch_norm_eval_uses_running_stats_and_leaves_them_alone() {
    let mut p = params();
    let bn = BatchNorm::new(&mut p, "bn", 2).unwrap();
    let cpu = Device::Cpu;
    p.get("bn.running_mean")
        .unwrap()
        .set(&Tensor::new(&[1f32, -1.], &cpu).unwrap())
        .unwrap();
    p.get("bn.running_var")
        .unwrap()
        .set(&Tensor::new(&[4f32, 0.25], &cpu).unwrap())
        .unwrap();
    p.get("bn.bias")
        .unwrap()
        .set(&Tensor::new(&[0f32, -10.], &cpu).unwrap())
        .unwrap();
    let x = Tensor::new(&[[[[3f32, 0.]]]], &cpu).unwrap();
    let y = bn.forward(&x, false, true).unwrap();
    // (3 − 1)/√(4 + ε) = 0.99999875; (0 + 1)/√(0.25 + ε) − 10 < 0 → ReLU 0.
    close(&vec1(&y), &[2. / (4f32 + 1e-5).sqrt(), 0.]);
    close(&vec1(p.get("bn.running_mean").unwrap()), &[1., -1.]);
}

#[test]
fn batch_norm_train_refuses_a_single_value_per_channel() {
    let mut p = params();
    let bn = BatchNorm::new(&mut p, "stage.bn", 3).unwrap();
    let x = Tensor::zeros((1, 1, 1, 3), candle_core::DType::F32, &Device::Cpu).unwrap();
    let err = bn.forward(&x, true, true).unwrap_err();
    assert!(matches!(err, ModelError::BatchTooSmall { layer } if layer == "stage.bn"));
}

#[test]
fn linear_is_x_times_w_transposed_plus_b() {
    let mut p = params();
    let lin = Linear::new(&mut p, "fc", (3, 2), true).unwrap();
    let cpu = Device::Cpu;
    p.get("fc.weight")
        .unwrap()
        .set(&Tensor::new(&[[1f32, 0., -1.], [2., 1., 0.]], &cpu).unwrap())
        .unwrap();
    p.get("fc.bias")
        .unwrap()
        .set(&Tensor::new(&[0.5f32, -0.5], &cpu).unwrap())
        .unwrap();
    let y = lin
        .forward(&Tensor::new(&[[1f32, 2., 3.]], &cpu).unwrap())
        .unwrap();
    // [1 − 3 + 0.5, 2 + 2 − 0.5]
    close(&vec1(&y), &[-1.5, 3.5]);
    assert_eq!(p.get("fc.weight").unwrap().dims(), [2, 3]);
}

/// A 3×3 conv without bias and its batch norm, in a fresh parameter set.
fn conv_bn(p: &mut Params) -> (Conv, BatchNorm) {
    let cfg = ConvCfg {
        cin: 2,
        cout: 3,
        kernel: 3,
        stride: 1,
        padding: 1,
        bias: false,
    };
    (
        Conv::new(p, "c", cfg).unwrap(),
        BatchNorm::new(p, "bn", 3).unwrap(),
    )
}

#[test]
fn fused_conv_bn_relu_gives_the_layers_values_and_running_stats() {
    let x = Tensor::arange(0f32, 2. * 5. * 4. * 2., &Device::Cpu)
        .unwrap()
        .reshape((2, 5, 4, 2))
        .unwrap()
        .sin()
        .unwrap();
    let (mut fused_p, mut layers_p) = (params(), params());
    let ((conv, bn), (conv2, bn2)) = (conv_bn(&mut fused_p), conv_bn(&mut layers_p));
    let fused = conv_bn_relu((&conv, &bn), &x, true, true).unwrap();
    let y = bn2
        .forward(&conv2.forward(&x).unwrap(), true, true)
        .unwrap();
    let layers = kernels::max_pool2(&y).unwrap();
    assert_eq!(fused.dims(), [2, 2, 2, 3]);
    assert_eq!(vec1(&fused), vec1(&layers));
    for name in ["bn.running_mean", "bn.running_var"] {
        let (a, b) = (fused_p.get(name).unwrap(), layers_p.get(name).unwrap());
        assert_eq!(vec1(a), vec1(b), "{name}");
    }
    // In evaluation mode both read the running statistics.
    let fused = conv_bn_relu((&conv, &bn), &x, false, false).unwrap();
    let layers = bn2
        .forward(&conv2.forward(&x).unwrap(), false, true)
        .unwrap();
    assert_eq!(vec1(&fused), vec1(&layers));
}

#[test]
fn fused_conv_bn_relu_refuses_a_single_value_per_channel() {
    let mut p = params();
    let (conv, bn) = conv_bn(&mut p);
    let x = Tensor::zeros((1, 1, 1, 2), candle_core::DType::F32, &Device::Cpu).unwrap();
    let err = conv_bn_relu((&conv, &bn), &x, true, false).unwrap_err();
    assert!(matches!(err, ModelError::BatchTooSmall { layer } if layer == "bn"));
}

#[test]
fn conv_adds_its_bias_per_output_channel() {
    let mut p = params();
    let cfg = ConvCfg {
        cin: 1,
        cout: 2,
        kernel: 1,
        stride: 1,
        padding: 0,
        bias: true,
    };
    let conv = Conv::new(&mut p, "c", cfg).unwrap();
    let cpu = Device::Cpu;
    p.get("c.weight")
        .unwrap()
        .set(
            &Tensor::new(&[2f32, -1.], &cpu)
                .unwrap()
                .reshape((2, 1, 1, 1))
                .unwrap(),
        )
        .unwrap();
    p.get("c.bias")
        .unwrap()
        .set(&Tensor::new(&[1f32, 10.], &cpu).unwrap())
        .unwrap();
    let x = Tensor::new(&[3f32, 4.], &cpu)
        .unwrap()
        .reshape((1, 1, 2, 1))
        .unwrap();
    let y = conv.forward(&x).unwrap();
    assert_eq!(y.dims(), [1, 1, 2, 2]);
    close(&vec1(&y), &[7., 7., 9., 6.]);
}

#[test]
fn dropout_is_seeded_scaled_and_off_in_evaluation() {
    let dropout = Dropout::new(0.25).unwrap();
    let x = Tensor::ones((100, 100), candle_core::DType::F32, &Device::Cpu).unwrap();
    let a = vec1(&dropout.forward(&x, Some(5)).unwrap());
    assert_eq!(a, vec1(&dropout.forward(&x, Some(5)).unwrap()));
    assert_ne!(a, vec1(&dropout.forward(&x, Some(6)).unwrap()));
    assert!(a.iter().all(|&v| v == 0.0 || (v - 4.0 / 3.0).abs() < 1e-6));
    let dropped = a.iter().filter(|&&v| v == 0.0).count() as f64 / 10_000.0;
    assert!((dropped - 0.25).abs() < 0.02, "dropped {dropped}");
    assert_eq!(vec1(&dropout.forward(&x, None).unwrap()), vec![1.0; 10_000]);
    assert!(matches!(
        Dropout::new(1.0),
        Err(ModelError::Config {
            field: "Dropout.p",
            ..
        })
    ));
}
