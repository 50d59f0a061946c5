//! A small training loop (linear regression, shuffled minibatches, warm-up + cosine
//! schedule) run straight through, and run with a crash and a resume from the last
//! checkpoint: the final weights must be bit-identical. A NaN loss stops the run naming
//! epoch and step and leaves the last good checkpoint in place.

use super::*;
use crate::model::optim::{Optimizer, OptimizerKind};
use crate::model::schedule::ScheduleKind;
use crate::rng::SplitMix64;
use candle_core::{DType, Device};

const SAMPLES: usize = 32;
const BATCH: usize = 8;
const STEPS_PER_EPOCH: u64 = (SAMPLES / BATCH) as u64;
const EPOCHS: usize = 6;
const SCHEDULE: ScheduleKind = ScheduleKind::Cosine {
    warmup_epochs: 1,
    min_lr_factor: 0.1,
};

struct Run {
    kind: OptimizerKind,
    params: Vec<(String, Var)>,
    optimizer: Box<dyn Optimizer>,
    rng: SplitMix64,
    epoch: usize,
    step: u64,
}

fn random(rows: usize, cols: usize, rng: &mut SplitMix64) -> Tensor {
    let values: Vec<f32> = (0..rows * cols)
        .map(|_| rng.uniform_f32(-1.0, 1.0))
        .collect();
    Tensor::from_vec(values, (rows, cols), &Device::Cpu).unwrap()
}

/// Inputs `x` (32, 4) and targets `y = x·W* + 0.5` (32, 3), the same for every run.
fn data() -> (Tensor, Tensor) {
    let mut rng = SplitMix64::new(7);
    let x = random(SAMPLES, 4, &mut rng);
    let y = (x.matmul(&random(4, 3, &mut rng)).unwrap() + 0.5).unwrap();
    (x, y)
}

/// A fresh run whose parameters start from `init_seed` and whose shuffles start from seed 99.
fn fresh(kind: OptimizerKind, init_seed: u64) -> Run {
    let mut init = SplitMix64::new(init_seed);
    let w = Var::from_tensor(&random(4, 3, &mut init)).unwrap();
    let b = Var::zeros(3, DType::F32, &Device::Cpu).unwrap();
    let params = vec![("w".to_string(), w), ("b".to_string(), b)];
    let optimizer = kind.build(&params).unwrap();
    Run {
        kind,
        params,
        optimizer,
        rng: SplitMix64::new(99),
        epoch: 0,
        step: 0,
    }
}

/// A run rebuilt from scratch (other initial weights) and restored from the newest checkpoint.
fn resume(kind: OptimizerKind, folder: &Path) -> Run {
    let mut run = fresh(kind, 12345);
    let checkpoint = Checkpoint::load(&latest_in(folder).unwrap()).unwrap();
    checkpoint.restore_vars("model.", &run.params).unwrap();
    run.optimizer
        .load_state(&checkpoint.tensors_with_prefix("optim."))
        .unwrap();
    run.rng = SplitMix64::new(checkpoint.meta.rng_state);
    (run.epoch, run.step) = (checkpoint.meta.epoch, checkpoint.meta.step);
    run
}

fn save(run: &Run, folder: &Path) -> Result<(), TrainError> {
    let mut checkpoint = Checkpoint::new(run.epoch, run.step, run.rng.state());
    checkpoint.insert_vars("model.", &run.params)?;
    checkpoint.insert_tensors("optim.", &run.optimizer.state()?)?;
    checkpoint.save_in(folder, 2)?;
    Ok(())
}

/// Mean squared error of the model on the samples `batch`.
fn batch_loss(
    run: &Run,
    batch: &[usize],
    (x, y): &(Tensor, Tensor),
) -> candle_core::Result<Tensor> {
    let ids = Tensor::from_vec(
        batch.iter().map(|&i| i as u32).collect::<Vec<_>>(),
        batch.len(),
        &Device::Cpu,
    )?;
    let (x, y) = (x.index_select(&ids, 0)?, y.index_select(&ids, 0)?);
    let prediction = x
        .matmul(run.params[0].1.as_tensor())?
        .broadcast_add(run.params[1].1.as_tensor())?;
    (prediction - y)?.sqr()?.mean_all()
}

/// Trains until `until` epochs are complete, saving every `every` epochs into `folder`;
/// the loss at step `poison` (if any) is replaced by NaN.
fn train(
    run: &mut Run,
    until: usize,
    folder: &Path,
    every: usize,
    poison: Option<u64>,
) -> Result<(), TrainError> {
    let data = data();
    let total = EPOCHS as u64 * STEPS_PER_EPOCH;
    while run.epoch < until {
        let mut order: Vec<usize> = (0..SAMPLES).collect();
        run.rng.shuffle(&mut order);
        for batch in order.chunks(BATCH) {
            let loss = batch_loss(run, batch, &data)?;
            let value = if poison == Some(run.step) {
                f32::NAN
            } else {
                loss.to_scalar::<f32>()?
            };
            check_finite(value, run.epoch, run.step)?;
            let lr = SCHEDULE.lr_at(run.kind.base_lr(), run.step, total, STEPS_PER_EPOCH);
            run.optimizer.step(&loss.backward()?, lr)?;
            run.step += 1;
        }
        run.epoch += 1;
        if run.epoch.is_multiple_of(every) {
            save(run, folder)?;
        }
    }
    Ok(())
}

fn weights(run: &Run) -> Vec<Vec<f32>> {
    run.params
        .iter()
        .map(|(_, v)| v.flatten_all().unwrap().to_vec1::<f32>().unwrap())
        .collect()
}

fn kinds() -> [OptimizerKind; 2] {
    [
        OptimizerKind::Sgd {
            lr: 0.1,
            momentum: 0.9,
            nesterov: true,
            weight_decay: 1e-3,
            decay_bn_and_bias: false,
        },
        OptimizerKind::AdamW {
            lr: 0.05,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 1e-2,
            decay_bn_and_bias: false,
        },
    ]
}

#[test]
fn interrupted_and_resumed_run_ends_with_the_same_weights() {
    for kind in kinds() {
        let straight_dir = tempfile::tempdir().unwrap();
        let mut straight = fresh(kind, 1);
        train(&mut straight, EPOCHS, straight_dir.path(), 2, None).unwrap();
        let first_loss = batch_loss(&fresh(kind, 1), &[0, 1, 2, 3], &data())
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        let last_loss = batch_loss(&straight, &[0, 1, 2, 3], &data())
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(
            last_loss < 0.5 * first_loss,
            "{kind:?} did not learn: {first_loss} -> {last_loss}"
        );

        let dir = tempfile::tempdir().unwrap();
        let mut crashed = fresh(kind, 1);
        train(&mut crashed, 3, dir.path(), 2, None).unwrap();
        drop(crashed); // epoch 3's work was never checkpointed; the resume redoes it
        let mut resumed = resume(kind, dir.path());
        assert_eq!((resumed.epoch, resumed.step), (2, 2 * STEPS_PER_EPOCH));
        train(&mut resumed, EPOCHS, dir.path(), 2, None).unwrap();
        assert_eq!(weights(&resumed), weights(&straight), "{kind:?}");
        assert_eq!(
            resumed.optimizer.steps_taken(),
            EPOCHS as u64 * STEPS_PER_EPOCH
        );
        assert_eq!(latest_in(dir.path()), Some(checkpoint_path(dir.path(), 6)));
        assert!(
            !checkpoint_path(dir.path(), 2).exists() && checkpoint_path(dir.path(), 4).exists()
        );
    }
}

#[test]
fn nan_loss_stops_the_run_and_keeps_the_last_good_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let mut run = fresh(kinds()[1], 1);
    // Steps 0–3 are epoch 0, 4–7 epoch 1, 8–11 epoch 2: step 9 falls in epoch 2.
    let err = train(&mut run, EPOCHS, dir.path(), 1, Some(9))
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("loss is NaN at epoch 2, step 9"), "{err}");
    assert_eq!(latest_in(dir.path()), Some(checkpoint_path(dir.path(), 2)));
    let kept = Checkpoint::load(&checkpoint_path(dir.path(), 2)).unwrap();
    assert_eq!((kept.meta.epoch, kept.meta.step), (2, 8));
}
