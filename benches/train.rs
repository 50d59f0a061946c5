//! Encoder throughput on the CPU, side by side with PyTorch's `bench_train.py`
//! (`../shared/reference/torch`): a full SimCLR step (2 views of a batch, forward, NT-Xent at
//! T = 0.1, backward, SGD lr 0.4 momentum 0.9 wd 1e-4) and inference (evaluation mode), on
//! synthetic pre-augmented input, images/s = source images per second.
//!
//! `cargo bench --bench train -- [smallcnn|resnet18] [batch] [steps] [reps] [side] [f32|bf16]`
//! (`side`: the square input's side, 32 by default; `bf16`: the convolutions' products in
//! bf16, as `SimClr(precision: Bf16)` runs them; `cifar-cpu.ron` trains at 24 in bf16).
//! Peer: `$PY bench_train.py smallcnn train 256 3 3 1` (channels_last).

use std::time::Instant;

use candle_core::{Device, Tensor};
use scanflow::linalg::{precision, Precision};
use scanflow::model::encoder::EncoderKind;
use scanflow::model::head::HeadKind;
use scanflow::model::loss::nt_xent;
use scanflow::model::network::ContrastiveModel;
use scanflow::model::optim::OptimizerKind;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    scanflow::model::kernels::alloc::retain_freed_memory();
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let name = args.first().map_or("smallcnn", String::as_str);
    let batch: usize = args.get(1).map_or(Ok(256), |s| s.parse())?;
    let steps: usize = args.get(2).map_or(Ok(3), |s| s.parse())?;
    let reps: usize = args.get(3).map_or(Ok(3), |s| s.parse())?;
    let side: usize = args.get(4).map_or(Ok(32), |s| s.parse())?;
    let precision = match args.get(5).map(String::as_str) {
        Some("bf16") => Precision::Bf16,
        _ => Precision::F32,
    };
    let _precision = precision::scoped(precision);
    let encoder = match name {
        "resnet18" => EncoderKind::ResNet18Cifar,
        _ => EncoderKind::default(),
    };
    // The peer's head: Linear(d, d) – ReLU – Linear(d, 128), no batch norm.
    let head: HeadKind = ron::from_str("Mlp(batch_norm: false)")?;
    let device = Device::Cpu;
    let model = ContrastiveModel::new(&encoder, &head, 0, &device)?;
    let optimizer: OptimizerKind =
        ron::from_str("Sgd(lr: 0.4, momentum: 0.9, weight_decay: 1e-4)")?;
    let mut optimizer = optimizer.build(model.params().trainables())?;
    let train_x = Tensor::randn(0f32, 1f32, (2 * batch, side, side, 3), &device)?;
    let infer_x = Tensor::randn(0f32, 1f32, (batch, side, side, 3), &device)?;
    let mut train_step = || -> anyhow::Result<()> {
        let z = model.forward(&train_x, true)?;
        let loss = nt_xent(&z, 2, 0.1)?;
        let grads = loss.backward()?;
        optimizer.step(&grads, 0.4)?;
        Ok(())
    };
    let train = measure(&mut train_step, batch, steps, reps)?;
    let mut infer_step = || -> anyhow::Result<()> {
        model.forward(&infer_x, false)?;
        Ok(())
    };
    let infer = measure(&mut infer_step, batch, steps, reps)?;
    println!("{name} batch {batch}, {side}×{side}, {precision:?}: train {train:.1} img/s, inference {infer:.1} img/s (medians of {reps}×{steps} steps, {} threads)", candle_core::utils::get_num_threads());
    Ok(())
}

/// Median images/s over `reps` timed runs of `steps` steps, after one warm-up step.
fn measure(
    step: &mut dyn FnMut() -> anyhow::Result<()>,
    batch: usize,
    steps: usize,
    reps: usize,
) -> anyhow::Result<f64> {
    step()?;
    let mut rates = Vec::with_capacity(reps);
    for _ in 0..reps {
        let start = Instant::now();
        for _ in 0..steps {
            step()?;
        }
        rates.push((steps * batch) as f64 / start.elapsed().as_secs_f64());
    }
    rates.sort_by(f64::total_cmp);
    Ok(rates[rates.len() / 2])
}
