//! A trainable tensor and its gradient.

use core_tensor::Tensor;
use ndarray::ArrayD;

use crate::error::{LayerError, Result};

/// A trainable tensor and the gradient accumulated for it.
///
/// `backward` adds into `grad`; [`Param::zero_grad`] (or the optimizer's `zero_grad`) clears it
/// explicitly, as in PyTorch.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    /// The values.
    pub value: Tensor,
    /// dL/dvalue, accumulated over backward passes since the last zeroing.
    pub grad: Tensor,
}

impl Param {
    /// A parameter with these values and a zero gradient.
    pub fn new(value: Tensor) -> Self {
        let grad = ArrayD::zeros(value.raw_dim());
        Self { value, grad }
    }

    /// Sets the gradient to zero.
    pub fn zero_grad(&mut self) {
        self.grad.fill(0.0);
    }

    /// Replaces the values, keeping the shape.
    ///
    /// # Errors
    /// A tensor of another shape.
    pub fn set(&mut self, value: Tensor) -> Result<()> {
        check_same_shape("parameter", self.value.shape(), value.shape())?;
        self.value = value;
        Ok(())
    }
}

/// Checks that two shapes are equal, naming `what` otherwise.
pub(crate) fn check_same_shape(what: &str, expected: &[usize], got: &[usize]) -> Result<()> {
    if expected == got {
        Ok(())
    } else {
        Err(LayerError::State {
            what: what.to_string(),
            message: format!("shape {got:?} does not match {expected:?}"),
        })
    }
}
