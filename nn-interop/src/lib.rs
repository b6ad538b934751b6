#![doc = include_str!("../README.md")]

mod error;
#[cfg(feature = "onnx")]
pub mod onnx;
mod safetensors_io;

pub use error::{InteropError, Result};
#[cfg(feature = "onnx")]
pub use onnx::{
    ONNX_BATCH_DIM, ONNX_INPUT, ONNX_IR_VERSION, ONNX_OPSET, ONNX_OUTPUT, save_onnx, to_onnx,
};
pub use safetensors_io::{
    MAX_SAFETENSORS_BYTES, from_safetensors, load_safetensors, load_safetensors_with_limit,
    save_safetensors, to_safetensors,
};
