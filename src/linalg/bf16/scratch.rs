//! Per-thread buffers for packed operands, kept between products. Packed operands run to
//! megabytes (B of a weight gradient holds every row of the batch), and a fresh allocation
//! of that size costs page faults and the kernel's zeroing on every product.

use std::cell::Cell;
use std::thread::LocalKey;

/// Buffers above this many values are not kept (64 MiB): a rare huge product should not
/// pin its memory for the thread's lifetime.
const MAX_KEPT: usize = 32 << 20;

/// A thread's kept buffer (empty while lent out).
#[derive(Default)]
pub(super) struct Buffer(Cell<Vec<u16>>);

/// `len` zeroed values, in the thread's kept buffer when it is free; a product nested on
/// the same thread (a task stolen while this one waits) gets a fresh one.
pub(super) fn take(key: &'static LocalKey<Buffer>, len: usize) -> Vec<u16> {
    let mut values = key.with(|kept| kept.0.take());
    values.clear();
    values.resize(len, 0);
    values
}

/// Keeps `values` for the thread's next product, unless a larger buffer is already kept
/// or it is too large to keep.
pub(super) fn give_back(key: &'static LocalKey<Buffer>, values: Vec<u16>) {
    if values.capacity() > MAX_KEPT {
        return;
    }
    key.with(|kept| {
        let old = kept.0.take();
        kept.0.set(if old.capacity() > values.capacity() {
            old
        } else {
            values
        });
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    thread_local! {
        static TEST_BUFFER: Buffer = Buffer::default();
    }

    #[test]
    fn a_returned_buffer_is_reused_zeroed_and_a_nested_take_gets_its_own() {
        let mut first = take(&TEST_BUFFER, 1000);
        first.iter_mut().for_each(|v| *v = 7);
        let nested = take(&TEST_BUFFER, 10);
        assert_eq!(nested, vec![0; 10]);
        let address = first.as_ptr();
        give_back(&TEST_BUFFER, first);
        give_back(&TEST_BUFFER, nested);
        let again = take(&TEST_BUFFER, 500);
        assert_eq!(again.as_ptr(), address, "the larger buffer is the one kept");
        assert!(again.iter().all(|&v| v == 0));
    }
}
