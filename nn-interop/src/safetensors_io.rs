//! safetensors files with PyTorch's names and layouts.
//!
//! A [`Sequential`] names its tensors as `torch.nn.Sequential` does in its `state_dict`: the
//! layer's position, a dot, and the tensor (`0.weight`, `0.bias`, `3.running_mean`,
//! `3.num_batches_tracked`, `2.0.weight` in a nested network). The layouts are PyTorch's too
//! (conv weights (F, C, KH, KW), linear weights (out, in)), so nothing is transposed: a file
//! written here loads into the equivalent PyTorch model with
//! `model.load_state_dict(safetensors.torch.load_file(path))`, and one PyTorch wrote loads here.
//!
//! Parameters and batch-norm statistics are `F32`; `num_batches_tracked` is an `I64` scalar
//! (shape `[]`), as PyTorch stores it.

use nn_layers::NamedState;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use nn_layers::{Sequential, Tensor};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use crate::error::{InteropError, Result};

/// One tensor as safetensors stores it: type, shape, little-endian bytes.
struct Stored {
    dtype: Dtype,
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

impl safetensors::View for &Stored {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.bytes)
    }
    fn data_len(&self) -> usize {
        self.bytes.len()
    }
}

/// Every tensor of `net` by its PyTorch name: parameters, buffers, counters.
fn stored_tensors(net: &Sequential) -> BTreeMap<String, Stored> {
    let float = |t: &Tensor| Stored {
        dtype: Dtype::F32,
        shape: t.shape().to_vec(),
        bytes: t.iter().flat_map(|v| v.to_le_bytes()).collect(),
    };
    let params = net.params().into_iter().map(|(n, p)| (n, float(&p.value)));
    let buffers = net.buffers().into_iter().map(|(n, b)| (n, float(b)));
    let counters = net.counters().into_iter().map(|(n, c)| {
        let count = i64::try_from(c).unwrap_or(i64::MAX);
        let stored = Stored {
            dtype: Dtype::I64,
            shape: Vec::new(),
            bytes: count.to_le_bytes().to_vec(),
        };
        (n, stored)
    });
    params.chain(buffers).chain(counters).collect()
}

/// The network's tensors as the bytes of a safetensors file (metadata `format: pt`, as
/// PyTorch-side tools expect). The same network gives the same bytes.
///
/// # Errors
/// The `safetensors` crate refuses to write (a header over its size limit).
///
/// ```
/// use nn_interop::{from_safetensors, to_safetensors};
/// let net = nn_layers::models::lenet5(&mut core_tensor::random::seeded_rng(1))?;
/// let bytes = to_safetensors(&net)?;
/// let mut other = nn_layers::models::lenet5(&mut core_tensor::random::seeded_rng(2))?;
/// from_safetensors(&mut other, &bytes)?;
/// assert_eq!(to_safetensors(&other)?, bytes);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn to_safetensors(net: &Sequential) -> Result<Vec<u8>> {
    let tensors = stored_tensors(net);
    let metadata = HashMap::from([("format".to_string(), "pt".to_string())]);
    safetensors::serialize(tensors.iter(), Some(metadata))
        .map_err(|e| InteropError::Safetensors(e.to_string()))
}

/// Writes [`to_safetensors`] to `path` atomically (temporary file, fsync, rename).
///
/// # Errors
/// As [`to_safetensors`], or the file cannot be written.
pub fn save_safetensors(net: &Sequential, path: &Path) -> Result<()> {
    let bytes = to_safetensors(net)?;
    nn_atomic_write::write_atomically(path, &bytes)?;
    Ok(())
}

/// Replaces every parameter, buffer and counter of `net` with the tensor of the same name in
/// the safetensors `bytes`.
///
/// The file must hold exactly the network's tensors (as PyTorch's strict `load_state_dict`):
/// a missing, extra or misshapen tensor, or one of another type, is an error naming it, and on
/// any error `net` is left as it was.
///
/// # Errors
/// Bytes that are not safetensors, tensors that do not fit the network, or a NaN or infinite
/// value (named by tensor).
pub fn from_safetensors(net: &mut Sequential, bytes: &[u8]) -> Result<()> {
    let file =
        SafeTensors::deserialize(bytes).map_err(|e| InteropError::Safetensors(e.to_string()))?;
    let tensor = |name: &str| {
        file.tensor(name).map_err(|_| InteropError::Missing {
            name: name.to_string(),
        })
    };
    // Read and check everything first; only then change the network.
    let mut floats = Vec::new();
    for (name, t) in net
        .params()
        .into_iter()
        .map(|(n, p)| (n, &p.value))
        .chain(net.buffers())
    {
        floats.push((name.clone(), read_f32(&name, &tensor(&name)?, t.shape())?));
    }
    let mut counts = Vec::new();
    for (name, _) in net.counters() {
        counts.push((name.clone(), read_count(&name, &tensor(&name)?)?));
    }
    let known: std::collections::HashSet<&str> = floats
        .iter()
        .map(|(n, _)| n.as_str())
        .chain(counts.iter().map(|(n, _)| n.as_str()))
        .collect();
    let mut extra: Vec<String> = file
        .names()
        .into_iter()
        .filter(|n| !known.contains(n))
        .map(str::to_string)
        .collect();
    if !extra.is_empty() {
        extra.sort();
        return Err(InteropError::Extra { names: extra });
    }

    let mut values = floats.into_iter().map(|(_, t)| t);
    for ((_, p), v) in net.params_mut().into_iter().zip(&mut values) {
        p.value = v;
    }
    for ((_, b), v) in net.buffers_mut().into_iter().zip(&mut values) {
        *b = v;
    }
    for (name, c) in counts {
        net.set_counter(&name, c)?;
    }
    Ok(())
}

/// The largest safetensors file [`load_safetensors`] reads: 1 GiB;
/// [`load_safetensors_with_limit`] takes another.
pub const MAX_SAFETENSORS_BYTES: u64 = 1 << 30;

/// Reads a safetensors file into `net`, as [`from_safetensors`].
///
/// # Errors
/// The file cannot be read, is not a regular file, is larger than [`MAX_SAFETENSORS_BYTES`], or
/// as [`from_safetensors`].
pub fn load_safetensors(net: &mut Sequential, path: &Path) -> Result<()> {
    load_safetensors_with_limit(net, path, MAX_SAFETENSORS_BYTES)
}

/// [`load_safetensors`] for files of up to `max_bytes` bytes.
///
/// # Errors
/// As [`load_safetensors`]; a larger file is refused before it is read.
pub fn load_safetensors_with_limit(
    net: &mut Sequential,
    path: &Path,
    max_bytes: u64,
) -> Result<()> {
    let io = |source| InteropError::Io {
        path: path.to_path_buf(),
        source,
    };
    // Before opening: a FIFO would block the open, a device would never end.
    let meta = std::fs::metadata(path).map_err(io)?;
    let refuse = |reason: String| {
        io(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            reason,
        ))
    };
    if !meta.is_file() {
        return Err(refuse(
            "not a regular file (a folder, device or pipe); give the path of a safetensors file"
                .into(),
        ));
    }
    if meta.len() > max_bytes {
        return Err(refuse(format!(
            "{} bytes, more than the {max_bytes}-byte limit (load_safetensors_with_limit raises it)",
            meta.len()
        )));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| {
            std::io::Read::read_to_end(&mut std::io::Read::take(f, max_bytes), &mut bytes)
        })
        .map_err(io)?;
    from_safetensors(net, &bytes)
}

fn dtype_error(name: &str, expected: &'static str, got: Dtype) -> InteropError {
    InteropError::Dtype {
        name: name.to_string(),
        expected,
        got: format!("{got:?}"),
    }
}

/// An `F32` tensor of exactly `shape`.
fn read_f32(name: &str, view: &TensorView<'_>, shape: &[usize]) -> Result<Tensor> {
    if view.dtype() != Dtype::F32 {
        return Err(dtype_error(name, "F32", view.dtype()));
    }
    if view.shape() != shape {
        return Err(InteropError::Shape {
            name: name.to_string(),
            expected: shape.to_vec(),
            got: view.shape().to_vec(),
        });
    }
    let values: Vec<f32> = view
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    if let Some(&value) = values.iter().find(|v| !v.is_finite()) {
        return Err(InteropError::NonFinite {
            name: name.to_string(),
            value,
        });
    }
    Tensor::from_shape_vec(shape.to_vec(), values).map_err(|_| InteropError::Shape {
        name: name.to_string(),
        expected: shape.to_vec(),
        got: view.shape().to_vec(),
    })
}

/// An `I64` scalar (shape `[]`, as PyTorch writes it, or `[1]`) that is not negative.
fn read_count(name: &str, view: &TensorView<'_>) -> Result<u64> {
    if view.dtype() != Dtype::I64 {
        return Err(dtype_error(name, "I64", view.dtype()));
    }
    let data = view.data();
    if !(view.shape().is_empty() || view.shape() == [1]) || data.len() != 8 {
        return Err(InteropError::Shape {
            name: name.to_string(),
            expected: Vec::new(),
            got: view.shape().to_vec(),
        });
    }
    let mut b = [0_u8; 8];
    b.copy_from_slice(data);
    let value = i64::from_le_bytes(b);
    u64::try_from(value).map_err(|_| InteropError::BadCount {
        name: name.to_string(),
        value,
    })
}
