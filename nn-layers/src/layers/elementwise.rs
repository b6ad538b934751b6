//! What the element-wise activations share: the cached tensor and the backward bookkeeping.

use core_tensor::Tensor;
use ndarray::Zip;

use crate::error::Result;
use crate::layer::{Layer, check_grad, no_forward};

/// The tensor an activation keeps from its train-mode forward pass (its input or its output).
#[derive(Debug, Clone, Default)]
pub(crate) struct Saved(Option<Tensor>);

impl Saved {
    /// Keeps `t` in train mode; forgets what was kept in eval mode (a backward pass then is
    /// an error, not one on a stale tensor).
    pub(crate) fn keep(&mut self, t: &Tensor, mode: crate::Mode) {
        self.0 = (mode == crate::Mode::Train).then(|| t.clone());
    }

    /// `dx[i] = dy[i] · f(saved[i])`, checking that a forward pass came first and shapes agree.
    pub(crate) fn chain(
        &self,
        layer: &dyn Layer,
        grad: &Tensor,
        derivative: impl Fn(f32) -> f32 + Sync + Send,
    ) -> Result<Tensor> {
        let saved = self.0.as_ref().ok_or_else(|| no_forward(layer))?;
        check_grad(layer, saved.shape(), grad)?;
        // Element by element, in parallel: no sums, so the thread count cannot change a bit.
        Ok(Zip::from(grad)
            .and(saved)
            .par_map_collect(|&g, &s| g * derivative(s)))
    }

    /// The saved tensor, or the backward-before-forward error.
    pub(crate) fn get(&self, layer: &dyn Layer) -> Result<&Tensor> {
        self.0.as_ref().ok_or_else(|| no_forward(layer))
    }
}

/// Element-wise layers keep their sample shape.
pub(crate) fn same_shape(input: &[usize]) -> Result<Vec<usize>> {
    Ok(input.to_vec())
}
