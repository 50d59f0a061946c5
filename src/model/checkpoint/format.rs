//! The checkpoint file format: a safetensors file whose header's `__metadata__` holds the
//! JSON of [`CheckpointMeta`] under the key `scanflow`. Tensors are stored as they are
//! (f32, f64, bf16, f16, u8, u32, i64); non-finite floating-point values are refused.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use candle_core::{DType, Device, Tensor, WithDType};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use super::{CheckpointMeta, FORMAT_VERSION};
use crate::model::train_error::CheckpointError;

/// The `__metadata__` key holding the JSON metadata.
const META_KEY: &str = "scanflow";

/// The largest header safetensors accepts (100 MB).
const MAX_HEADER_LEN: u64 = 100_000_000;

/// A tensor's element type, shape and little-endian bytes.
struct Raw {
    dtype: Dtype,
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

/// The bytes of a checkpoint file holding `meta` and `tensors`, bound for `path`.
pub(super) fn encode(
    meta: &CheckpointMeta,
    tensors: &BTreeMap<String, Tensor>,
    path: &Path,
) -> Result<Vec<u8>, CheckpointError> {
    let raws = tensors
        .iter()
        .map(|(name, tensor)| Ok((name.as_str(), to_raw(name, tensor, path)?)))
        .collect::<Result<Vec<_>, CheckpointError>>()?;
    let not_safetensors = |e: safetensors::SafeTensorError| CheckpointError::NotSafetensors {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let views = raws
        .iter()
        .map(|(name, raw)| {
            Ok((
                *name,
                TensorView::new(raw.dtype, raw.shape.clone(), &raw.bytes)?,
            ))
        })
        .collect::<Result<Vec<_>, safetensors::SafeTensorError>>()
        .map_err(not_safetensors)?;
    let json = serde_json::to_string(meta).map_err(|e| CheckpointError::BadMetadata {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let header = HashMap::from([(META_KEY.to_string(), json)]);
    safetensors::serialize(views, Some(header)).map_err(not_safetensors)
}

/// The metadata and tensors (on the CPU) of the checkpoint file `bytes` read from `path`.
pub(super) fn decode(
    bytes: &[u8],
    path: &Path,
) -> Result<(CheckpointMeta, BTreeMap<String, Tensor>), CheckpointError> {
    check_length(bytes, path)?;
    let not_safetensors = |e: safetensors::SafeTensorError| CheckpointError::NotSafetensors {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(not_safetensors)?;
    let meta = parse_meta(header.metadata().as_ref(), path)?;
    let file = SafeTensors::deserialize(bytes).map_err(not_safetensors)?;
    let mut tensors = BTreeMap::new();
    for (name, view) in file.tensors() {
        let tensor = from_view(&name, &view, path)?;
        tensors.insert(name, tensor);
    }
    Ok((meta, tensors))
}

/// Refuses a file shorter than its header says, as truncated, and one that does not start
/// with a safetensors header, as not safetensors.
fn check_length(bytes: &[u8], path: &Path) -> Result<(), CheckpointError> {
    let actual = bytes.len() as u64;
    let truncated = |expected| CheckpointError::Truncated {
        path: path.to_path_buf(),
        expected,
        actual,
    };
    let Some(prefix) = bytes.get(..8) else {
        return Err(truncated(8));
    };
    let mut length = [0u8; 8];
    length.copy_from_slice(prefix);
    let header_len = u64::from_le_bytes(length);
    let not_safetensors = |message: String| CheckpointError::NotSafetensors {
        path: path.to_path_buf(),
        message,
    };
    if header_len > MAX_HEADER_LEN || bytes.get(8).is_some_and(|&b| b != b'{') {
        return Err(not_safetensors(
            "no safetensors header at the start of the file".into(),
        ));
    }
    let header_end = 8 + header_len;
    let Some(header) = bytes.get(8..header_end as usize) else {
        return Err(truncated(header_end));
    };
    let data_len = data_len(header).map_err(not_safetensors)?;
    if actual < header_end + data_len {
        return Err(truncated(header_end + data_len));
    }
    Ok(())
}

/// The end of the last tensor's data, from the header JSON.
fn data_len(header: &[u8]) -> Result<u64, String> {
    let entries: HashMap<String, serde_json::Value> =
        serde_json::from_slice(header).map_err(|e| format!("header is not JSON: {e}"))?;
    let mut end = 0;
    for (name, entry) in entries.iter().filter(|(name, _)| *name != "__metadata__") {
        let offset = entry["data_offsets"][1]
            .as_u64()
            .ok_or_else(|| format!("tensor `{name}` has no data offsets"))?;
        end = end.max(offset);
    }
    Ok(end)
}

/// The checkpoint metadata from the header's `__metadata__` map, after checking its version.
fn parse_meta(
    map: Option<&HashMap<String, String>>,
    path: &Path,
) -> Result<CheckpointMeta, CheckpointError> {
    let bad = |message: String| CheckpointError::BadMetadata {
        path: path.to_path_buf(),
        message,
    };
    let text = map
        .and_then(|m| m.get(META_KEY))
        .ok_or_else(|| bad(format!("no `{META_KEY}` entry in `__metadata__`")))?;
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
    let found = value["format_version"]
        .as_u64()
        .ok_or_else(|| bad("no `format_version`".into()))?;
    if found != u64::from(FORMAT_VERSION) {
        return Err(CheckpointError::WrongVersion {
            path: path.to_path_buf(),
            found,
            supported: FORMAT_VERSION,
        });
    }
    serde_json::from_value(value).map_err(|e| bad(e.to_string()))
}

/// A tensor's stored form, after refusing unsupported types and non-finite values.
fn to_raw(name: &str, tensor: &Tensor, path: &Path) -> Result<Raw, CheckpointError> {
    let tensor_error = |source| CheckpointError::Tensor {
        path: path.to_path_buf(),
        tensor: name.to_string(),
        source,
    };
    let flat = tensor
        .to_device(&Device::Cpu)
        .and_then(|t| t.flatten_all())
        .map_err(tensor_error)?;
    let dtype = st_dtype(tensor.dtype()).ok_or_else(|| CheckpointError::UnsupportedDType {
        path: path.to_path_buf(),
        tensor: name.to_string(),
        dtype: format!("{:?}", tensor.dtype()),
    })?;
    if !all_finite(&flat).map_err(tensor_error)? {
        return Err(CheckpointError::NonFinite {
            path: path.to_path_buf(),
            tensor: name.to_string(),
        });
    }
    let bytes = le_bytes(&flat).map_err(tensor_error)?;
    Ok(Raw {
        dtype,
        shape: tensor.dims().to_vec(),
        bytes,
    })
}

/// A stored tensor as a CPU tensor, after refusing unsupported types and non-finite values.
fn from_view(name: &str, view: &TensorView<'_>, path: &Path) -> Result<Tensor, CheckpointError> {
    let dtype = candle_dtype(view.dtype()).ok_or_else(|| CheckpointError::UnsupportedDType {
        path: path.to_path_buf(),
        tensor: name.to_string(),
        dtype: format!("{:?}", view.dtype()),
    })?;
    let tensor_error = |source| CheckpointError::Tensor {
        path: path.to_path_buf(),
        tensor: name.to_string(),
        source,
    };
    let tensor = Tensor::from_raw_buffer(view.data(), dtype, view.shape(), &Device::Cpu)
        .map_err(tensor_error)?;
    let flat = tensor.flatten_all().map_err(tensor_error)?;
    if !all_finite(&flat).map_err(tensor_error)? {
        return Err(CheckpointError::NonFinite {
            path: path.to_path_buf(),
            tensor: name.to_string(),
        });
    }
    Ok(tensor)
}

/// The stored types, candle's and safetensors' names for them.
const DTYPES: [(DType, Dtype); 7] = [
    (DType::F32, Dtype::F32),
    (DType::F64, Dtype::F64),
    (DType::BF16, Dtype::BF16),
    (DType::F16, Dtype::F16),
    (DType::U8, Dtype::U8),
    (DType::U32, Dtype::U32),
    (DType::I64, Dtype::I64),
];

fn st_dtype(dtype: DType) -> Option<Dtype> {
    DTYPES.iter().find(|(c, _)| *c == dtype).map(|&(_, s)| s)
}

fn candle_dtype(dtype: Dtype) -> Option<DType> {
    DTYPES.iter().find(|(_, s)| *s == dtype).map(|&(c, _)| c)
}

/// Whether a flat tensor holds no NaN or infinity (always true for integer types).
fn all_finite(flat: &Tensor) -> candle_core::Result<bool> {
    Ok(match flat.dtype() {
        DType::F64 => flat.to_vec1::<f64>()?.iter().all(|v| v.is_finite()),
        DType::F32 | DType::BF16 | DType::F16 => flat
            .to_dtype(DType::F32)?
            .to_vec1::<f32>()?
            .iter()
            .all(|v| v.is_finite()),
        _ => true,
    })
}

/// The little-endian bytes of a flat tensor of a stored type.
fn le_bytes(flat: &Tensor) -> candle_core::Result<Vec<u8>> {
    match flat.dtype() {
        DType::F32 => bytes_of(flat, f32::to_le_bytes),
        DType::F64 => bytes_of(flat, f64::to_le_bytes),
        DType::BF16 => bytes_of(flat, half::bf16::to_le_bytes),
        DType::F16 => bytes_of(flat, half::f16::to_le_bytes),
        DType::U8 => flat.to_vec1::<u8>(),
        DType::U32 => bytes_of(flat, u32::to_le_bytes),
        DType::I64 => bytes_of(flat, i64::to_le_bytes),
        other => candle_core::bail!("cannot store tensors of type {other:?}"),
    }
}

fn bytes_of<T: WithDType, const N: usize>(
    flat: &Tensor,
    le: fn(T) -> [u8; N],
) -> candle_core::Result<Vec<u8>> {
    Ok(flat.to_vec1::<T>()?.into_iter().flat_map(le).collect())
}
