//! An honest estimate of the time a training node has left: the steps still to train (the
//! configured epochs at the known steps per epoch) at the rate of the steps this process has
//! trained so far, capped by what is left of the time budget. On a CPU, SCAN's GPU recipe
//! thus says up front that it would take days.

use std::time::Duration;

use super::Progress;

impl Progress {
    /// The estimated training time left, or `None` before the rate is known (no step trained
    /// yet in this process, or the epoch size still unknown).
    pub fn time_left(&self) -> Option<Duration> {
        let trained = self.step.checked_sub(self.first_step).filter(|&n| n > 0)?;
        if self.steps_per_epoch == 0 {
            return None;
        }
        let total = self.epochs.saturating_mul(self.steps_per_epoch);
        let elapsed = self.started.elapsed().as_secs_f64();
        let mut left = total.saturating_sub(self.step) as f64 * elapsed / trained as f64;
        if let Some(minutes) = self.budget_minutes {
            left = left.min((minutes * 60.0 - self.trained_seconds()).max(0.0));
        }
        Some(Duration::from_secs_f64(left))
    }

    /// e.g. `step 12 of 98 in epoch 1 of 500, about 5.1 d left`, for a status line while the
    /// first epoch trains (nothing before the rate is known).
    pub fn step_status(&self) -> Option<String> {
        let left = self.time_left()?;
        let in_epoch = self.step % self.steps_per_epoch.max(1);
        Some(format!(
            "step {} of {} in epoch {} of {}, about {} left",
            in_epoch,
            self.steps_per_epoch,
            self.epoch + 1,
            self.epochs,
            human(left)
        ))
    }

    /// `status` followed by the estimate, e.g. `epoch 3 loss 5.1 · about 2.3 h left`.
    pub fn with_time_left(&self, status: String) -> String {
        match self.time_left() {
            Some(left) => format!("{status} · about {} left", human(left)),
            None => status,
        }
    }
}

/// A duration in the largest unit that keeps it readable: `45 s`, `12 min`, `2.3 h`, `5.1 d`.
pub fn human(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 90.0 {
        format!("{s:.0} s")
    } else if s < 90.0 * 60.0 {
        format!("{:.0} min", s / 60.0)
    } else if s < 48.0 * 3600.0 {
        format!("{:.1} h", s / 3600.0)
    } else {
        format!("{:.1} d", s / 86_400.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_in_a_fitting_unit() {
        assert_eq!(human(Duration::from_secs(45)), "45 s");
        assert_eq!(human(Duration::from_secs(12 * 60)), "12 min");
        assert_eq!(human(Duration::from_secs(2 * 3600 + 18 * 60)), "2.3 h");
        assert_eq!(human(Duration::from_secs(5 * 86_400 + 8_640)), "5.1 d");
    }

    #[test]
    fn no_estimate_before_a_step_or_the_epoch_size() {
        let mut p = Progress::new(500, None);
        assert!(p.time_left().is_none());
        p.step = 3;
        assert!(p.time_left().is_none(), "epoch size unknown");
        p.steps_per_epoch = 98;
        assert!(p.time_left().is_some());
    }

    #[test]
    fn the_estimate_scales_with_the_steps_left_and_stops_at_the_budget() {
        let mut p = Progress::new(500, None);
        p.steps_per_epoch = 100;
        p.step = 10;
        std::thread::sleep(Duration::from_millis(20));
        // 49,990 steps left at ≥ 2 ms a step: at least 100 s.
        assert!(p.time_left().unwrap() >= Duration::from_secs(99));
        let mut budgeted = Progress::new(500, Some(1.0));
        budgeted.steps_per_epoch = 100;
        budgeted.step = 10;
        assert!(budgeted.time_left().unwrap() <= Duration::from_secs(60));
    }

    #[test]
    fn a_resumed_run_spends_only_what_is_left_of_its_budget() {
        let mut p = Progress::new(500, Some(1.0));
        p.steps_per_epoch = 100;
        p.step = 60;
        p.first_step = 50;
        p.trained_before = 45.0;
        assert!(p.time_left().unwrap() <= Duration::from_secs(15));
        assert!(!p.budget_spent());
        p.trained_before = 60.0;
        assert!(p.budget_spent());
    }

    #[test]
    fn a_resumed_run_counts_only_its_own_steps() {
        let mut p = Progress::new(10, None);
        p.steps_per_epoch = 10;
        p.step = 50;
        p.first_step = 50;
        assert!(p.time_left().is_none(), "no step trained since resuming");
    }
}
