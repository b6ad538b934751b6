#![doc = include_str!("../README.md")]

mod conv;
mod error;
mod geometry;
pub mod init;
pub mod limits;
pub mod parallel;
mod pool;
pub mod reference;
mod scratch;
pub mod simd;
mod window;

pub use conv::{
    Columns, Conv2dGrads, InputGradMethod, conv2d, conv2d_backward, conv2d_bias_grad,
    conv2d_input_grad, conv2d_input_grad_with, conv2d_keep_columns, conv2d_param_grads,
    conv2d_param_grads_with_columns, conv2d_reuse_columns, conv2d_weight_grad, dilate_pad,
    rotate_kernel,
};
pub use error::{Result, TensorError};
pub use geometry::{Geometry, output_size, padded_size};
pub use pool::{MaxPoolMask, avg_pool2d, avg_pool2d_backward, max_pool2d, max_pool2d_backward};
pub use window::{im2col, pad, windows};

/// The tensor type layers exchange: an `f32` array of any rank.
pub type Tensor = ndarray::ArrayD<f32>;
