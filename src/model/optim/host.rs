//! In-place updates over the `f32` data of CPU tensors: one pass over memory per state
//! tensor, no temporaries (a chain of candle operations would allocate one per operation).

use candle_core::{bail, CpuStorage, DType, InplaceOp3, Layout, Result, Tensor};

use crate::linalg::flushed;

/// Whether `t` takes the in-place path: a CPU tensor of `f32`.
pub(crate) fn applies(t: &Tensor) -> bool {
    t.device().is_cpu() && t.dtype() == DType::F32
}

/// Runs `update(dst, a, b)` over the elements of `dst` in place, with `a` and `b` read-only,
/// then stores values below [`crate::linalg::FLUSH_BELOW`] as 0; all three must be CPU
/// `f32` tensors of one size and must not share storage.
pub(crate) fn update(
    dst: &Tensor,
    a: &Tensor,
    b: &Tensor,
    update: impl Fn(&mut [f32], &[f32], &[f32]),
) -> Result<()> {
    let (a, b) = (a.contiguous()?, b.contiguous()?);
    dst.inplace_op3(&a, &b, &Kernel(update))
}

/// The adapter from a slice function to candle's in-place operation.
struct Kernel<F>(F);

impl<F: Fn(&mut [f32], &[f32], &[f32])> InplaceOp3 for Kernel<F> {
    fn name(&self) -> &'static str {
        "optimiser-update"
    }

    fn cpu_fwd(
        &self,
        dst: &mut CpuStorage,
        dst_layout: &Layout,
        a: &CpuStorage,
        a_layout: &Layout,
        b: &CpuStorage,
        b_layout: &Layout,
    ) -> Result<()> {
        let (start, end) = span(dst_layout)?;
        let CpuStorage::F32(dst) = dst else {
            bail!("optimiser update: the updated tensor is not f32")
        };
        let dst = &mut dst[start..end];
        let (a, b) = (slice(a, a_layout)?, slice(b, b_layout)?);
        if a.len() != dst.len() || b.len() != dst.len() {
            bail!(
                "optimiser update: sizes {}, {} and {} differ",
                dst.len(),
                a.len(),
                b.len()
            )
        }
        (self.0)(dst, a, b);
        dst.iter_mut().for_each(|v| *v = flushed(*v));
        Ok(())
    }
}

/// The element range of a contiguous layout.
fn span(layout: &Layout) -> Result<(usize, usize)> {
    match layout.contiguous_offsets() {
        Some(span) => Ok(span),
        None => bail!("optimiser update: tensor is not contiguous"),
    }
}

/// The `f32` elements a contiguous layout covers.
fn slice<'a>(storage: &'a CpuStorage, layout: &Layout) -> Result<&'a [f32]> {
    let (start, end) = span(layout)?;
    Ok(&storage.as_slice::<f32>()?[start..end])
}

#[cfg(test)]
mod tests {
    use candle_core::Device;

    use super::*;

    #[test]
    fn updates_that_reach_the_subnormal_range_are_stored_as_zero() {
        let dst = Tensor::new(&[1.0f32, 1.0, -1.0], &Device::Cpu).unwrap();
        let scale = Tensor::new(&[1e-40f32, 1e-20, -1e-39], &Device::Cpu).unwrap();
        let unused = Tensor::zeros(3, DType::F32, &Device::Cpu).unwrap();
        update(&dst, &scale, &unused, |d, s, _| {
            d.iter_mut().zip(s).for_each(|(d, s)| *d *= s);
        })
        .unwrap();
        assert_eq!(dst.to_vec1::<f32>().unwrap(), [0.0, 1e-20, 0.0]);
    }
}
