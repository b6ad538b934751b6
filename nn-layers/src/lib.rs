#![doc = include_str!("../README.md")]

pub mod bounded_serde;
mod error;
mod gradcheck;
mod layer;
mod layers;
mod loss;
pub mod models;
mod sequential;
mod spec;
mod spec_wire;

pub use core_tensor::Tensor;
pub use error::{LayerError, Result};
pub use gradcheck::{GradCheckOptions, GradCheckReport, gradcheck};
pub use layer::{Layer, Mode, Param};
pub use layers::{
    AvgPooling, BatchNormConfig, BatchNormalization, Conv2D, Conv2DConfig, Dropout, Flatten,
    LeakyRelu, Linear, LinearConfig, MaxPooling, PoolConfig, Relu, Sigmoid, Softmax, Tanh,
};
pub use loss::{CrossEntropyLoss, LossOutput, MseLoss};
pub use sequential::{EVAL_SLICE, Sequential};
pub use spec::{LayerSpec, NetworkSpec, StateShapes};
