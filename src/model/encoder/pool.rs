//! The pooling Keras' ResNet V2 needs beyond `model::kernels`' 2×2 pool, on `(B,H,W,C)`:
//! the stem's zero-padded 3×3 stride-2 max-pool and the stride-2 subsampling shortcut
//! (`MaxPooling2D(1, strides=2)`), as candle index selections (so they backpropagate).

use candle_core::{Device, Tensor};

/// Indices `start, start + step, …` (`count` of them) for `index_select`.
fn strided(
    start: usize,
    count: usize,
    step: usize,
    device: &Device,
) -> candle_core::Result<Tensor> {
    Tensor::arange_step(
        start as u32,
        (start + count * step) as u32,
        step as u32,
        device,
    )
}

/// Every `stride`-th row and column from the first: `(B,H,W,C)` → `(B,⌈H/s⌉,⌈W/s⌉,C)`.
pub(super) fn subsample(x: &Tensor, stride: usize) -> candle_core::Result<Tensor> {
    let (_, h, w, _) = x.dims4()?;
    let rows = strided(0, h.div_ceil(stride), stride, x.device())?;
    let cols = strided(0, w.div_ceil(stride), stride, x.device())?;
    x.index_select(&rows, 1)?.index_select(&cols, 2)
}

/// Keras' `ZeroPadding2D(1)` then `MaxPooling2D(3, strides=2)`: `(B,H,W,C)` →
/// `(B,⌊(H−1)/2⌋+1,⌊(W−1)/2⌋+1,C)`. The padding is zeros, not −∞, as in Keras. Written
/// with candle operations: `kernels` has only the 2×2 pool.
pub(super) fn max_pool3_s2(x: &Tensor) -> candle_core::Result<Tensor> {
    let padded = x.pad_with_zeros(1, 1, 1)?.pad_with_zeros(2, 1, 1)?;
    let rows = max3_along(&padded, 1)?;
    max3_along(&rows, 2)
}

/// The maximum over windows of 3 at stride 2 along `dim` of an already padded tensor.
fn max3_along(x: &Tensor, dim: usize) -> candle_core::Result<Tensor> {
    let out = (x.dim(dim)? - 3) / 2 + 1;
    let pick = |offset: usize| x.index_select(&strided(offset, out, 2, x.device())?, dim);
    pick(0)?.maximum(&pick(1)?)?.maximum(&pick(2)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keras' zero-padded 3×3 stride-2 max-pool, written as plain loops.
    fn naive_pool(x: &[f32], (h, w, c): (usize, usize, usize)) -> Vec<f32> {
        let (ho, wo) = ((h - 1) / 2 + 1, (w - 1) / 2 + 1);
        let at = |y: isize, x_: isize, ch: usize| {
            let inside = (0..h as isize).contains(&y) && (0..w as isize).contains(&x_);
            if inside {
                x[(y as usize * w + x_ as usize) * c + ch]
            } else {
                0.0
            }
        };
        let mut out = Vec::new();
        for oy in 0..ho {
            for ox in 0..wo {
                for ch in 0..c {
                    let window = (0..9).map(|k| {
                        at(
                            (2 * oy + k / 3) as isize - 1,
                            (2 * ox + k % 3) as isize - 1,
                            ch,
                        )
                    });
                    out.push(window.fold(f32::NEG_INFINITY, f32::max));
                }
            }
        }
        out
    }

    #[test]
    fn max_pool3_s2_matches_keras_zero_padded_pooling() {
        for (h, w) in [(7, 6), (16, 16), (1, 2)] {
            let x = Tensor::randn(0f32, 1f32, (1, h, w, 3), &Device::Cpu).unwrap();
            let y = max_pool3_s2(&x).unwrap();
            let expected = naive_pool(&x.flatten_all().unwrap().to_vec1().unwrap(), (h, w, 3));
            assert_eq!(y.dims(), [1, (h - 1) / 2 + 1, (w - 1) / 2 + 1, 3]);
            assert_eq!(y.flatten_all().unwrap().to_vec1::<f32>().unwrap(), expected);
        }
    }

    #[test]
    fn subsample_keeps_every_second_row_and_column_from_the_first() {
        let x = Tensor::arange(0f32, 15., &Device::Cpu)
            .unwrap()
            .reshape((1, 3, 5, 1))
            .unwrap();
        let y = subsample(&x, 2).unwrap();
        assert_eq!(y.dims(), [1, 2, 3, 1]);
        assert_eq!(
            y.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            [0., 2., 4., 10., 12., 14.]
        );
    }
}
