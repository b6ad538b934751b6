//! The interop crate's error type.

use std::path::PathBuf;

/// What can go wrong moving a network in or out. Messages name the tensor or layer involved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InteropError {
    /// A file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The reason.
        source: std::io::Error,
    },
    /// Writing a file failed.
    #[error(transparent)]
    Write(#[from] nn_atomic_write::WriteError),
    /// Bytes that are not a safetensors file, or one the `safetensors` crate cannot write.
    #[error("not a valid safetensors file: {0}; was it written by safetensors (save_file)?")]
    Safetensors(String),
    /// A tensor the network needs is not in the file.
    #[error("tensor {name} is missing from the file (the network needs it)")]
    Missing {
        /// The tensor's name, e.g. `0.weight`.
        name: String,
    },
    /// Tensors in the file that the network does not have.
    #[error(
        "the file has tensors the network does not have: {names:?}; is it for another architecture?"
    )]
    Extra {
        /// Their names.
        names: Vec<String>,
    },
    /// A tensor of the wrong shape.
    #[error("tensor {name} has shape {got:?}, the network needs {expected:?}")]
    Shape {
        /// The tensor's name.
        name: String,
        /// The shape the network needs.
        expected: Vec<usize>,
        /// The shape in the file.
        got: Vec<usize>,
    },
    /// A tensor of the wrong element type.
    #[error("tensor {name} is {got}, the network needs {expected}")]
    Dtype {
        /// The tensor's name.
        name: String,
        /// The type the network needs (`F32`, `I64`).
        expected: &'static str,
        /// The type in the file.
        got: String,
    },
    /// A parameter or buffer with a NaN or infinite value.
    #[error("tensor {name} holds {value}; a model with NaN or infinite weights is not loaded")]
    NonFinite {
        /// The tensor's name.
        name: String,
        /// The first such value.
        value: f32,
    },
    /// A counter whose value does not fit (a negative `num_batches_tracked`).
    #[error("tensor {name} holds {value}, which is not a valid count")]
    BadCount {
        /// The tensor's name.
        name: String,
        /// Its value.
        value: i64,
    },
    /// A network the ONNX exporter cannot write.
    #[error("ONNX export: {0}")]
    Unsupported(String),
    /// A layer error (setting a counter).
    #[error(transparent)]
    Layer(#[from] nn_layers::LayerError),
}

/// `Result` with [`InteropError`].
pub type Result<T, E = InteropError> = std::result::Result<T, E>;
