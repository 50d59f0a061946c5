//! Tests of the contrastive losses: hand-worked values, a naive f64 reference on random
//! inputs, and finite-difference gradients.

use super::*;
use crate::rng::SplitMix64;
use candle_core::{Device, Var};

fn features(rows: &[[f64; 2]]) -> Tensor {
    let flat: Vec<f64> = rows.iter().flatten().copied().collect();
    Tensor::from_vec(flat, (rows.len(), 2), &Device::Cpu).unwrap()
}

fn scalar(t: &Tensor) -> f64 {
    t.to_dtype(DType::F64).unwrap().to_scalar::<f64>().unwrap()
}

fn random_rows(rows: usize, dim: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = SplitMix64::new(seed);
    (0..rows)
        .map(|_| {
            (0..dim)
                .map(|_| f64::from(rng.uniform_f32(-1.0, 1.0)))
                .collect()
        })
        .collect()
}

fn to_tensor(rows: &[Vec<f64>]) -> Tensor {
    let flat: Vec<f64> = rows.iter().flatten().copied().collect();
    Tensor::from_vec(flat, (rows.len(), rows[0].len()), &Device::Cpu).unwrap()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn normalized(rows: &[Vec<f64>], eps: f64) -> Vec<Vec<f64>> {
    rows.iter()
        .map(|r| {
            let norm = dot(r, r).sqrt().max(eps);
            r.iter().map(|x| x / norm).collect()
        })
        .collect()
}

fn log_sum_exp(values: &[f64]) -> f64 {
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    max + values.iter().map(|v| (v - max).exp()).sum::<f64>().ln()
}

/// NT-Xent by its definition, with loops in f64.
fn naive_nt_xent(rows: &[Vec<f64>], views: usize, t: f64) -> f64 {
    let z = normalized(rows, 1e-12);
    let (n, b) = (z.len(), z.len() / views);
    let mut total = 0.0;
    for i in 0..n {
        let others: Vec<f64> = (0..n)
            .filter(|&j| j != i)
            .map(|j| dot(&z[i], &z[j]) / t)
            .collect();
        let positives: Vec<f64> = (0..n)
            .filter(|&j| j != i && j % b == i % b)
            .map(|j| dot(&z[i], &z[j]) / t)
            .collect();
        total += log_sum_exp(&others) - positives.iter().sum::<f64>() / positives.len() as f64;
    }
    total / n as f64
}

/// The Keras example's loss by its Python text, with loops in f64 (column j minus row j's max).
fn naive_keras(rows: &[Vec<f64>], views: usize, t: f64, l2: bool) -> f64 {
    let f = if l2 {
        normalized(rows, 1e-7)
    } else {
        rows.to_vec()
    };
    let (n, b) = (f.len(), f.len() / views);
    let logits: Vec<Vec<f64>> = (0..n)
        .map(|i| (0..n).map(|j| dot(&f[i], &f[j]) / t).collect())
        .collect();
    let row_max: Vec<f64> = logits
        .iter()
        .map(|r| r.iter().copied().fold(f64::NEG_INFINITY, f64::max))
        .collect();
    let mut total = 0.0;
    for (i, row) in logits.iter().enumerate() {
        let shifted: Vec<f64> = row.iter().zip(&row_max).map(|(l, m)| l - m).collect();
        let lse = log_sum_exp(&shifted);
        total -= (0..n)
            .filter(|&j| j % b == i % b)
            .map(|j| shifted[j] - lse)
            .sum::<f64>();
    }
    total / n as f64
}

#[test]
fn nt_xent_two_orthogonal_images_with_identical_views() {
    // Rows a, b, a', b' with a = a' = (1,0), b = b' = (0,1). Row a sees b: 0, a': 1, b': 0
    // (over T), so ℓ = log(e^0 + e^{1/T} + e^0) − 1/T for every row:
    // T = 1: ln(2 + e) − 1 = 0.5514447139320509; T = 0.5: ln(2 + e²) − 2 = 0.23954476622188414.
    let z = features(&[[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]]);
    assert!((scalar(&nt_xent(&z, 2, 1.0).unwrap()) - 0.5514447139320509).abs() < 1e-12);
    assert!((scalar(&nt_xent(&z, 2, 0.5).unwrap()) - 0.23954476622188414).abs() < 1e-12);
    // Rows are normalised first, so scaling them changes nothing.
    let scaled = (z * 3.0).unwrap();
    assert!((scalar(&nt_xent(&scaled, 2, 1.0).unwrap()) - 0.5514447139320509).abs() < 1e-12);
}

#[test]
fn nt_xent_in_f32_matches_the_hand_value() {
    let z = features(&[[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]]);
    let z = z.to_dtype(DType::F32).unwrap();
    assert!(
        (scalar(&nt_xent(&z, 2, 0.1).unwrap()) - ((2.0 + 10f64.exp()).ln() - 10.0)).abs() < 1e-5
    );
}

#[test]
fn keras_loss_subtracts_the_row_max_along_the_last_axis() {
    // a = (2,0), b = (0,1), a' = (1,0), b' = (0,1), T = 1, no normalisation.
    // L = [[4,0,2,0],[0,1,0,1],[2,0,1,0],[0,1,0,1]], row maxima m = [4,1,2,1];
    // L'_ij = L_ij − m_j: row a [0,−1,0,−1], row b [−4,0,−2,0], row a' [−2,−1,−1,−1], b' = b.
    // Targets tile(eye(2)): rows a, a' take columns 0 and 2; rows b, b' columns 1 and 3.
    // ℓ_a = 2 ln(2 + 2/e), ℓ_b = 2 ln(2 + e⁻² + e⁻⁴), ℓ_a' = 3 + 2 ln(e⁻² + 3e⁻¹);
    // mean = 2.1275105895268336 (a per-row max would give a different number).
    let z = features(&[[2.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]]);
    let loss = scalar(&keras_contrastive(&z, 2, 1.0, false).unwrap());
    assert!((loss - 2.1275105895268336).abs() < 1e-12, "{loss}");
}

#[test]
fn keras_loss_with_l2_normalisation_counts_self_as_positive() {
    // Unit rows a = a' = (1,0), b = b' = (0,1): every row is [1,0,1,0] up to order, all row
    // maxima are 1, so every row's shifted logits are {0,−1,0,−1} with targets on the two 0s:
    // ℓ = 2 ln(2 + 2/e) = 2.0809781929...; scaling the rows by 5 changes nothing.
    let z = (features(&[[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]]) * 5.0).unwrap();
    let expected = 2.0 * (2.0 + 2.0 / std::f64::consts::E).ln();
    assert!((scalar(&keras_contrastive(&z, 2, 1.0, true).unwrap()) - expected).abs() < 1e-12);
}

#[test]
fn both_losses_match_naive_references_on_random_inputs() {
    for (views, batch, seed) in [(2, 3, 1), (3, 2, 2), (4, 3, 3)] {
        let rows = random_rows(views * batch, 5, seed);
        let z = to_tensor(&rows);
        let ours = scalar(&nt_xent(&z, views, 0.3).unwrap());
        assert!(
            (ours - naive_nt_xent(&rows, views, 0.3)).abs() < 1e-10,
            "V={views}"
        );
        for l2 in [false, true] {
            let ours = scalar(&keras_contrastive(&z, views, 0.3, l2).unwrap());
            let naive = naive_keras(&rows, views, 0.3, l2);
            assert!(
                (ours - naive).abs() < 1e-10,
                "V={views} l2={l2}: {ours} vs {naive}"
            );
        }
    }
}

/// Compares the backpropagated gradient of `loss` with central differences.
fn check_gradient(loss: impl Fn(&Tensor) -> Result<Tensor>, seed: u64) {
    let rows = random_rows(6, 4, seed);
    let var = Var::from_tensor(&to_tensor(&rows)).unwrap();
    let grads = loss(var.as_tensor()).unwrap().backward().unwrap();
    let analytic = grads
        .get(var.as_tensor())
        .unwrap()
        .to_vec2::<f64>()
        .unwrap();
    let h = 1e-6;
    for i in 0..rows.len() {
        for k in 0..rows[0].len() {
            let mut plus = rows.clone();
            plus[i][k] += h;
            let mut minus = rows.clone();
            minus[i][k] -= h;
            let numeric = (scalar(&loss(&to_tensor(&plus)).unwrap())
                - scalar(&loss(&to_tensor(&minus)).unwrap()))
                / (2.0 * h);
            assert!(
                (analytic[i][k] - numeric).abs() < 1e-6,
                "[{i}][{k}]: {} vs {numeric}",
                analytic[i][k]
            );
        }
    }
}

#[test]
fn nt_xent_gradient_matches_finite_differences() {
    check_gradient(|z| nt_xent(z, 2, 0.5), 11);
    check_gradient(|z| nt_xent(z, 3, 0.5), 12);
}

#[test]
fn keras_gradient_matches_finite_differences() {
    check_gradient(|z| keras_contrastive(z, 2, 0.5, true), 13);
    check_gradient(|z| keras_contrastive(z, 3, 0.5, false), 14);
}

#[test]
fn bad_view_counts_and_temperatures_are_refused() {
    let z = to_tensor(&random_rows(6, 3, 5));
    assert!(nt_xent(&z, 1, 0.1)
        .unwrap_err()
        .to_string()
        .contains("1 views"));
    assert!(nt_xent(&z, 4, 0.1)
        .unwrap_err()
        .to_string()
        .contains("6 feature rows"));
    assert!(keras_contrastive(&z, 2, 0.0, true)
        .unwrap_err()
        .to_string()
        .contains("temperature"));
}

#[test]
fn loss_kind_reads_from_ron() {
    assert_eq!(
        ron::from_str::<LossKind>("NtXent").unwrap(),
        LossKind::NtXent
    );
    assert_eq!(
        ron::from_str::<LossKind>("Keras(l2_normalize: false)").unwrap(),
        LossKind::Keras {
            l2_normalize: false
        }
    );
    assert_eq!(
        ron::from_str::<LossKind>("Keras()").unwrap(),
        LossKind::Keras { l2_normalize: true }
    );
    assert!(ron::from_str::<LossKind>("Keras(l2: true)").is_err());
    let z = features(&[[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]]);
    let via_kind = LossKind::default().compute(&z, 2, 1.0).unwrap();
    assert!((scalar(&via_kind) - 0.5514447139320509).abs() < 1e-12);
}
