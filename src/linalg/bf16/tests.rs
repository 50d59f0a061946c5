use super::super::{matmul, matmul_at, product_checked, Mat, Precision};
use super::{available, Kernel};

/// Deterministic values in [-2, 2) with full f32 mantissas.
fn values(len: usize, seed: u64) -> Vec<f32> {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 40) as f32 / (1u64 << 22) as f32 - 2.0
        })
        .collect()
}

fn rounded(v: &[f32]) -> Vec<f32> {
    v.iter()
        .map(|&x| half::bf16::from_f32(x).to_f32())
        .collect()
}

/// `kernel`'s product, as `matmul_at` runs it.
fn product_on(
    kernel: Kernel,
    (dst, d): (&mut [f32], Mat),
    lhs: (&[f32], Mat),
    rhs: (&[f32], Mat),
    accumulate: bool,
    threads: usize,
) {
    let dst = (dst.as_mut_ptr(), dst.len());
    product_checked(Some(kernel), dst, d, lhs, rhs, accumulate, threads).unwrap();
}

/// The f32 gemm product of the bf16-rounded operands: what a bf16 kernel computes, up to
/// the order of its sums.
fn reference(
    (dst, d): (&mut [f32], Mat),
    (a, l): (&[f32], Mat),
    (b, r): (&[f32], Mat),
    accumulate: bool,
) {
    matmul((dst, d), (&rounded(a), l), (&rounded(b), r), accumulate, 1).unwrap();
}

/// How far a bf16 kernel's element may be from [`reference`]'s `want` over `k` products.
fn tolerance(k: usize, want: f32) -> f32 {
    1e-5 * (k as f32).sqrt() * 4.0 + 1e-5 * want.abs()
}

/// `kernel`'s product against f32 gemm on the bf16-rounded operands: the products are then
/// exact in both, and only the order of the f32 sums differs.
fn check(
    kernel: Kernel,
    (m, n, k): (usize, usize, usize),
    transposed: (bool, bool),
    accumulate: bool,
    threads: usize,
) {
    let (a, b) = (values(m * k, 1), values(k * n, 2));
    let l = if transposed.0 {
        Mat::rows(k, m).t()
    } else {
        Mat::rows(m, k)
    };
    let r = if transposed.1 {
        Mat::rows(n, k).t()
    } else {
        Mat::rows(k, n)
    };
    let start = values(m * n, 3);
    let (mut want, mut got) = (start.clone(), start);
    let d = Mat::rows(m, n);
    reference((&mut want, d), (&a, l), (&b, r), accumulate);
    product_on(kernel, (&mut got, d), (&a, l), (&b, r), accumulate, threads);
    for (i, (w, g)) in want.iter().zip(&got).enumerate() {
        assert!(
            (w - g).abs() <= tolerance(k, *w),
            "{kernel:?} {m}×{n}×{k} {transposed:?}: element {i}: {g} against {w}"
        );
    }
}

/// The kernels this CPU offers, or none with a note that the test is skipped.
fn kernels_here() -> Vec<Kernel> {
    let kernels = available();
    if kernels.is_empty() {
        eprintln!("skipped: this CPU has no bf16 kernel (the f32 path is tested elsewhere)");
    }
    kernels
}

#[test]
fn products_match_f32_products_of_the_rounded_operands() {
    for kernel in kernels_here() {
        products_match_on(kernel);
    }
}

fn products_match_on(kernel: Kernel) {
    for (m, n, k) in [
        (1, 1, 1),
        (32, 32, 32),
        (45, 70, 27),
        (300, 64, 288),
        (64, 1152, 517),
        (7, 3, 0),
    ] {
        for transposed in [(false, false), (false, true), (true, false), (true, true)] {
            check(kernel, (m, n, k), transposed, false, 1);
        }
        check(kernel, (m, n, k), (false, true), true, 1);
    }
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    for kernel in kernels_here() {
        let (m, n, k) = (1000, 96, 150);
        let (a, b) = (values(m * k, 4), values(k * n, 5));
        let run = |threads| {
            let mut out = vec![0f32; m * n];
            let d = Mat::rows(m, n);
            let (l, r) = (
                (a.as_slice(), Mat::rows(m, k)),
                (b.as_slice(), Mat::rows(k, n)),
            );
            product_on(kernel, (&mut out, d), l, r, false, threads);
            out
        };
        let one = run(1);
        assert_eq!(one, run(2), "{kernel:?}");
        assert_eq!(one, run(3), "{kernel:?}");
        check(kernel, (m, n, k), (false, false), false, 2);
    }
}

#[test]
fn bf16_precision_runs_the_fastest_kernel() {
    let Some(&fastest) = kernels_here().first() else {
        return;
    };
    assert_eq!(Precision::Bf16.kernel(), Some(fastest));
    let (a, b) = (values(40 * 50, 8), values(50 * 30, 9));
    let (l, r, d) = (Mat::rows(40, 50), Mat::rows(50, 30), Mat::rows(40, 30));
    let (mut want, mut got) = (vec![0f32; 1200], vec![0f32; 1200]);
    product_on(fastest, (&mut want, d), (&a, l), (&b, r), false, 1);
    matmul_at(Precision::Bf16, (&mut got, d), (&a, l), (&b, r), false, 1).unwrap();
    assert_eq!(want, got);
}

#[test]
fn f32_precision_is_the_gemm_product() {
    let (a, b) = (values(12, 6), values(12, 7));
    let (mut want, mut got) = (vec![0f32; 9], vec![0f32; 9]);
    let (l, r, d) = (Mat::rows(3, 4), Mat::rows(4, 3), Mat::rows(3, 3));
    matmul((&mut want, d), (&a, l), (&b, r), false, 1).unwrap();
    matmul_at(Precision::F32, (&mut got, d), (&a, l), (&b, r), false, 1).unwrap();
    assert_eq!(want, got);
}

#[test]
fn blocks_stored_in_place_respect_the_destination_view() {
    for kernel in kernels_here() {
        let (m, n, k) = (70, 64, 45);
        let (a, b) = (values(m * k, 6), values(k * n, 7));
        let (l, r) = (Mat::rows(m, k), Mat::rows(k, n));
        let mut want = vec![0f32; m * n];
        let d = Mat::rows(m, n);
        reference((&mut want, d), (&a, l), (&b, r), false);
        let stride = n + 13;
        let mut wide = vec![-9f32; m * stride];
        let columns = Mat::columns_of(m, n, stride);
        product_on(kernel, (&mut wide, columns), (&a, l), (&b, r), false, 2);
        let mut transposed = vec![-9f32; n * m];
        let t = Mat::rows(n, m).t();
        product_on(kernel, (&mut transposed, t), (&a, l), (&b, r), false, 2);
        for i in 0..m {
            for j in 0..n {
                let w = want[i * n + j];
                let tolerance = tolerance(k, w);
                assert!(
                    (wide[i * stride + j] - w).abs() <= tolerance,
                    "{kernel:?} ({i}, {j})"
                );
                assert!(
                    (transposed[j * m + i] - w).abs() <= tolerance,
                    "{kernel:?} ({i}, {j})ᵀ"
                );
            }
            assert!(
                wide[i * stride + n..][..13].iter().all(|&v| v == -9.0),
                "{kernel:?}"
            );
        }
    }
}
