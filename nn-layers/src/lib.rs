//! # nn-layers: layers, `Sequential`, losses and a gradient checker
//!
//! Second in the stack, on `core-tensor` only. Every layer carries a hand-written backward pass
//! (no autograd): `forward` in [`Mode::Train`] keeps what `backward` needs, `backward` adds the
//! parameter gradients into [`Param::grad`] and returns dL/dx. Layers hold no global state: two
//! networks in one process share nothing.
//!
//! | kind | items |
//! |---|---|
//! | the contract | [`Layer`], [`Mode`], [`Param`] |
//! | layers | [`Conv2D`], [`Linear`], [`MaxPooling`], [`AvgPooling`], [`BatchNormalization`], [`Relu`], [`LeakyRelu`], [`Sigmoid`], [`Tanh`], [`Softmax`], [`Flatten`], [`Dropout`] |
//! | container | [`Sequential`] (the seed's `Unit`), with a printed summary |
//! | losses | [`CrossEntropyLoss`], [`MseLoss`] |
//! | checking | [`gradcheck`] |
//! | networks as data | [`NetworkSpec`], [`LayerSpec`] (serde), [`models`]: LeNet5 and the seed's batch-norm net |
//! | reading specs and state from files | [`NetworkSpec::state_shapes`], [`bounded_serde`] |
//!
//! Every configuration checks its sizes (`validate`, called by `init`) against
//! `core_tensor::limits`: a size out of range is a [`LayerError::Config`], never a panic, a
//! wrapped number or an allocator abort, so a spec read from a file is as safe to build as one
//! written in code. NaN propagates through every layer, as in PyTorch.
//!
//! ## The seed's first network, forward and backward
//! ```
//! use core_tensor::init::seeded_rng;
//! use nn_layers::*;
//!
//! let rng = &mut seeded_rng(0);
//! let mut net = Sequential::new(&[1, 28, 28])
//!     .add(Conv2DConfig::new(1, 4, [3, 3]).with_padding([1, 1]).init(rng)?)?
//!     .add(PoolConfig::new([2, 2]).max()?)?
//!     .add(BatchNormConfig::new(4).init()?)?
//!     .add(Relu::new())?
//!     .add(Conv2DConfig::new(4, 4, [3, 3]).with_padding([1, 1]).init(rng)?)?
//!     .add(PoolConfig::new([2, 2]).max()?)?
//!     .add(Flatten::new())?;
//! assert_eq!(net.output_sample_shape(), &[4 * 7 * 7]);
//!
//! let x = ndarray::Array4::<f32>::from_shape_fn((8, 1, 28, 28), |(n, _, h, w)| ((n + h * w) % 7) as f32 / 7.0).into_dyn();
//! let y = net.forward(&x, Mode::Train)?;
//! let dx = net.backward(&ndarray::ArrayD::ones(y.raw_dim()))?;
//! assert_eq!(dx.shape(), x.shape());
//! let names: Vec<String> = net.params().into_iter().map(|(n, _)| n).collect();
//! assert_eq!(names, ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]);
//! assert_eq!(net.buffers()[0].0, "2.running_mean");
//! # Ok::<(), LayerError>(())
//! ```
//!
//! ## LeNet5: a training step's forward and backward
//! ```
//! use core_tensor::init::seeded_rng;
//! use nn_layers::{models, CrossEntropyLoss, Layer, Mode};
//!
//! let mut net = models::lenet5(&mut seeded_rng(42))?;
//! println!("{net}"); // the summary: layers, output shapes, parameter counts
//! assert_eq!(net.num_params(), 61_706);
//! let x = ndarray::Array4::<f32>::zeros((4, 1, 28, 28)).into_dyn();
//! let logits = net.forward(&x, Mode::Train)?;
//! let out = CrossEntropyLoss::new().forward(&logits, &[3, 1, 4, 1])?;
//! net.zero_grad();
//! net.backward_params_only(&out.grad)?;
//! assert!(out.loss > 2.0 && out.loss < 2.6); // about ln 10 at initialisation
//! # Ok::<(), nn_layers::LayerError>(())
//! ```
//!
//! ## Dependencies
//! - `core-tensor`: the kernels and the seeded initialisers.
//! - `ndarray`: tensors and the linear layer's GEMM.
//! - `serde`: layer configurations and network specs, so model files carry their architecture.
//! - `thiserror`: the error enum.

pub mod bounded_serde;
mod error;
mod gradcheck;
mod layer;
mod layers;
mod loss;
pub mod models;
mod sequential;
mod spec;

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
