//! Learning-rate schedules, evaluated per optimiser step.
//!
//! With base rate `η`, step `s` (0-based), `S` total steps and `W` warm-up steps:
//!
//! * `Constant`: `η`.
//! * `Cosine(warmup_epochs, min_lr_factor = f)`, `W = warmup_epochs · steps_per_epoch`:
//!   `η · (s + 1) / W` while `s < W` (a linear ramp from 0 that reaches `η` at the last
//!   warm-up step, so no step runs at rate 0), then
//!   `η · (f + (1 − f) · ½ (1 + cos(π · (s − W) / (S − W))))`, falling from `η` to `f·η`.
//! * `KerasCosineDecay(alpha = α, decay_steps = D)`, Keras's `CosineDecay`:
//!   `η · ((1 − α) · ½ (1 + cos(π · min(s, D) / D)) + α)`, with `D = S` when not given
//!   (the rate then stays at `α·η` after step `D`, as in Keras).

use serde::{Deserialize, Serialize};
use std::f64::consts::PI;

/// A learning-rate schedule, as written in RON: `Constant`,
/// `Cosine(warmup_epochs: 10, min_lr_factor: 0.0)` or
/// `KerasCosineDecay(alpha: 0.1, decay_steps: Some(500))`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum ScheduleKind {
    /// The base rate throughout.
    #[default]
    Constant,
    /// Linear warm-up, then cosine decay to `min_lr_factor` times the base rate.
    Cosine {
        /// Epochs of linear warm-up (default 0).
        #[serde(default)]
        warmup_epochs: usize,
        /// The final rate as a fraction of the base rate (default 0).
        #[serde(default)]
        min_lr_factor: f64,
    },
    /// Keras's `CosineDecay(initial_learning_rate, decay_steps, alpha)`.
    KerasCosineDecay {
        /// The final rate as a fraction of the base rate (default 0).
        #[serde(default)]
        alpha: f64,
        /// Steps over which the rate decays (default: the whole run).
        #[serde(default)]
        decay_steps: Option<u64>,
    },
}

impl ScheduleKind {
    /// The learning rate for optimiser step `step` (0-based) of a run of `total_steps` steps
    /// with `steps_per_epoch` steps an epoch, starting from `base_lr` (formulas in the module docs).
    pub fn lr_at(&self, base_lr: f64, step: u64, total_steps: u64, steps_per_epoch: u64) -> f64 {
        match *self {
            ScheduleKind::Constant => base_lr,
            ScheduleKind::Cosine {
                warmup_epochs,
                min_lr_factor,
            } => {
                let warmup = warmup_epochs as u64 * steps_per_epoch;
                if step < warmup {
                    return base_lr * (step + 1) as f64 / warmup as f64;
                }
                let progress = fraction(step - warmup, total_steps.saturating_sub(warmup));
                base_lr * (min_lr_factor + (1.0 - min_lr_factor) * half_cosine(progress))
            }
            ScheduleKind::KerasCosineDecay { alpha, decay_steps } => {
                let progress = fraction(step, decay_steps.unwrap_or(total_steps));
                base_lr * ((1.0 - alpha) * half_cosine(progress) + alpha)
            }
        }
    }
}

/// `done / total` clamped to `[0, 1]`; a schedule of no steps counts as finished.
fn fraction(done: u64, total: u64) -> f64 {
    if total == 0 {
        1.0
    } else {
        (done as f64 / total as f64).min(1.0)
    }
}

/// `½ (1 + cos(π·t))`: 1 at `t = 0`, 0 at `t = 1`.
fn half_cosine(t: f64) -> f64 {
    0.5 * (1.0 + (PI * t).cos())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn constant_is_the_base_rate() {
        assert_eq!(ScheduleKind::Constant.lr_at(0.4, 123, 10, 5), 0.4);
    }

    #[test]
    fn cosine_warms_up_linearly_then_decays_to_the_floor() {
        // 2 warm-up epochs of 5 steps (W = 10) in S = 30 steps, base 1.0, floor 0.1.
        let s = ScheduleKind::Cosine {
            warmup_epochs: 2,
            min_lr_factor: 0.1,
        };
        let lr = |step| s.lr_at(1.0, step, 30, 5);
        // Warm-up: (s+1)/10.
        assert!(close(lr(0), 0.1) && close(lr(4), 0.5) && close(lr(9), 1.0));
        // Cosine over 20 steps: s = 10 → 1; s = 20 (half way) → 0.1 + 0.9·½ = 0.55;
        // s = 15 → 0.1 + 0.9·½(1 + cos(π/4)) = 0.1 + 0.45·(1 + 0.70710678…) = 0.8681980515…
        assert!(close(lr(10), 1.0) && close(lr(20), 0.55));
        assert!(close(lr(15), 0.1 + 0.45 * (1.0 + 0.5f64.sqrt())));
        // At and past the end: the floor.
        assert!(close(lr(30), 0.1) && close(lr(99), 0.1));
    }

    #[test]
    fn cosine_without_warmup_starts_at_the_base_rate() {
        let s = ScheduleKind::Cosine {
            warmup_epochs: 0,
            min_lr_factor: 0.0,
        };
        // S = 4: cos(0) → 1, cos(π/4) → ½(1 + √½), cos(π/2) → ½, cos(3π/4) → ½(1 − √½).
        assert!(close(s.lr_at(0.4, 0, 4, 2), 0.4));
        assert!(close(s.lr_at(0.4, 1, 4, 2), 0.2 * (1.0 + 0.5f64.sqrt())));
        assert!(close(s.lr_at(0.4, 2, 4, 2), 0.2));
        assert!(close(s.lr_at(0.4, 3, 4, 2), 0.2 * (1.0 - 0.5f64.sqrt())));
    }

    #[test]
    fn keras_cosine_decay_matches_its_formula() {
        // The Keras example: CosineDecay(0.001, decay_steps = 500, alpha = 0.1).
        let s = ScheduleKind::KerasCosineDecay {
            alpha: 0.1,
            decay_steps: None,
        };
        assert!(close(s.lr_at(1e-3, 0, 500, 100), 1e-3));
        // Half way: 1e-3 · (0.9 · 0.5 + 0.1) = 5.5e-4; the end and beyond: 1e-4.
        assert!(close(s.lr_at(1e-3, 250, 500, 100), 5.5e-4));
        assert!(close(s.lr_at(1e-3, 500, 500, 100), 1e-4));
        assert!(close(s.lr_at(1e-3, 800, 500, 100), 1e-4));
    }

    #[test]
    fn keras_cosine_decay_with_its_own_decay_steps_ignores_the_run_length() {
        // decay_steps 500 in a run of 5,860 steps: half way at step 250, α·η from step 500.
        let s = ScheduleKind::KerasCosineDecay {
            alpha: 0.1,
            decay_steps: Some(500),
        };
        assert!(close(s.lr_at(1e-3, 250, 5_860, 118), 5.5e-4));
        assert!(close(s.lr_at(1e-3, 500, 5_860, 118), 1e-4));
        assert!(close(s.lr_at(1e-3, 3_000, 5_860, 118), 1e-4));
    }

    #[test]
    fn schedules_read_from_ron_with_defaults() {
        let cosine: ScheduleKind = ron::from_str("Cosine(warmup_epochs: 10)").unwrap();
        assert_eq!(
            cosine,
            ScheduleKind::Cosine {
                warmup_epochs: 10,
                min_lr_factor: 0.0
            }
        );
        let keras: ScheduleKind = ron::from_str("KerasCosineDecay(alpha: 0.1)").unwrap();
        assert_eq!(
            keras,
            ScheduleKind::KerasCosineDecay {
                alpha: 0.1,
                decay_steps: None
            }
        );
        assert!(ron::from_str::<ScheduleKind>("Cosine(warmup: 1)").is_err());
    }
}
