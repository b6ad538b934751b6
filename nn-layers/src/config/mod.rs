//! The configurations of the layers with settings, as plain data: each checks its sizes and
//! gives the shapes of the state it makes, without building anything. Specs hold them; the
//! layers' files build from them (`init`, `max`, `avg`).

mod batch_norm;
mod conv2d;
mod linear;
mod pool;

pub use batch_norm::BatchNormConfig;
pub use conv2d::Conv2DConfig;
pub use linear::LinearConfig;
pub use pool::PoolConfig;

use crate::error::{LayerError, Result};

/// Checks each `(name, value, least)` of a layer configuration against
/// `least..=core_tensor::limits::MAX_DIMENSION`.
pub(crate) fn check_sizes(layer: &str, sizes: &[(&str, usize, usize)]) -> Result<()> {
    for &(what, value, least) in sizes {
        let max = core_tensor::limits::MAX_DIMENSION;
        if !(least..=max).contains(&value) {
            return Err(LayerError::Config {
                layer: layer.into(),
                message: format!("{what} must be in {least}..={max}, got {value}"),
            });
        }
    }
    Ok(())
}

/// The element count of a parameter of `shape`, checked against
/// `core_tensor::limits::MAX_PARAMETER_ELEMENTS`.
pub(crate) fn parameter_elements(layer: &str, shape: &[usize]) -> Result<usize> {
    core_tensor::limits::parameter_elements("parameter", shape).map_err(|e| LayerError::Config {
        layer: layer.into(),
        message: e.to_string(),
    })
}

/// The shapes of a layer's or a network's state, from its spec.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateShapes {
    /// The parameters' shapes, in [`NamedState::params`](crate::NamedState::params) order.
    pub params: Vec<Vec<usize>>,
    /// The buffers' shapes, in [`NamedState::buffers`](crate::NamedState::buffers) order.
    pub buffers: Vec<Vec<usize>>,
}

impl StateShapes {
    /// Every shape: the parameters', then the buffers' (the order of a model file).
    pub fn all(&self) -> impl Iterator<Item = &[usize]> {
        self.params.iter().chain(&self.buffers).map(Vec::as_slice)
    }

    /// The number of values of all of them, or `None` when it overflows `usize`.
    pub fn elements(&self) -> Option<usize> {
        self.all().try_fold(0_usize, |total, shape| {
            total.checked_add(core_tensor::limits::element_count(shape)?)
        })
    }
}
