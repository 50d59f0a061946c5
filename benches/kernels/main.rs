//! Kernel benchmark: the fast CPU operations of `scanflow::model::kernels` side by side
//! with the portable candle compositions.
//!
//! 1. A 3×3 convolution, B = 128, 64 → 64 channels, 32×32, padding 1: forward, input
//!    gradient and weight gradient in GFLOP/s (each is 2·B·H·W·Cout·9·Cin = 9.66 GFLOP).
//! 2. Whole networks: the small CNN SimCLR-shaped train step (2 views × 256 images forward
//!    with batch statistics, backward from a stand-in loss Σ f·r) and inference (256 images,
//!    running statistics), in source images per second as the reference counts them;
//!    ResNet-18 (CIFAR stem) the same way on 2 × 32 images when `KERNELS_RESNET=1`.
//!
//! ```text
//! cargo bench --bench kernels                                        # mimalloc, freed memory kept
//! SCANFLOW_BENCH_ALLOC=mimalloc-purge cargo bench --bench kernels    # mimalloc defaults
//! SCANFLOW_BENCH_ALLOC=system cargo bench --bench kernels            # glibc malloc
//! KERNELS_PRECISION=Bf16 cargo bench --bench kernels                 # fast path in bf16
//! ```
//! (the allocator is chosen at compile time). `KERNELS_RUNS` sets the repetitions (default
//! 5); figures are medians after a warm-up, as wall-clock rates and as rates from CPU time
//! (what the threads would reach with the cores to themselves on a loaded machine).

mod nets;

use std::alloc::{GlobalAlloc, Layout, System};
use std::time::Instant;

use candle_core::{Device, Result, Tensor};
use nets::{Net, Path, FAST, PORTABLE};
use scanflow::linalg::{precision, Precision};
use scanflow::model::kernels::alloc::MiMalloc;
use scanflow::model::kernels::{self, portable};

/// The allocator, chosen at compile time: `system`, `mimalloc-purge` or (unset) mimalloc
/// keeping freed memory, as the `scanflow` binary runs.
const ALLOC: Option<&str> = option_env!("SCANFLOW_BENCH_ALLOC");

/// Whether [`ALLOC`] selects the system allocator (constant-folded).
#[inline]
fn system_alloc() -> bool {
    ALLOC == Some("system")
}

/// mimalloc, or the system allocator when [`system_alloc`]; fixed for the whole run.
struct Allocator;

// SAFETY: forwards every call to one of two allocators, the same one for the whole process.
unsafe impl GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if system_alloc() {
            System.alloc(layout)
        } else {
            MiMalloc.alloc(layout)
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if system_alloc() {
            System.alloc_zeroed(layout)
        } else {
            MiMalloc.alloc_zeroed(layout)
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if system_alloc() {
            System.dealloc(ptr, layout)
        } else {
            MiMalloc.dealloc(ptr, layout)
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, size: usize) -> *mut u8 {
        if system_alloc() {
            System.realloc(ptr, layout, size)
        } else {
            MiMalloc.realloc(ptr, layout, size)
        }
    }
}

#[global_allocator]
static GLOBAL: Allocator = Allocator;

fn main() -> Result<()> {
    let allocator = match ALLOC {
        None => {
            kernels::alloc::retain_freed_memory();
            "mimalloc, freed memory kept"
        }
        Some(name @ ("system" | "mimalloc-purge")) => name,
        Some(other) => {
            candle_core::bail!("SCANFLOW_BENCH_ALLOC={other}: use system or mimalloc-purge")
        }
    };
    let runs = env_usize("KERNELS_RUNS", 5);
    let threads = candle_core::utils::get_num_threads();
    let precision = match std::env::var("KERNELS_PRECISION").as_deref() {
        Ok("Bf16") => Precision::Bf16,
        Ok("F32") | Err(_) => Precision::F32,
        Ok(other) => candle_core::bail!("KERNELS_PRECISION={other}: use F32 or Bf16"),
    };
    // The portable path multiplies in f32 whatever the thread's precision.
    let _precision = precision::scoped(precision);
    let kernel = precision.kernel();
    println!("allocator {allocator}, {threads} threads, medians of {runs} runs");
    println!("fast path products: {precision:?} (bf16 kernel: {kernel:?})\n");
    conv_table(runs)?;
    net_table("small CNN", &Net::small_cnn()?, 256, runs)?;
    if env_usize("KERNELS_RESNET", 0) == 1 {
        net_table("ResNet-18", &Net::resnet18()?, 32, runs)?;
    }
    Ok(())
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Median wall and CPU seconds (all threads of the process) of `runs` calls of `f`, after
/// one warm-up call.
fn median_secs(runs: usize, mut f: impl FnMut() -> Result<()>) -> Result<Timing> {
    f()?;
    let (mut wall, mut cpu) = (Vec::with_capacity(runs), Vec::with_capacity(runs));
    for _ in 0..runs.max(1) {
        let (start, cpu_start) = (Instant::now(), cpu_seconds());
        f()?;
        wall.push(start.elapsed().as_secs_f64());
        cpu.push(cpu_seconds() - cpu_start);
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    Ok(Timing {
        wall: median(wall),
        cpu: median(cpu),
    })
}

/// Seconds per call: wall clock, and CPU time over all threads.
#[derive(Clone, Copy)]
struct Timing {
    wall: f64,
    cpu: f64,
}

impl Timing {
    /// `work / wall` and `work / (cpu / threads)`: the rate seen, and the rate the threads
    /// would reach with the cores to themselves (on a shared machine wall time inflates with
    /// the load, CPU time much less).
    fn cell(self, work: f64, threads: usize) -> String {
        let alone = work / (self.cpu / threads as f64).max(1e-9);
        format!(
            "{:7.1} {:7.1} ({:6.0})",
            work / self.wall,
            alone,
            self.wall * 1e3
        )
    }
}

/// CPU seconds this process has used (Linux `/proc/self/stat`, 10 ms ticks).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // After the parenthesised command name, utime and stime are fields 12 and 13.
    let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |k: usize| {
        fields
            .get(k)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// One timed computation of the convolution table.
type Job<'a> = Box<dyn Fn() -> Result<Tensor> + 'a>;
/// One timed computation of a network, on the given path.
type NetJob<'a> = dyn Fn(&Path) -> Result<()> + 'a;

fn conv_table(runs: usize) -> Result<()> {
    let (b, h, w, c) = (128, 32, 32, 64);
    let dev = &Device::Cpu;
    let x = Tensor::randn(0f32, 1., (b, h, w, c), dev)?;
    let wt = Tensor::randn(0f32, 0.05, (c, 3, 3, c), dev)?;
    let dy = Tensor::randn(0f32, 1., (b, h, w, c), dev)?;
    let gflop = 2.0 * (b * h * w * c * 9 * c) as f64 / 1e9;
    println!("conv 3×3, B={b}, {c}→{c}, {h}×{w}, {gflop:.2} GFLOP each: GFLOP/s");
    let cases: [(&str, Job, Job); 3] = [
        (
            "forward",
            Box::new(|| kernels::conv2d(&x, &wt, 1, 1)),
            Box::new(|| portable::conv2d(&x, &wt, 1, 1)),
        ),
        (
            "input grad",
            Box::new(|| kernels::conv2d_input_grad(&dy, &wt, 1, 1, (h, w))),
            Box::new(|| portable::conv2d_input_grad(&dy, &wt, 1, 1, (h, w))),
        ),
        (
            "weight grad",
            Box::new(|| kernels::conv2d_weight_grad(&x, &dy, 1, 1, (3, 3))),
            Box::new(|| portable::conv2d_weight_grad(&x, &dy, 1, 1, (3, 3))),
        ),
    ];
    header();
    for (name, fast, slow) in cases {
        let t_fast = median_secs(runs, || fast().map(drop))?;
        let t_slow = median_secs(runs, || slow().map(drop))?;
        row(name, gflop, t_fast, t_slow);
    }
    println!();
    Ok(())
}

/// Train step (2 views × `batch`) and inference (`batch`) of `net` on both paths.
fn net_table(name: &str, net: &Net, batch: usize, runs: usize) -> Result<()> {
    let dev = &Device::Cpu;
    let views = Tensor::randn(0f32, 1., (2 * batch, 32, 32, 3), dev)?;
    let images = views.narrow(0, 0, batch)?;
    println!("{name}, batch {batch}: source images/s");
    header();
    let step = |p: &Path| -> Result<()> {
        let features = net.forward(p, &views, true)?;
        let r = features.ones_like()?;
        (features * r)?.sum_all()?.backward().map(drop)
    };
    let infer = |p: &Path| net.forward(p, &images, false).map(drop);
    let rows: [(&str, &NetJob); 2] = [("train step (2 views)", &step), ("inference", &infer)];
    for (what, f) in rows {
        let t_fast = median_secs(runs, || f(&FAST))?;
        let t_slow = median_secs(runs, || f(&PORTABLE))?;
        row(what, batch as f64, t_fast, t_slow);
    }
    println!();
    Ok(())
}

/// Column heads: per path the rate seen (wall), the rate on cores of its own (CPU time) and
/// milliseconds per call; then portable over fast, by CPU time.
fn header() {
    let path = "    wall   alone (    ms)";
    println!("  {:<22} {path:>24} {path:>24}   ratio", "",);
    println!("  {:<22} {:>24} {:>24}", "", "fast", "portable");
}

fn row(what: &str, work: f64, fast: Timing, portable: Timing) {
    let threads = candle_core::utils::get_num_threads();
    let (f, p) = (fast.cell(work, threads), portable.cell(work, threads));
    println!(
        "  {what:<22} {f:>24} {p:>24} {:>6.2}×",
        portable.cpu / fast.cpu
    );
}
