//! # core-tensor: the kernels
//!
//! The bottom of the stack: `f32` kernels on [`ndarray`] arrays in NCHW layout, each with a naive
//! twin in [`reference`](mod@reference) that the tests hold it to, and PyTorch's numbers as the final word.
//!
//! | kernel | functions |
//! |---|---|
//! | window reshaping (N,C,H,W) -> (N,C,OH,OW,KH,KW), and its GEMM layout | [`pad`], [`windows`], [`im2col`] |
//! | convolution forward | [`conv2d`], [`conv2d_keep_columns`] (keeps the windows for the backward pass), [`conv2d_reuse_columns`] (into the last step's buffers) |
//! | input gradient by stride-dilated convolution | [`dilate_pad`], [`rotate_kernel`], [`conv2d_input_grad`], [`conv2d_input_grad_with`] |
//! | weight and bias gradients | [`conv2d_weight_grad`], [`conv2d_bias_grad`], [`conv2d_param_grads`], [`conv2d_param_grads_with_columns`], [`conv2d_backward`] |
//! | pooling | [`max_pool2d`], [`max_pool2d_backward`], [`avg_pool2d`], [`avg_pool2d_backward`] |
//! | initialisers | [`init`] |
//! | size limits and checked size arithmetic | [`limits`] |
//! | parallelism | [`parallel`] |
//!
//! Kernels take views and return owned arrays; a bad shape, a zero stride or a kernel larger than
//! the padded input is a [`TensorError`] that names both shapes, never a panic.
//!
//! ## Example: a convolution and its gradients
//! ```
//! use core_tensor::{conv2d, conv2d_backward, init};
//! use ndarray::{Array4, Ix4};
//!
//! let mut rng = init::seeded_rng(0);
//! let x = Array4::<f32>::from_elem((2, 1, 28, 28), 0.5);
//! let w = init::default_weight(&[6, 1, 5, 5], &mut rng).unwrap().into_dimensionality::<Ix4>().unwrap();
//! let y = conv2d(x.view(), w.view(), None, [1, 1], [2, 2]).unwrap();
//! assert_eq!(y.shape(), &[2, 6, 28, 28]);
//! let dy = Array4::<f32>::ones(y.raw_dim());
//! let grads = conv2d_backward(x.view(), w.view(), dy.view(), [1, 1], [2, 2]).unwrap();
//! assert_eq!(grads.dx.shape(), x.shape());
//! assert_eq!(grads.dw.shape(), w.shape());
//! ```
//!
//! ## Same result on any number of threads
//! Work is split over the batch in fixed chunks of [`parallel::BATCH_CHUNK`] images; partial sums
//! are added in chunk order. The thread count changes the speed, never a bit of the result.
//!
//! ## Dependencies
//! - `ndarray`: the arrays, and its GEMM (`general_mat_mul`, backed by the pure-Rust
//!   `matrixmultiply` with runtime AVX2/AVX-512/FMA detection).
//! - `matrixmultiply`: not called directly; named only to switch on its AVX-512 kernel (feature
//!   `avx512`, still chosen at run time), which ndarray leaves off.
//! - `rayon`: data parallelism over chunks of the batch.
//! - `ndarray-rand` and `rand_chacha`: seeded, portable random initialisation.
//! - `thiserror`: the error enum.

mod conv;
mod error;
mod geometry;
pub mod init;
pub mod limits;
pub mod parallel;
mod pool;
pub mod reference;
mod scratch;
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
