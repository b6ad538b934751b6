//! 2-D convolution (cross-correlation, as PyTorch's `conv2d`) and its gradients, on (N, C, H, W)
//! `f32` arrays with weights (F, C, KH, KW).
//!
//! - [`conv2d`]: forward, one GEMM per chunk of images over the [window reshaping](crate::im2col).
//! - [`conv2d_input_grad`]: dL/dx by the stride-dilated convolution ([`dilate_pad`] then a stride-1
//!   convolution with the [rotated](rotate_kernel) kernel).
//! - [`conv2d_weight_grad`], [`conv2d_bias_grad`], or both at once with [`conv2d_param_grads`].
//! - [`conv2d_backward`]: all three gradients.

mod backward;
mod forward;
mod input_grad;
mod weight_grad;

pub use backward::{Conv2dGrads, conv2d_backward};
pub use forward::conv2d;
pub use input_grad::{conv2d_input_grad, dilate_pad, rotate_kernel};
pub use weight_grad::{conv2d_bias_grad, conv2d_param_grads, conv2d_weight_grad};
