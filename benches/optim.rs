//! Training-side benchmark on a ResNet-18-sized parameter set (CIFAR variant, 11.2 M
//! parameters in 62 tensors): one optimiser step of ours (in-place CPU path) against
//! candle-nn's (a chain of candle operations) side by side, NT-Xent and the Keras loss
//! forward + backward on 1024 × 128 features (batch 512, 2 views), and a checkpoint of the
//! parameters with AdamW state saved and loaded.
//!
//! Run with:
//!
//! ```text
//! cargo bench --bench optim          # TRAIN_RUNS=5 by default; medians are printed
//! ```

use std::time::Instant;

use candle_core::{Device, Tensor, Var};
use candle_nn::Optimizer as _;
use scanflow::model::checkpoint::Checkpoint;
use scanflow::model::loss::{keras_contrastive, nt_xent};
use scanflow::model::optim::OptimizerKind;
use scanflow::rng::SplitMix64;

fn main() -> candle_core::Result<()> {
    let runs: usize = std::env::var("TRAIN_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let params = resnet18_like()?;
    let count: usize = params.iter().map(|(_, v)| v.elem_count()).sum();
    println!("{} parameter tensors, {count} parameters", params.len());
    optimiser_steps(&params, runs)?;
    losses(runs)?;
    checkpoint(&params, runs)
}

/// Tensor shapes of a CIFAR ResNet-18 (3×3 stem, 4 stages of 2 basic blocks, 10-way head).
fn resnet18_like() -> candle_core::Result<Vec<(String, Var)>> {
    let mut shapes: Vec<Vec<usize>> = vec![vec![64, 3, 3, 3], vec![64], vec![64]];
    let mut cin = 64;
    for cout in [64, 128, 256, 512] {
        for block in 0..2 {
            let first_in = if block == 0 { cin } else { cout };
            shapes.extend([vec![cout, first_in, 3, 3], vec![cout], vec![cout]]);
            shapes.extend([vec![cout, cout, 3, 3], vec![cout], vec![cout]]);
            if block == 0 && cin != cout {
                shapes.extend([vec![cout, cin, 1, 1], vec![cout], vec![cout]]);
            }
        }
        cin = cout;
    }
    shapes.extend([vec![10, 512], vec![10]]);
    let mut rng = SplitMix64::new(1);
    shapes
        .into_iter()
        .enumerate()
        .map(|(i, shape)| {
            let n: usize = shape.iter().product();
            let values: Vec<f32> = (0..n).map(|_| rng.uniform_f32(-0.1, 0.1)).collect();
            Ok((
                format!("p{i}"),
                Var::from_tensor(&Tensor::from_vec(values, shape, &Device::Cpu)?)?,
            ))
        })
        .collect()
}

/// One step of ours and candle-nn's optimisers, alternating, with fixed gradients.
fn optimiser_steps(params: &[(String, Var)], runs: usize) -> candle_core::Result<()> {
    let loss = params
        .iter()
        .try_fold(Tensor::new(0f32, &Device::Cpu)?, |acc, (_, v)| {
            acc + v.as_tensor().sqr()?.sum_all()?
        })?;
    let grads = loss.backward()?;
    let vars: Vec<Var> = params.iter().map(|(_, v)| v.clone()).collect();
    let adamw = OptimizerKind::AdamW {
        lr: 1e-3,
        betas: (0.9, 0.999),
        eps: 1e-8,
        weight_decay: 1e-4,
        decay_bn_and_bias: true,
    };
    let sgd = OptimizerKind::Sgd {
        lr: 1e-3,
        momentum: 0.9,
        nesterov: false,
        weight_decay: 1e-4,
        decay_bn_and_bias: true,
    };
    let mut ours_adamw = adamw.build(params).map_err(candle_core::Error::wrap)?;
    let mut ours_sgd = sgd.build(params).map_err(candle_core::Error::wrap)?;
    let config = candle_nn::ParamsAdamW {
        lr: 1e-3,
        weight_decay: 1e-4,
        ..Default::default()
    };
    let mut theirs_adamw = candle_nn::AdamW::new(vars.clone(), config)?;
    let mut theirs_sgd = candle_nn::SGD::new(vars, 1e-3)?;
    let mut times = [vec![], vec![], vec![], vec![]];
    for _ in 0..runs {
        times[0].push(seconds(|| ours_adamw.step(&grads, 1e-3))?);
        times[1].push(seconds(|| theirs_adamw.step(&grads))?);
        times[2].push(seconds(|| ours_sgd.step(&grads, 1e-3))?);
        times[3].push(seconds(|| theirs_sgd.step(&grads))?);
    }
    report("AdamW step, ours (in place)", &times[0]);
    report("AdamW step, candle-nn", &times[1]);
    report("SGD momentum+wd step, ours (in place)", &times[2]);
    report(
        "SGD plain step, candle-nn (no momentum, no decay)",
        &times[3],
    );
    Ok(())
}

/// Forward + backward of both losses on (1024, 128) features.
fn losses(runs: usize) -> candle_core::Result<()> {
    let mut rng = SplitMix64::new(2);
    let values: Vec<f32> = (0..1024 * 128)
        .map(|_| rng.uniform_f32(-1.0, 1.0))
        .collect();
    let z = Var::from_tensor(&Tensor::from_vec(values, (1024, 128), &Device::Cpu)?)?;
    let (mut ntxent, mut keras) = (vec![], vec![]);
    for _ in 0..runs {
        ntxent.push(seconds(|| nt_xent(&z, 2, 0.1)?.backward().map(|_| ()))?);
        keras.push(seconds(|| {
            keras_contrastive(&z, 2, 0.1, true)?.backward().map(|_| ())
        })?);
    }
    report("NT-Xent forward+backward 1024x128", &ntxent);
    report("Keras loss forward+backward 1024x128", &keras);
    Ok(())
}

/// Saves and loads a checkpoint of the parameters and AdamW state.
fn checkpoint(params: &[(String, Var)], runs: usize) -> candle_core::Result<()> {
    let adamw = OptimizerKind::AdamW {
        lr: 1e-3,
        betas: (0.9, 0.999),
        eps: 1e-8,
        weight_decay: 1e-4,
        decay_bn_and_bias: false,
    };
    let optimizer = adamw.build(params).map_err(candle_core::Error::wrap)?;
    let mut checkpoint = Checkpoint::new(1, 100, 7);
    checkpoint.insert_vars("model.", params)?;
    checkpoint.insert_tensors("optim.", &optimizer.state()?)?;
    let dir = std::env::temp_dir().join(format!("scanflow-bench-train-{}", std::process::id()));
    let path = dir.join("checkpoint.safetensors");
    let (mut saves, mut loads) = (vec![], vec![]);
    for _ in 0..runs {
        saves.push(seconds(|| {
            checkpoint.save(&path).map_err(candle_core::Error::wrap)
        })?);
        loads.push(seconds(|| {
            Checkpoint::load(&path)
                .map(|_| ())
                .map_err(candle_core::Error::wrap)
        })?);
    }
    let size = std::fs::metadata(&path)?.len();
    let _ = std::fs::remove_dir_all(&dir);
    report(
        &format!("checkpoint save ({:.0} MB, fsync)", size as f64 / 1e6),
        &saves,
    );
    report("checkpoint load", &loads);
    Ok(())
}

fn seconds(f: impl FnOnce() -> candle_core::Result<()>) -> candle_core::Result<f64> {
    let start = Instant::now();
    f()?;
    Ok(start.elapsed().as_secs_f64())
}

fn report(name: &str, times: &[f64]) {
    let mut sorted = times.to_vec();
    sorted.sort_by(f64::total_cmp);
    let median = sorted.get(sorted.len() / 2).copied().unwrap_or(f64::NAN);
    let each: Vec<String> = times.iter().map(|t| format!("{:.1}", t * 1e3)).collect();
    println!(
        "{name}: [{}] ms; median {:.1} ms",
        each.join(", "),
        median * 1e3
    );
}
