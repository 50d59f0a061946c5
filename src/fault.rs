//! Fault injection for crash tests: `SCANFLOW_FAULT=<point>[:<n>]` (read once per process)
//! makes the `n`-th arrival (1-based, default 1) at the named point fire. Crash points abort
//! the process mid-write (no destructors, no flush: what a `kill -9` leaves behind); the
//! poison point replaces a training loss by NaN. Without the variable nothing ever fires.
//!
//! Points: `checkpoint-write`, `store-build`, `index-save` (crash, each after part of its
//! temporary file is written) and `loss-nan` (the loss of one training step becomes NaN).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

/// The environment variable that arms a fault point.
pub const FAULT_VAR: &str = "SCANFLOW_FAULT";

/// Crash while a training checkpoint's temporary file is half written.
pub const CHECKPOINT_WRITE: &str = "checkpoint-write";
/// Crash while the packed image store's temporary file is being filled.
pub const STORE_BUILD: &str = "store-build";
/// Crash while the HNSW index's temporary file is half written.
pub const INDEX_SAVE: &str = "index-save";
/// Replace one training step's loss by NaN.
pub const LOSS_NAN: &str = "loss-nan";

/// The armed point and the arrival that fires, parsed once from [`FAULT_VAR`].
fn armed() -> Option<&'static (String, usize)> {
    static ARMED: OnceLock<Option<(String, usize)>> = OnceLock::new();
    ARMED
        .get_or_init(|| parse(&std::env::var(FAULT_VAR).ok()?))
        .as_ref()
}

/// `point` or `point:n` (n ≥ 1); anything else arms nothing.
fn parse(value: &str) -> Option<(String, usize)> {
    match value.split_once(':') {
        None => Some((value.to_string(), 1)),
        Some((point, n)) => n
            .parse()
            .ok()
            .filter(|&n| n >= 1)
            .map(|n| (point.to_string(), n)),
    }
}

/// Whether this arrival at `point` is the armed one (counts arrivals at the armed point).
pub fn fires(point: &str) -> bool {
    static ARRIVALS: AtomicUsize = AtomicUsize::new(0);
    match armed() {
        Some((armed, n)) if armed == point => ARRIVALS.fetch_add(1, Ordering::SeqCst) + 1 == *n,
        _ => false,
    }
}

/// Aborts the process when this arrival at `point` is the armed one.
pub fn crash_point(point: &str) {
    if fires(point) {
        eprintln!("{FAULT_VAR}: aborting at `{point}`");
        std::process::abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_parse_with_an_optional_arrival() {
        assert_eq!(parse("index-save"), Some(("index-save".into(), 1)));
        assert_eq!(
            parse("checkpoint-write:3"),
            Some(("checkpoint-write".into(), 3))
        );
        assert_eq!(parse("store-build:0"), None);
        assert_eq!(parse("store-build:x"), None);
    }

    #[test]
    fn an_unarmed_point_never_fires() {
        // The unit tests run without the variable.
        assert!(std::env::var(FAULT_VAR).is_err());
        assert!(!fires(LOSS_NAN));
        crash_point(STORE_BUILD);
    }
}
