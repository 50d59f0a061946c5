//! Tests of the encoders: parameter counts against published figures, output shapes,
//! RON descriptions and input checks.

use candle_core::{DType, Device, Tensor};

use super::*;
use crate::spec::ron_options;

fn build(kind: &EncoderKind) -> (Encoder, Params) {
    let mut params = Params::new(0, &Device::Cpu);
    let encoder = Encoder::new(kind, &mut params, "encoder.").unwrap();
    (encoder, params)
}

fn images(b: usize, side: usize) -> Tensor {
    Tensor::randn(0f32, 1f32, (b, side, side, 3), &Device::Cpu).unwrap()
}

#[test]
fn small_cnn_counts_its_convs_and_batch_norms() {
    let (encoder, params) = build(&EncoderKind::default());
    let widths = [3usize, 32, 64, 128, 256];
    let convs: usize = widths.windows(2).map(|w| w[0] * 9 * w[1]).sum();
    let bn: usize = widths[1..].iter().map(|w| 2 * w).sum();
    assert_eq!(params.trainable_count(), convs + bn);
    assert_eq!(params.trainable_count(), 388_896);
    assert_eq!(params.buffer_count(), bn);
    assert_eq!(encoder.out_dim(), 256);
    assert_eq!(
        params.get("encoder.features.12.weight").unwrap().dims(),
        [256, 3, 3, 128]
    );
    assert!(params.get("encoder.features.13.running_var").is_some());
}

#[test]
fn resnet18_cifar_has_torchvisions_parameter_count_and_names() {
    // torchvision resnet18: 11,689,512 − fc (512·1000 + 1000) − 7×7 stem (9,408) + 3×3 stem
    // (1,728) = 11,168,832.
    let (encoder, params) = build(&EncoderKind::ResNet18Cifar);
    assert_eq!(
        params.trainable_count(),
        11_689_512 - 513_000 - 9_408 + 1_728
    );
    assert_eq!(params.trainables().len(), 60);
    assert_eq!(params.buffers().len(), 40);
    assert_eq!(encoder.out_dim(), 512);
    let downsample = params.get("encoder.layer2.0.downsample.0.weight").unwrap();
    assert_eq!(downsample.dims(), [128, 1, 1, 64]);
    assert!(params.get("encoder.layer1.0.downsample.0.weight").is_none());
    assert_eq!(
        params.get("encoder.layer4.1.conv2.weight").unwrap().dims(),
        [512, 3, 3, 512]
    );
}

#[test]
fn resnet50_v2_has_keras_parameter_count() {
    // Keras ResNet50V2(include_top=False).summary(): 23,519,360 trainable, 45,440
    // non-trainable (moving mean/variance). We drop the stem conv's 64 biases and add
    // Dense(256): 2048·256 + 256.
    let (encoder, params) = build(&EncoderKind::ResNet50V2 { dense: 256 });
    assert_eq!(params.trainable_count(), 23_519_360 - 64 + 2048 * 256 + 256);
    assert_eq!(params.buffer_count(), 45_440);
    assert_eq!(encoder.out_dim(), 256);
    let first_shortcut = params.get("encoder.conv3_block1_0_conv.weight").unwrap();
    assert_eq!(first_shortcut.dims(), [512, 1, 1, 256]);
    assert_eq!(
        params.get("encoder.dense.weight").unwrap().dims(),
        [256, 2048]
    );
}

#[test]
fn every_encoder_maps_images_to_features_in_both_modes() {
    let cases = [
        (EncoderKind::small_cnn(vec![8, 16]), 8, 16),
        (EncoderKind::default(), 16, 256),
        (
            EncoderKind::SmallCnn {
                widths: vec![8, 16],
                convs_per_block: 3,
            },
            8,
            16,
        ),
        (EncoderKind::ResNet18Cifar, 8, 512),
        (EncoderKind::ResNet50V2 { dense: 32 }, 32, 32),
    ];
    for (kind, side, dim) in cases {
        let (encoder, _) = build(&kind);
        let x = images(2, side);
        for train in [true, false] {
            let y = encoder.forward(&x, train).unwrap();
            assert_eq!(y.dims(), [2, dim], "{kind:?} train={train}");
            let values: Vec<f32> = y.flatten_all().unwrap().to_vec1().unwrap();
            assert!(values.iter().all(|v| v.is_finite()), "{kind:?}");
        }
    }
}

#[test]
fn encoder_kinds_read_from_ron_with_defaults() {
    let parse = |text: &str| ron_options().from_str::<EncoderKind>(text);
    assert_eq!(
        parse("SmallCnn(widths: [8, 16])").unwrap(),
        EncoderKind::small_cnn(vec![8, 16])
    );
    assert_eq!(parse("SmallCnn()").unwrap(), EncoderKind::default());
    assert_eq!(parse("ResNet18Cifar").unwrap(), EncoderKind::ResNet18Cifar);
    assert_eq!(
        parse("ResNet50V2(dense: 64)").unwrap(),
        EncoderKind::ResNet50V2 { dense: 64 }
    );
    assert_eq!(
        parse("ResNet50V2()").unwrap(),
        EncoderKind::ResNet50V2 { dense: 256 }
    );
    assert_eq!(
        parse("SmallCnn(widths: [8], convs_per_block: 2)").unwrap(),
        EncoderKind::SmallCnn {
            widths: vec![8],
            convs_per_block: 2
        }
    );
    assert!(parse("SmallCnn(width: [8])").is_err());
    assert!(parse("ResNet34").is_err());
}

#[test]
fn bad_configurations_and_inputs_are_refused() {
    let mut params = Params::new(0, &Device::Cpu);
    let empty = Encoder::new(&EncoderKind::small_cnn(vec![]), &mut params, "");
    assert!(matches!(
        empty,
        Err(ModelError::Config {
            field: "SmallCnn.widths",
            ..
        })
    ));
    let flat = EncoderKind::SmallCnn {
        widths: vec![8],
        convs_per_block: 0,
    };
    assert!(matches!(
        Encoder::new(&flat, &mut params, ""),
        Err(ModelError::Config {
            field: "SmallCnn.convs_per_block",
            ..
        })
    ));
    let zero = Encoder::new(&EncoderKind::ResNet50V2 { dense: 0 }, &mut params, "");
    assert!(matches!(
        zero,
        Err(ModelError::Config {
            field: "ResNet50V2.dense",
            ..
        })
    ));
    let (encoder, _) = build(&EncoderKind::default());
    let too_small = encoder.forward(&images(2, 8), false).unwrap_err();
    assert!(too_small.to_string().contains("H, W ≥ 16"), "{too_small}");
    let nchw = Tensor::zeros((2, 3, 16, 16), DType::F32, &Device::Cpu).unwrap();
    assert!(matches!(
        encoder.forward(&nchw, false),
        Err(ModelError::Input { .. })
    ));
    let f64_input = images(2, 16).to_dtype(DType::F64).unwrap();
    assert!(matches!(
        encoder.forward(&f64_input, false),
        Err(ModelError::Input { .. })
    ));
}

#[test]
fn residual_layers_are_named_after_their_block_and_keep_its_width() {
    let kind = EncoderKind::SmallCnn {
        widths: vec![8, 16],
        convs_per_block: 2,
    };
    let (_, params) = build(&kind);
    // Per block: the widening conv (3·3·cin·w) and one residual conv (3·3·w·w), each with a
    // batch norm's scale and shift.
    let convs = 9 * (3 * 8 + 8 * 8 + 8 * 16 + 16 * 16);
    assert_eq!(params.trainable_count(), convs + 2 * 2 * (8 + 16));
    let residual = params.get("encoder.features.4.res1.conv.weight").unwrap();
    assert_eq!(residual.dims(), [16, 3, 3, 16]);
    assert!(params.get("encoder.features.5.weight").is_some());
}

#[test]
fn one_conv_per_block_is_left_out_of_the_written_architecture() {
    // Models and cache keys written before `convs_per_block` existed stay valid.
    let written = serde_json::to_value(EncoderKind::default()).unwrap();
    assert_eq!(
        written,
        serde_json::json!({"SmallCnn": {"widths": [32, 64, 128, 256]}})
    );
    let deeper = EncoderKind::SmallCnn {
        widths: vec![8],
        convs_per_block: 2,
    };
    let back: EncoderKind = serde_json::from_value(serde_json::to_value(&deeper).unwrap()).unwrap();
    assert_eq!(back, deeper);
}
