//! One node's thread: run the operator with panics caught, close its channels, report how
//! it ended. Also [`Replay`], the stand-in that sends a cached node's saved outputs.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;

use super::{Context, OpError};
use crate::ops::Runnable;
use crate::payload::Payload;

/// How a node's thread ended.
pub(super) enum Outcome {
    /// `run` returned `Ok`.
    Finished,
    /// `run` stopped without failing (cancelled, or every consumer gone).
    Stopped(OpError),
    /// `run` returned an error.
    Failed(String),
    /// `run` panicked.
    Panicked(String),
}

/// What a node's thread reports when it ends.
pub(super) struct Finished {
    /// The node's index in the graph.
    pub index: usize,
    /// How it ended.
    pub outcome: Outcome,
    /// The payloads it sent, when the runtime asked to keep them.
    pub kept: Vec<Payload>,
    /// How long it ran.
    pub wall: Duration,
}

/// A node standing in for a cached one: sends its saved outputs.
pub(super) struct Replay(pub Vec<Payload>);

impl Runnable for Replay {
    fn cache_salt(&self) -> String {
        String::new()
    }
    fn run(self: Box<Self>, ctx: &mut Context) -> Result<(), OpError> {
        self.0.into_iter().try_for_each(|p| ctx.send(p))
    }
}

/// Starts node `index` on its own thread (named `sf:<id>`). The thread catches panics,
/// reports on `done`, then closes the node's channels by dropping its context (end of
/// stream downstream) — in that order, so a failing node's report arrives before any
/// consumer can fail for want of its input, and the run names the cause, not a symptom.
pub(super) fn spawn(
    index: usize,
    runnable: Box<dyn Runnable>,
    mut ctx: Context,
    done: Sender<Finished>,
) -> std::io::Result<()> {
    let name = format!("sf:{}", ctx.id());
    let body = move || {
        let start = Instant::now();
        let finished = catch_unwind(AssertUnwindSafe(|| {
            runnable.run(&mut ctx).and_then(|()| ctx.flush())
        }));
        let outcome = match finished {
            Ok(Ok(())) => Outcome::Finished,
            Ok(Err(e)) if e.is_benign() => Outcome::Stopped(e),
            Ok(Err(e)) => Outcome::Failed(e.to_string()),
            Err(panic) => Outcome::Panicked(panic_message(panic.as_ref())),
        };
        let kept = ctx.output.take_kept();
        let _ = done.send(Finished {
            index,
            outcome,
            kept,
            wall: start.elapsed(),
        });
        drop(ctx);
    };
    thread::Builder::new().name(name).spawn(body).map(drop)
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string panic payload)".to_string()
    }
}
