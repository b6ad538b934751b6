//! ONNX export: the protobuf messages and the graph writer.

mod export;
pub mod proto;

pub use export::{
    ONNX_BATCH_DIM, ONNX_INPUT, ONNX_IR_VERSION, ONNX_OPSET, ONNX_OUTPUT, save_onnx, to_onnx,
};
