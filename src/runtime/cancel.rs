//! [`CancelToken`]: a run-wide stop signal that also wakes every thread blocked on a
//! channel, because blocking operations select on its receiver.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

/// A cloneable stop signal. Cancelling drops the only sender of an internal channel, so
/// every `select!` on [`CancelToken::receiver`] becomes ready at once.
#[derive(Clone)]
pub struct CancelToken(Arc<Inner>);

struct Inner {
    flag: AtomicBool,
    sender: Mutex<Option<Sender<()>>>,
    receiver: Receiver<()>,
}

impl Default for CancelToken {
    fn default() -> Self {
        CancelToken::new()
    }
}

impl CancelToken {
    /// A token not yet cancelled.
    pub fn new() -> Self {
        let (sender, receiver) = crossbeam_channel::bounded(0);
        CancelToken(Arc::new(Inner {
            flag: AtomicBool::new(false),
            sender: Mutex::new(Some(sender)),
            receiver,
        }))
    }

    /// Cancels; idempotent and callable from any thread (or a signal handler thread).
    pub fn cancel(&self) {
        self.0.flag.store(true, Ordering::SeqCst);
        if let Ok(mut sender) = self.0.sender.lock() {
            sender.take();
        }
    }

    /// True once cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.0.flag.load(Ordering::Relaxed)
    }

    /// A receiver that becomes ready (disconnected) when the token is cancelled.
    pub fn receiver(&self) -> &Receiver<()> {
        &self.0.receiver
    }

    /// Sleeps up to `timeout`, returning early (with `true`) if cancelled.
    pub fn wait(&self, timeout: Duration) -> bool {
        match self.0.receiver.recv_timeout(timeout) {
            Err(RecvTimeoutError::Timeout) => self.is_cancelled(),
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn cancel_wakes_a_waiting_thread() {
        let token = CancelToken::new();
        let waiter = token.clone();
        let start = Instant::now();
        let handle = std::thread::spawn(move || waiter.wait(Duration::from_secs(30)));
        std::thread::sleep(Duration::from_millis(20));
        token.cancel();
        assert!(handle.join().unwrap());
        assert!(start.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn wait_times_out_when_not_cancelled() {
        assert!(!CancelToken::new().wait(Duration::from_millis(5)));
    }
}
