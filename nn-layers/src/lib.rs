#![doc = include_str!("../README.md")]

pub mod bounded_serde;
mod build;
mod config;
mod error;
mod gradcheck;
mod layer;
mod layers;
mod loss;
pub mod models;
mod param;
pub mod registry;
mod sequential;
mod spec;
mod spec_json;
mod spec_wire;
pub mod state;
mod workspace;

pub use config::{BatchNormConfig, Conv2DConfig, LinearConfig, PoolConfig, StateShapes};
pub use core_tensor::Tensor;
pub use error::{LayerError, Result};
pub use gradcheck::{GradCheckOptions, GradCheckReport, gradcheck};
pub use layer::{Layer, Mode};
pub use layers::{
    AvgPooling, BatchNormalization, Conv2D, Dropout, Flatten, GlobalAvgPooling, LeakyRelu, Linear,
    MaxPooling, Relu, Residual, Sigmoid, Softmax, Standardize, Tanh,
};
pub use loss::{CrossEntropyLoss, LossOutput, MseLoss};
pub use param::Param;
pub use sequential::{EVAL_SLICE, Sequential};
pub use spec::{
    CustomSpec, LayerSpec, MAX_CONFIG_LEN, MAX_NAME_LEN, NamedLayerSpec, NetworkSpec, ResidualSpec,
};
pub use spec_wire::MAX_DEPTH;
pub use state::{NamedState, State, StateMut};
pub use workspace::{MAX_HELD, Workspace};
