//! # nn-train: the training loop, model files and plots
//!
//! On all four crates below it. A [`Model`] is a network ([`nn_layers::Sequential`] built from a
//! [`nn_layers::NetworkSpec`]), the softmax cross-entropy loss, an optimizer and an optional
//! schedule:
//!
//! - [`Model::fit`]: epochs over a shuffled [`nn_data::Dataset`] with a progress bar, per-epoch
//!   validation, a callback per epoch, and a [`History`] of every batch and epoch with per-phase
//!   timings (data, forward, backward, update); a NaN or infinite loss, gradient or parameter
//!   stops with an error naming it, the epoch and the batch.
//! - [`Model::evaluate`], [`Model::predict`], [`Model::compute_accuracy`], [`Model::train`] /
//!   [`Model::eval`].
//! - [`Model::save`] / [`load_network`], [`Model::save_checkpoint`] /
//!   [`Model::load_checkpoint`]: checked binary files, read with bounded memory whoever wrote
//!   them and written atomically (see [`files`]).
//! - [`plot_history`]: loss and accuracy curves to SVG and PNG.
//! - [`settle_allocator`]: call it first in a training program (glibc keeps freed memory).
//!
//! Training is bit-for-bit reproducible for a seed, whatever the thread count: the kernels are
//! (see `core_tensor::parallel`), the batch order is a function of the seed and the epoch, and a
//! checkpoint holds everything else.
//!
//! ## Dependencies
//! - the four crates below: kernels, layers, optimizers, data.
//! - `serde`, `bincode` (v2): model and checkpoint files.
//! - `tempfile`: the temporary file beside the target that an atomic write renames into place,
//!   created safely (unique name, no race with another writer) on every platform.
//! - `indicatif`: the progress bar.
//! - `plotters` (SVG and bitmap backends, `ab_glyph` text with the bundled DejaVu Sans font): plots.
//! - `ndarray`: tensors. `thiserror`: the error enum.

mod allocator;
mod atomic;
mod error;
pub mod files;
mod history;
mod model;
mod optimizer_spec;
mod plot;
mod progress;

pub use allocator::settle_allocator;
pub use error::{Result, TrainError};
pub use files::{load_network, load_network_with_limit, save_network};
pub use history::{BatchRecord, EpochRecord, History, PhaseTimings};
pub use model::{Evaluation, FitConfig, Model, argmax_rows};
pub use optimizer_spec::{OptimizerKind, OptimizerSpec};
pub use plot::plot_history;
pub use progress::Progress;
