//! Augmentation throughput: the SimCLR recipe producing 2 views of every CIFAR-10 training
//! image (50,000 JPEGs from `../shared/data/cifar10-jpg.tar.gz`, decoded once up front) in
//! batches of 256 on a 2-thread pool. Reports images/s (each image yielding two 32×32 views)
//! for each of 3 passes over the set and their median, against the target of 9,100 images/s
//! (4× torchvision's 2,271 and 1.5× kornia's 5,768 measured on the reference machine).
//! Besides wall-clock throughput it prints images per CPU-second × threads, what the kernel
//! does on idle cores, for runs on a shared machine.
//!
//! ```text
//! cargo bench --bench augment
//! ```
//!
//! Knobs (environment): `SCANFLOW_BENCH_THREADS` (default 2), `SCANFLOW_BENCH_PASSES`
//! (default 3), `SCANFLOW_BENCH_RECIPE` (`simclr` default, `strong`, `keras`).

use std::path::Path;
use std::time::Instant;

use scanflow::augment::{augment_batch, Recipe};
use scanflow::data::{decode_batch, ImageBatch, ImageFolder};

const BATCH: usize = 256;
const VIEWS: usize = 2;
const TARGET: f64 = 9_100.0;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn recipe() -> Recipe {
    match std::env::var("SCANFLOW_BENCH_RECIPE").as_deref() {
        Ok("strong") => Recipe::ScanStrong { size: (32, 32) },
        Ok("keras") => Recipe::Keras { size: (32, 32) },
        _ => Recipe::SimClr {
            size: (32, 32),
            crop_scale: (0.2, 1.0),
        },
    }
}

/// CPU seconds this process has used (user + system, from `/proc/self/stat`; 100 ticks/s),
/// or `None` where that file is missing. Lets a run on a shared machine report what the
/// kernel would do on idle cores: images per CPU-second × threads.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after_name = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// Decodes the whole training split into batches of [`BATCH`].
fn load(pool: &rayon::ThreadPool) -> Vec<ImageBatch> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/cifar10-jpg.tar.gz");
    let started = Instant::now();
    let folder = ImageFolder::open(&path, Some("train")).expect("open CIFAR-10 archive");
    let indices: Vec<usize> = (0..folder.len()).collect();
    let batches: Vec<ImageBatch> = indices
        .chunks(BATCH)
        .map(|chunk| decode_batch(&folder, chunk, 32, 32, pool).expect("decode batch"))
        .collect();
    println!(
        "decoded {} images in {:.1} s",
        folder.len(),
        started.elapsed().as_secs_f64()
    );
    batches
}

fn main() {
    let threads = env_usize("SCANFLOW_BENCH_THREADS", 2);
    let passes = env_usize("SCANFLOW_BENCH_PASSES", 3);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("thread pool");
    let batches = load(&pool);
    let images: usize = batches.iter().map(ImageBatch::len).sum();
    let recipe = recipe();
    let pipeline = recipe.pipeline().expect("valid recipe");
    let mut out = Vec::new();
    let (mut rates, mut idle_rates) = (Vec::new(), Vec::new());
    for pass in 0..passes {
        let (started, cpu_start) = (Instant::now(), cpu_seconds());
        for batch in &batches {
            augment_batch(&pipeline, batch, VIEWS, 7, pass as u64, &pool, &mut out)
                .expect("augment");
        }
        let rate = images as f64 / started.elapsed().as_secs_f64();
        let cpu = cpu_start.zip(cpu_seconds()).map(|(a, b)| b - a);
        let idle_rate = cpu.map_or(f64::NAN, |c| images as f64 / c * threads as f64);
        println!(
            "pass {}: {rate:.0} images/s wall ({} views/s); {idle_rate:.0} images/s per {threads} busy cores (CPU time)",
            pass + 1,
            rate as u64 * VIEWS as u64
        );
        rates.push(rate);
        idle_rates.push(idle_rate);
    }
    let wall = median(&mut rates);
    let idle = median(&mut idle_rates);
    let verdict = |rate: f64| if rate >= TARGET { "PASS" } else { "FAIL" };
    println!(
        "{recipe:?}, {VIEWS} views, batch {BATCH}, {threads} threads (target {TARGET:.0} images/s):"
    );
    println!("  wall-clock median {wall:.0} images/s — {}", verdict(wall));
    println!(
        "  CPU-time median {idle:.0} images/s on {threads} busy cores — {}",
        verdict(idle)
    );
}

/// The median of `values` (sorted in place).
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
