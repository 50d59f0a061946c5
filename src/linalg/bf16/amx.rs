//! The AMX kernel: detection and the kernel's permission, and the instructions it uses, as
//! inline assembly (Rust has no stable AMX intrinsics): the tile configuration, and one
//! 32×32 block of C computed on four accumulator tiles.
//!
//! Tiles 0–3 hold C's four 16×16 f32 quarters, 4–5 two 16×32 bf16 tiles of A, 6–7 two
//! 16×16 pair tiles of B (VNNI layout, see [`super::pack`]).

use std::arch::asm;

use super::pack::TILE_VALUES;

/// Bytes in one row of every tile used here.
const ROW_BYTES: usize = 64;

/// Whether this CPU has AMX with bf16 and the kernel lets this process use it (asks for
/// the permission).
pub(super) fn detect() -> bool {
    const AMX_BF16: u32 = 1 << 22;
    const AMX_TILE: u32 = 1 << 24;
    const ARCH_REQ_XCOMP_PERM: libc::c_long = 0x1023;
    const XFEATURE_XTILEDATA: libc::c_long = 18;
    let features = std::arch::x86_64::__cpuid_count(7, 0).edx;
    if features & AMX_BF16 == 0 || features & AMX_TILE == 0 {
        return false;
    }
    // SAFETY: arch_prctl with this request only asks for permission; it reads no memory.
    unsafe {
        libc::syscall(
            libc::SYS_arch_prctl,
            ARCH_REQ_XCOMP_PERM,
            XFEATURE_XTILEDATA,
        ) == 0
    }
}

/// The 64-byte operand of `ldtilecfg` (palette 1).
#[repr(C, align(64))]
struct TileConfig {
    palette: u8,
    start_row: u8,
    reserved: [u8; 14],
    bytes_per_row: [u16; 16],
    rows: [u8; 16],
}

/// Configures tiles 0–7 as 16 rows × 64 bytes on this thread.
///
/// # Safety
/// The CPU must have AMX-TILE and the process the kernel's permission to use it
/// ([`detect`] returned true).
pub(super) unsafe fn configure() {
    let mut config = TileConfig {
        palette: 1,
        start_row: 0,
        reserved: [0; 14],
        bytes_per_row: [0; 16],
        rows: [0; 16],
    };
    for tile in 0..8 {
        config.bytes_per_row[tile] = ROW_BYTES as u16;
        config.rows[tile] = 16;
    }
    // SAFETY: the caller guarantees AMX; the operand is a valid 64-byte configuration.
    unsafe {
        asm!("ldtilecfg [{}]", in(reg) &config, options(nostack, readonly, preserves_flags));
    }
}

/// Returns the tile registers to their initial state (so the thread's context switches stay
/// cheap).
///
/// # Safety
/// As [`configure`].
pub(super) unsafe fn release() {
    // SAFETY: the caller guarantees AMX.
    unsafe {
        asm!("tilerelease", options(nostack, nomem, preserves_flags));
    }
}

/// `c` (32×32 f32, rows `ldc` values apart) `← Σ_kb A_kb · B_kb` over `k_blocks` steps of 32.
///
/// `a` holds, per step, the block's 32 rows of 32 bf16 (two tiles, 1,024 values); `b0` and
/// `b1` the two 16-column panels of B, per step one 16×16 pair tile (512 values).
///
/// # Safety
/// Tiles configured by [`configure`] on this thread; `a` readable for `k_blocks · 1024`
/// values, `b0` and `b1` for `k_blocks · 512`, `c` writable for 32 rows of 32 f32, `ldc`
/// apart.
pub(super) unsafe fn block(
    a: *const u16,
    b0: *const u16,
    b1: *const u16,
    k_blocks: usize,
    (c, ldc): (*mut f32, usize),
) {
    // SAFETY: the caller guarantees the tiles and every address read or written.
    unsafe {
        asm!(
            "tilezero tmm0",
            "tilezero tmm1",
            "tilezero tmm2",
            "tilezero tmm3",
            options(nostack, nomem, preserves_flags)
        );
        for step in 0..k_blocks {
            let a0 = a.add(step * 2 * TILE_VALUES);
            asm!(
                "tileloadd tmm4, [{a0} + {s}*1]",
                "tileloadd tmm5, [{a1} + {s}*1]",
                "tileloadd tmm6, [{b0} + {s}*1]",
                "tileloadd tmm7, [{b1} + {s}*1]",
                "tdpbf16ps tmm0, tmm4, tmm6",
                "tdpbf16ps tmm1, tmm4, tmm7",
                "tdpbf16ps tmm2, tmm5, tmm6",
                "tdpbf16ps tmm3, tmm5, tmm7",
                a0 = in(reg) a0,
                a1 = in(reg) a0.add(TILE_VALUES),
                b0 = in(reg) b0.add(step * TILE_VALUES),
                b1 = in(reg) b1.add(step * TILE_VALUES),
                s = in(reg) ROW_BYTES,
                options(nostack, readonly, preserves_flags)
            );
        }
        asm!(
            "tilestored [{c0} + {s}*1], tmm0",
            "tilestored [{c1} + {s}*1], tmm1",
            "tilestored [{c2} + {s}*1], tmm2",
            "tilestored [{c3} + {s}*1], tmm3",
            c0 = in(reg) c,
            c1 = in(reg) c.add(16),
            c2 = in(reg) c.add(16 * ldc),
            c3 = in(reg) c.add(16 * ldc + 16),
            s = in(reg) ldc * 4,
            options(nostack, preserves_flags)
        );
    }
}
