//! SCAN and Keras clustering losses against hand-worked values, and the Scan loss's
//! gradient against central finite differences (in f64).

use candle_core::{DType, Device, Tensor, Var};

use super::*;
use crate::model::cluster::softmax_rows;

fn scalar(t: &Tensor) -> f64 {
    t.to_dtype(DType::F64).unwrap().to_scalar::<f64>().unwrap()
}

fn close(found: f64, want: f64) {
    assert!((found - want).abs() < 1e-6, "found {found}, want {want}");
}

#[test]
fn identical_one_hot_pairs_are_perfectly_consistent() {
    // B = 2 anchors, one-hot on clusters 0 and 1 of C = 2, each neighbour identical:
    // s = (1, 1) → consistency −log 1 = 0; p̄ = (½, ½) → H = ln 2; total = 0 − 5·ln 2.
    let p = Tensor::new(&[[1f32, 0.], [0., 1.], [1., 0.], [0., 1.]], &Device::Cpu).unwrap();
    let loss = ScanLossKind::Scan.compute(&p, 2, 5.0).unwrap();
    close(scalar(&loss.consistency), 0.0);
    close(scalar(&loss.entropy), 2f64.ln());
    close(scalar(&loss.total), -5.0 * 2f64.ln());
}

#[test]
fn uniform_predictions() {
    // C = 4, B = 3, 3 views (2 neighbours each), every row ¼: s = 4·(¼·¼) = ¼, so the Scan
    // consistency is −log ¼ = ln 4 = 1.3862944; p̄ = ¼ → H = ln 4; total = (1 − w)·ln 4.
    // Keras: consistency = log(1 + e^−¼) = 0.5759394 (Python, math.log(1+math.exp(-0.25)));
    // entropy term ln 4 − ln 4 = 0, so total = 0.5759394 whatever the weight.
    let p = Tensor::full(0.25f32, (9, 4), &Device::Cpu).unwrap();
    let scan = ScanLossKind::Scan.compute(&p, 3, 2.0).unwrap();
    close(scalar(&scan.consistency), 4f64.ln());
    close(scalar(&scan.entropy), 4f64.ln());
    close(scalar(&scan.total), -(4f64.ln()));
    let keras = ScanLossKind::Keras.compute(&p, 3, 2.0).unwrap();
    close(scalar(&keras.consistency), 0.5759394198788437);
    close(scalar(&keras.total), 0.5759394198788437);
}

#[test]
fn keras_terms_by_hand() {
    // One anchor (0.5, 0.5, 0) with neighbours (1, 0, 0) and (0, 0, 1), C = 3:
    // s = (0.5, 0): consistency = ½(log(1 + e^−½) + log 2) = ½(0.4740770 + 0.6931472)
    // = 0.5836121; p̄ = (½, ½, 1e-8 clamp): H = ln 2 + 1e-8·18.42 ≈ 0.6931474;
    // total = 0.5836121 + ln 3 − 0.6931474 = 0.9890633.
    let p = Tensor::new(
        &[[0.5f64, 0.5, 0.], [1., 0., 0.], [0., 0., 1.]],
        &Device::Cpu,
    )
    .unwrap();
    let keras = ScanLossKind::Keras.compute(&p, 3, 5.0).unwrap();
    let consistency = 0.5 * ((1.0 + (-0.5f64).exp()).ln() + 2f64.ln());
    close(scalar(&keras.consistency), consistency);
    let entropy = 2f64.ln() - 1e-8 * 1e-8f64.ln();
    close(scalar(&keras.entropy), entropy);
    close(scalar(&keras.total), consistency + 3f64.ln() - entropy);
    // The Scan consistency clamps the disjoint pair at ε: ½(ln 2 − ln 1e-8) = 9.5563416.
    let scan = ScanLossKind::Scan.compute(&p, 3, 5.0).unwrap();
    close(scalar(&scan.consistency), 0.5 * (2f64.ln() - 1e-8f64.ln()));
}

#[test]
fn bad_layouts_are_refused() {
    let p = Tensor::full(0.5f32, (5, 2), &Device::Cpu).unwrap();
    assert!(
        ScanLossKind::Scan.compute(&p, 2, 5.0).is_err(),
        "5 rows, 2 views"
    );
    assert!(
        ScanLossKind::Scan.compute(&p, 1, 5.0).is_err(),
        "no neighbour"
    );
}

/// The total of either loss on softmax(logits), as f64.
fn total(kind: ScanLossKind, logits: &Tensor) -> f64 {
    let p = softmax_rows(logits).unwrap();
    scalar(&kind.compute(&p, 2, 5.0).unwrap().total)
}

#[test]
fn gradients_match_finite_differences() {
    // 3 anchors + 3 neighbours over C = 4, random logits; central differences, h = 1e-5.
    let logits = Tensor::randn(0f64, 1.0, (6, 4), &Device::Cpu).unwrap();
    for kind in [ScanLossKind::Scan, ScanLossKind::Keras] {
        let var = Var::from_tensor(&logits).unwrap();
        let p = softmax_rows(var.as_tensor()).unwrap();
        let grads = kind.compute(&p, 2, 5.0).unwrap().total.backward().unwrap();
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
                total(kind, &Tensor::from_vec(v, (6, 4), &Device::Cpu).unwrap())
            };
            let numeric = (shifted(1e-5) - shifted(-1e-5)) / 2e-5;
            assert!(
                (numeric - want).abs() < 1e-6,
                "{kind:?} [{i}]: {numeric} vs {want}"
            );
        }
    }
}
