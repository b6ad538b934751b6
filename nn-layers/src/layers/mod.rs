//! The layers, one file each.

mod batch_norm;
mod conv2d;
mod dropout;
pub(crate) mod elementwise;
mod flatten;
mod global_avg_pool;
mod leaky_relu;
mod linear;
mod pooling;
mod relu;
mod residual;
pub(crate) mod sigmoid;
pub(crate) mod softmax;
mod standardize;
mod tanh;

pub use batch_norm::BatchNormalization;
pub use conv2d::Conv2D;
pub use dropout::Dropout;
pub use flatten::Flatten;
pub use global_avg_pool::GlobalAvgPooling;
pub use leaky_relu::LeakyRelu;
pub use linear::Linear;
pub use pooling::{AvgPooling, MaxPooling};
pub use relu::Relu;
pub use residual::Residual;
pub use sigmoid::Sigmoid;
pub use softmax::Softmax;
pub use standardize::Standardize;
pub use tanh::Tanh;
