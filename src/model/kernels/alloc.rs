//! mimalloc settings for training processes. A training step allocates and frees hundreds
//! of MB of activations and gradients; by default mimalloc purges freed memory back to the
//! OS after 10 ms, so every step faults the same (huge) pages in again and the kernel zeroes
//! them (about a third of a small-CNN step on this CPU). Programs that install mimalloc as
//! their global allocator (the `scanflow` binary, the kernel benchmark) call
//! [`retain_freed_memory`] first.

pub use mimalloc::MiMalloc;

extern "C" {
    /// mimalloc's `void mi_option_set(mi_option_t option, long value)`, linked through the
    /// `mimalloc` crate.
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
}

/// `mi_option_purge_delay` in `mi_option_t` (its position in the v2 and the v3 headers that
/// libmimalloc-sys 0.1 bundles).
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;

/// Makes mimalloc keep freed memory for reuse instead of returning it to the OS (purge
/// delay −1), so the process stays at its peak footprint. Harmless where mimalloc is not the
/// global allocator.
pub fn retain_freed_memory() {
    // SAFETY: mi_option_set stores an integer in mimalloc's option table; any value is valid
    // for the purge delay, and it may be called at any time.
    unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, -1) }
}
