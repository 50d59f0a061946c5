//! Choosing the candle device from a graph's [`DeviceSpec`]: `Cpu`, `Cuda(n)`, or `Auto`
//! (CUDA device 0 when built with the `cuda` feature and it opens, else the CPU).

use candle_core::Device;

use super::error::ModelError;
use crate::spec::DeviceSpec;

/// The device `spec` names. `Cuda(n)` in a build without the `cuda` feature is an error
/// that says to rebuild with `--features cuda`.
pub fn select(spec: DeviceSpec) -> Result<Device, ModelError> {
    match spec {
        DeviceSpec::Cpu => Ok(Device::Cpu),
        DeviceSpec::Cuda(ordinal) => cuda(ordinal),
        DeviceSpec::Auto if candle_core::utils::cuda_is_available() => {
            Ok(cuda(0).unwrap_or(Device::Cpu))
        }
        DeviceSpec::Auto => Ok(Device::Cpu),
    }
}

#[cfg(feature = "cuda")]
fn cuda(ordinal: usize) -> Result<Device, ModelError> {
    Device::new_cuda(ordinal).map_err(|source| ModelError::Cuda { ordinal, source })
}

#[cfg(not(feature = "cuda"))]
fn cuda(ordinal: usize) -> Result<Device, ModelError> {
    Err(ModelError::CudaNotBuilt { ordinal })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_is_always_there() {
        assert!(select(DeviceSpec::Cpu).unwrap().is_cpu());
    }

    #[cfg(not(feature = "cuda"))]
    #[test]
    fn cuda_without_the_feature_says_how_to_rebuild() {
        let err = select(DeviceSpec::Cuda(1)).unwrap_err();
        assert!(matches!(err, ModelError::CudaNotBuilt { ordinal: 1 }));
        assert!(err.to_string().contains("--features cuda"), "{err}");
        assert!(select(DeviceSpec::Auto).unwrap().is_cpu());
    }
}
