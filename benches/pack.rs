//! Packing benchmark: the whole CIFAR-10 JPEG archive (60,000 images, train and test) read as
//! one ImageFolder and packed at 32×32 into a [`PackedStore`] on a 2-thread pool, then
//! reopened.
//!
//! Run with:
//!
//! ```text
//! cargo bench --bench pack
//! ```
//!
//! Reported, each run and the median of 3: archive scan (gunzip + untar into memory), decode +
//! pack, images/s end to end (target ≥ 37,000, 10× PIL's 3,712), and reopen time (target:
//! milliseconds). Then, once, single-threaded decoding of every image: the `zune-jpeg` path
//! the store uses against a bare `zune-jpeg` `decode()` (the floor) and the `image` crate's
//! `load_from_memory` + `to_rgb8` (the path the decoder used before). The process exits 0 either way; figures depend on the machine. On a
//! shared machine wall times inflate with the load, so each phase also reports the CPU
//! seconds this process used (Linux `/proc/self/stat`; absent elsewhere).

use std::path::Path;
use std::time::{Duration, Instant};

use scanflow::data::{Dataset, ImageFolder, PackedStore};

/// Images per second the whole pipeline should reach (10× PIL's 3,712).
const TARGET_IMAGES_PER_S: f64 = 37_000.0;
/// Repetitions of the pack measurement.
const RUNS: usize = 3;

fn main() {
    let archive = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/cifar10-jpg.tar.gz");
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .expect("thread pool");
    let mut runs = Vec::new();
    for run in 1..=RUNS {
        let times = pack_once(&archive, &pool);
        println!(
            "run {run}: scan {:.3} s ({:.2} CPU s), decode+pack {:.3} s ({:.2} CPU s), \
             {:.0} img/s end to end, reopen {:.3} ms",
            times.scan.as_secs_f64(),
            times.scan_cpu,
            times.pack.as_secs_f64(),
            times.pack_cpu,
            times.images_per_s(),
            times.reopen.as_secs_f64() * 1e3
        );
        runs.push(times);
    }
    summary(&runs);
    compare_decoders(&archive);
}

/// Timings of one run.
struct Times {
    images: usize,
    scan: Duration,
    scan_cpu: f64,
    pack: Duration,
    pack_cpu: f64,
    reopen: Duration,
}

impl Times {
    fn images_per_s(&self) -> f64 {
        self.images as f64 / (self.scan + self.pack).as_secs_f64()
    }
}

/// Scans the archive, packs it into a fresh temp dir and reopens the store.
fn pack_once(archive: &Path, pool: &rayon::ThreadPool) -> Times {
    let (start, cpu) = (Instant::now(), cpu_seconds());
    let folder = ImageFolder::open(archive, None).expect("open the archive");
    let (scan, scan_cpu) = (start.elapsed(), cpu_seconds() - cpu);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("cifar10-32.bin");
    let (start, cpu) = (Instant::now(), cpu_seconds());
    let store = PackedStore::open_or_build(&folder, 32, 32, &path, pool, &|_| true).expect("pack");
    let (pack, pack_cpu) = (start.elapsed(), cpu_seconds() - cpu);
    drop(store);
    let start = Instant::now();
    let store =
        PackedStore::open_or_build(&folder, 32, 32, &path, pool, &|_| true).expect("reopen");
    let reopen = start.elapsed();
    assert_eq!(store.len(), folder.len());
    Times {
        images: folder.len(),
        scan,
        scan_cpu,
        pack,
        pack_cpu,
        reopen,
    }
}

/// Prints the medians and PASS/FAIL against the targets.
fn summary(runs: &[Times]) {
    let median = |f: &dyn Fn(&Times) -> f64| {
        let mut values: Vec<f64> = runs.iter().map(f).collect();
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    let rate = median(&|t| t.images_per_s());
    let reopen_ms = median(&|t| t.reopen.as_secs_f64() * 1e3);
    println!(
        "median of {RUNS}: {} images, scan {:.3} s, decode+pack {:.3} s, {rate:.0} img/s end to end \
         [{}: target >= {TARGET_IMAGES_PER_S:.0}], reopen {reopen_ms:.3} ms [{}: target < 10 ms]",
        runs[0].images,
        median(&|t| t.scan.as_secs_f64()),
        median(&|t| t.pack.as_secs_f64()),
        verdict(rate >= TARGET_IMAGES_PER_S),
        verdict(reopen_ms < 10.0),
    );
}

/// Single-threaded decoding of every image: `zune-jpeg` (the store's path) against `image`.
fn compare_decoders(archive: &Path) {
    let folder = ImageFolder::open(archive, None).expect("open the archive");
    let mut out = vec![0u8; 32 * 32 * 3];
    let (start, cpu) = (Instant::now(), cpu_seconds());
    for i in 0..folder.len() {
        Dataset::read_rgb(&folder, i, 32, 32, &mut out).expect("decode");
    }
    let zune = start.elapsed().as_secs_f64();
    let zune_cpu = cpu_seconds() - cpu;
    let (start, cpu) = (Instant::now(), cpu_seconds());
    for i in 0..folder.len() {
        let bytes = folder.read(i).expect("read");
        let cursor = zune_core::bytestream::ZCursor::new(&bytes[..]);
        let pixels = zune_jpeg::JpegDecoder::new(cursor)
            .decode()
            .expect("decode");
        out.copy_from_slice(&pixels);
    }
    let (raw, raw_cpu) = (start.elapsed().as_secs_f64(), cpu_seconds() - cpu);
    println!("1 thread, bare zune-jpeg decode(): {raw:.3} s ({raw_cpu:.2} CPU s)");
    let (start, cpu) = (Instant::now(), cpu_seconds());
    for i in 0..folder.len() {
        let bytes = folder.read(i).expect("read");
        let image = image::load_from_memory(&bytes).expect("decode").to_rgb8();
        out.copy_from_slice(image.as_raw());
    }
    let image = start.elapsed().as_secs_f64();
    let image_cpu = cpu_seconds() - cpu;
    println!(
        "1 thread, {} images: zune-jpeg path {zune:.3} s ({zune_cpu:.2} CPU s, {:.0} img/s), \
         image crate {image:.3} s ({image_cpu:.2} CPU s, {:.0} img/s), {:.2}x",
        folder.len(),
        folder.len() as f64 / zune,
        folder.len() as f64 / image,
        image / zune
    );
}

/// User + system CPU seconds of this process so far (all threads), from `/proc/self/stat`
/// in clock ticks of 1/100 s; 0 where that file is missing.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
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

fn verdict(pass: bool) -> &'static str {
    if pass {
        "PASS"
    } else {
        "FAIL"
    }
}
