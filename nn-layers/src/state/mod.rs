//! A layer's named state and the one visit that walks it: parameters with their gradients,
//! buffers, counters and random-generator positions.
//!
//! A layer lists its own state under short names (`weight`, `running_mean`); a container visits
//! its children and prefixes their names once, in [`visit_child`] and [`visit_child_mut`]
//! (`3.conv1.weight`). Everything that walks a network's state (optimizers, model files,
//! checkpoints, safetensors, the ONNX exporter) goes through [`NamedState`], built on that visit.
//!
//! This file holds what a visit hands out (the `Layer` trait names these types); `named.rs`, what
//! is built on the trait.

mod named;

use core_tensor::Tensor;
use core_tensor::random::SeededRng;

use crate::param::Param;

pub use named::{NamedState, visit_child, visit_child_mut};

/// One piece of a layer's state, read-only, as [`Layer::visit`](crate::Layer::visit) shows it.
#[derive(Debug, Clone, Copy)]
pub enum State<'a> {
    /// A trainable parameter and its gradient.
    Param(&'a Param),
    /// A tensor saved with the model but not trained (batch norm's running statistics).
    Buffer(&'a Tensor),
    /// An integer saved with the model (batch norm's `num_batches_tracked`).
    Counter(u64),
    /// A random generator whose position a checkpoint saves (dropout's mask stream).
    Rng(&'a SeededRng),
}

/// One piece of a layer's state, mutably, as [`Layer::visit_mut`](crate::Layer::visit_mut) shows it.
#[derive(Debug)]
pub enum StateMut<'a> {
    /// A trainable parameter and its gradient.
    Param(&'a mut Param),
    /// A tensor saved with the model but not trained.
    Buffer(&'a mut Tensor),
    /// An integer saved with the model.
    Counter(&'a mut u64),
    /// A random generator whose position a checkpoint saves.
    Rng(&'a mut SeededRng),
}

/// The function a visit calls with each piece of state and its name.
pub type Visitor<'v, 'a> = dyn FnMut(&str, State<'a>) + 'v;

/// The function a mutable visit calls with each piece of state and its name.
pub type VisitorMut<'v, 'a> = dyn FnMut(&str, StateMut<'a>) + 'v;
