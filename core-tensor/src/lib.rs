#![doc = include_str!("../README.md")]

mod conv;
mod error;
mod geometry;
pub mod init;
pub mod limits;
pub mod parallel;
mod pool;
pub mod random;
pub mod reference;
mod scratch;
pub mod simd;
mod window;

pub use conv::{
    Conv2dGrads, Conv2dParams, Conv2dPlan, ForwardKernel, InputGradKernel, Kernels,
    WeightGradKernel, conv2d, conv2d_backward, dilate_pad, rotate_kernel,
};
pub use error::{Result, TensorError};
pub use geometry::{Geometry, kernel_extent, output_size, padded_size};
pub use pool::{
    MaxPoolMask, avg_pool2d, avg_pool2d_backward, avg_pool2d_backward_into, avg_pool2d_into,
    max_pool2d, max_pool2d_backward,
};
pub use window::{im2col, pad, windows};

/// The tensor type layers exchange: an `f32` array of any rank.
pub type Tensor = ndarray::ArrayD<f32>;
