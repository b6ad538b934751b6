//! # nn-interop: models in and out of the framework
//!
//! On top of the stack (`nn-layers` for networks, `nn-train` for its atomic file writes). A
//! model trained here can leave for PyTorch, numpy or an ONNX runtime, and weights trained in
//! PyTorch can come in:
//!
//! - [`save_safetensors`] / [`load_safetensors`] (and the in-memory [`to_safetensors`] /
//!   [`from_safetensors`]): any [`nn_layers::Sequential`] with the names and layouts of the
//!   equivalent `torch.nn.Sequential`'s `state_dict` (`0.weight`, `0.bias`, `3.running_mean`,
//!   `3.num_batches_tracked` ...). A missing, extra or misshapen tensor, or a NaN or infinite
//!   value, is an error naming it; only a regular file within [`MAX_SAFETENSORS_BYTES`] (or the
//!   limit given to [`load_safetensors_with_limit`]) is read.
//! - [`save_onnx`] / [`to_onnx`]: the network in eval mode as an ONNX model (opset
//!   [`ONNX_OPSET`]) with a free batch dimension.
//!
//! ## To PyTorch and back
//! ```
//! use nn_interop::{from_safetensors, to_safetensors};
//! use nn_layers::{Layer, models};
//! let net = models::seed_bn_net(&mut core_tensor::init::seeded_rng(0))?;
//! let bytes = to_safetensors(&net)?;
//! // In Python: model.load_state_dict(safetensors.torch.load_file("net.safetensors"))
//! let mut copy = models::seed_bn_net(&mut core_tensor::init::seeded_rng(1))?;
//! from_safetensors(&mut copy, &bytes)?;
//! assert_eq!(copy.params()[0].1.value, net.params()[0].1.value);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! `scripts/check_interop.py` checks the files with numpy, safetensors and onnxruntime in CI;
//! `scripts/torch_load_safetensors.py` loads a trained LeNet5 into PyTorch.
//!
//! ## Dependencies
//! - `safetensors` (Hugging Face's reference implementation): reading and writing the format,
//!   with its header checks, instead of a second implementation of them.
//! - `prost`: protobuf encoding for ONNX, with the few ONNX messages declared in [`onnx::proto`]
//!   (see there why no generated-code crate).
//! - `nn-layers` (networks), `nn-train` (atomic writes), `thiserror` (the error enum).

mod error;
pub mod onnx;
mod safetensors_io;

pub use error::{InteropError, Result};
pub use onnx::{
    ONNX_BATCH_DIM, ONNX_INPUT, ONNX_IR_VERSION, ONNX_OPSET, ONNX_OUTPUT, save_onnx, to_onnx,
};
pub use safetensors_io::{
    MAX_SAFETENSORS_BYTES, from_safetensors, load_safetensors, load_safetensors_with_limit,
    save_safetensors, to_safetensors,
};
