//! Seeded synthetic feature matrices for tests and benchmarks: Gaussian vectors (whose
//! directions are uniform on the sphere) and Gaussian clusters around random centres.

use crate::rng::SplitMix64;

/// A standard normal draw (Box–Muller).
fn normal(rng: &mut SplitMix64) -> f32 {
    let u = rng.uniform_f32(f32::EPSILON, 1.0);
    let v = rng.uniform_f32(0.0, 1.0);
    (-2.0 * u.ln()).sqrt() * (std::f32::consts::TAU * v).cos()
}

/// `n`×`dim` standard normal values, row-major.
pub fn gaussian(n: usize, dim: usize, seed: u64) -> Vec<f32> {
    let mut rng = SplitMix64::new(seed);
    (0..n * dim).map(|_| normal(&mut rng)).collect()
}

/// `n` points in `clusters` Gaussian clusters: point `i` belongs to cluster `i % clusters`
/// (its label) and is that cluster's standard normal centre plus `spread`·N(0, 1) noise.
pub fn clustered(
    n: usize,
    dim: usize,
    clusters: usize,
    spread: f32,
    seed: u64,
) -> (Vec<f32>, Vec<u32>) {
    let centres = gaussian(clusters.max(1), dim, seed);
    let mut rng = SplitMix64::new(seed ^ 0x5eed);
    let mut data = Vec::with_capacity(n * dim);
    let labels: Vec<u32> = (0..n).map(|i| (i % clusters.max(1)) as u32).collect();
    for &label in &labels {
        let centre = &centres[label as usize * dim..(label as usize + 1) * dim];
        data.extend(centre.iter().map(|&c| c + spread * normal(&mut rng)));
    }
    (data, labels)
}
