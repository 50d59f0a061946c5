//! The self-labelling loss against hand-worked values, its gradient against central finite
//! differences (in f64), and the no-confident-sample case.

use candle_core::{DType, Device, Tensor, Var};

use super::*;

fn scalar(t: &Tensor) -> f64 {
    t.to_dtype(DType::F64).unwrap().to_scalar::<f64>().unwrap()
}

/// Weak probabilities: rows 0, 1 confidently cluster 0, row 2 unsure, row 3 confidently 1.
fn weak() -> Tensor {
    let rows = [
        [0.995f64, 0.005],
        [0.999, 0.001],
        [0.6, 0.4],
        [0.002, 0.998],
    ];
    Tensor::new(&rows, &Device::Cpu).unwrap()
}

#[test]
fn balanced_and_plain_losses_by_hand() {
    // Confident: rows 0, 1 (label 0) and 3 (label 1); n = 3, K = 2 labels present, so
    // w = 3/(2·2) = 0.75 for label 0 and 3/(2·1) = 1.5 for label 1.
    // Strong logits: row 0 (0, 0) → ℓ = ln 2; row 1 (ln 3, 0) → p₀ = ¾, ℓ = ln(4/3);
    // row 2 is ignored; row 3 (0, 0) → ℓ = ln 2.
    // Balanced: (0.75·ln 2 + 0.75·ln(4/3) + 1.5·ln 2)/3 = ¾ ln 2 + ¼ ln(4/3) = 0.5917811
    // (equivalently ½[(ln 2 + ln(4/3))/2 + ln 2], the mean over labels of each label's mean).
    // Plain: (2 ln 2 + ln(4/3))/3 = 0.5579736.
    let logits = Tensor::new(
        &[[0f64, 0.], [3f64.ln(), 0.], [5., -5.], [0., 0.]],
        &Device::Cpu,
    )
    .unwrap();
    let (ln2, ln43) = (2f64.ln(), (4.0f64 / 3.0).ln());
    let balanced = self_label_loss(&weak(), &logits, Selection::scan(0.99), true)
        .unwrap()
        .unwrap();
    assert_eq!(balanced.confident, 3);
    let want = 0.75 * ln2 + 0.25 * ln43;
    assert!((scalar(&balanced.loss) - want).abs() < 1e-9, "{want}");
    let plain = self_label_loss(&weak(), &logits, Selection::scan(0.99), false)
        .unwrap()
        .unwrap();
    let want = (2.0 * ln2 + ln43) / 3.0;
    assert!((scalar(&plain.loss) - want).abs() < 1e-9, "{want}");
    assert_eq!(balanced_weights(&[0, 0, 1]), vec![0.75, 0.75, 1.5]);
}

#[test]
fn no_confident_sample_gives_no_loss() {
    let logits = Tensor::zeros((4, 2), DType::F64, &Device::Cpu).unwrap();
    let loss = self_label_loss(&weak(), &logits, Selection::scan(0.999), true).unwrap();
    assert!(loss.is_none(), "no row exceeds 0.999 (row 1 equals it)");
    let (rows, labels) = confident_labels(&weak(), Selection::scan(0.99)).unwrap();
    assert_eq!((rows, labels), (vec![0, 1, 3], vec![0, 0, 1]));
}

#[test]
fn mismatched_shapes_are_refused() {
    let logits = Tensor::zeros((3, 2), DType::F64, &Device::Cpu).unwrap();
    assert!(self_label_loss(&weak(), &logits, Selection::scan(0.99), true).is_err());
}

fn loss_at(logits: &Tensor) -> f64 {
    scalar(
        &self_label_loss(&weak(), logits, Selection::scan(0.99), true)
            .unwrap()
            .unwrap()
            .loss,
    )
}

#[test]
fn gradient_matches_finite_differences() {
    // Random strong logits (4, 2); central differences, h = 1e-5. The ignored row 2 must
    // get a zero gradient.
    let logits = Tensor::randn(0f64, 1.0, (4, 2), &Device::Cpu).unwrap();
    let var = Var::from_tensor(&logits).unwrap();
    let loss = self_label_loss(&weak(), var.as_tensor(), Selection::scan(0.99), true)
        .unwrap()
        .unwrap();
    let grads = loss.loss.backward().unwrap();
    let analytic: Vec<f64> = grads
        .get(&var)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    let base: Vec<f64> = logits.flatten_all().unwrap().to_vec1().unwrap();
    for (i, want) in analytic.iter().enumerate() {
        let shifted = |h: f64| {
            let mut v = base.clone();
            v[i] += h;
            loss_at(&Tensor::from_vec(v, (4, 2), &Device::Cpu).unwrap())
        };
        let numeric = (shifted(1e-5) - shifted(-1e-5)) / 2e-5;
        assert!((numeric - want).abs() < 1e-7, "[{i}]: {numeric} vs {want}");
    }
    assert_eq!(&analytic[4..6], &[0.0, 0.0]);
}

#[test]
fn the_entropy_term_is_minus_w_times_the_entropy_of_the_mean_prediction() {
    // Rows (0, 0) and (ln 3, 0): p = (½, ½) and (¾, ¼), p̄ = (⅝, ⅜),
    // H = −⅝ ln ⅝ − ⅜ ln ⅜ = 0.6615632; with w = 2 the term is −1.3231265.
    let logits = Tensor::new(&[[0f64, 0.], [3f64.ln(), 0.]], &Device::Cpu).unwrap();
    let term = scalar(&entropy_term(&logits, 2.0).unwrap());
    let h = -(0.625f64 * 0.625f64.ln() + 0.375 * 0.375f64.ln());
    assert!((term + 2.0 * h).abs() < 1e-6, "{term}");
    // Uniform predictions reach the most negative value, −w ln C.
    let uniform = Tensor::zeros((3, 4), DType::F64, &Device::Cpu).unwrap();
    let lowest = scalar(&entropy_term(&uniform, 1.5).unwrap());
    assert!((lowest + 1.5 * 4f64.ln()).abs() < 1e-6, "{lowest}");
}

#[test]
fn a_quota_adds_each_clusters_most_confident_samples() {
    // Cluster 0 is predicted by rows 0, 1, 2 (0.995, 0.999, 0.6), cluster 1 by row 3.
    let pick =
        |threshold, quota| confident_labels(&weak(), Selection { threshold, quota }).unwrap();
    // Nothing exceeds 0.9999; quota ½: ⌈1.5⌉ = 2 of cluster 0 (rows 1, 0), ⌈0.5⌉ = 1 of 1.
    assert_eq!(pick(0.9999, 0.5), (vec![0, 1, 3], vec![0, 0, 1]));
    // Quota 0.2: the single most confident of each cluster.
    assert_eq!(pick(0.9999, 0.2), (vec![1, 3], vec![0, 1]));
    // The threshold's picks are kept: row 0 (0.995 > 0.99) joins row 1.
    assert_eq!(pick(0.99, 0.2), (vec![0, 1, 3], vec![0, 0, 1]));
    // Quota 1 takes every sample, the unsure row 2 included.
    assert_eq!(pick(0.9999, 1.0), (vec![0, 1, 2, 3], vec![0, 0, 0, 1]));
}
