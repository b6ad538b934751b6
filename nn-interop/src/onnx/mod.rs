//! ONNX export: the protobuf messages and the graph writer.

mod custom;
mod export;
pub mod proto;

pub use custom::{OnnxAttribute, OnnxNode, register_onnx_export};
pub use export::{
    ONNX_BATCH_DIM, ONNX_INPUT, ONNX_IR_VERSION, ONNX_OPSET, ONNX_OUTPUT, save_onnx, to_onnx,
};
