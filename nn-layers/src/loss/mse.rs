//! Mean squared error.

use core_tensor::Tensor;
use ndarray::Zip;

use crate::error::{LayerError, Result};
use crate::loss::LossOutput;
use crate::workspace::Workspace;

/// Mean squared error over every element: `L = (1/M) Σ (p - t)²`, `dL/dp = 2 (p - t) / M`.
///
/// PyTorch equivalent: `torch.nn.MSELoss()` (mean reduction).
///
/// ```
/// let p = ndarray::arr1(&[1.0_f32, 2.0]).into_dyn();
/// let t = ndarray::arr1(&[0.0_f32, 0.0]).into_dyn();
/// let out = nn_layers::MseLoss::new().forward(&p, &t).unwrap();
/// assert_eq!(out.loss, 2.5);
/// assert_eq!(out.grad.iter().copied().collect::<Vec<_>>(), vec![1.0, 2.0]);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct MseLoss;

impl MseLoss {
    /// The loss.
    pub fn new() -> Self {
        Self
    }

    /// Loss and gradient for a prediction and a target of the same shape.
    ///
    /// # Errors
    /// Shapes that differ, or empty tensors.
    pub fn forward(&self, prediction: &Tensor, target: &Tensor) -> Result<LossOutput> {
        self.forward_in(prediction, target, &mut Workspace::new())
    }

    /// [`MseLoss::forward`] with the gradient in memory from `ws` (give it back with
    /// [`Workspace::recycle`] once used, as a training step does).
    ///
    /// # Errors
    /// As [`MseLoss::forward`].
    pub fn forward_in(
        &self,
        prediction: &Tensor,
        target: &Tensor,
        ws: &mut Workspace,
    ) -> Result<LossOutput> {
        if prediction.shape() != target.shape() || prediction.is_empty() {
            return Err(LayerError::Shape {
                layer: "MseLoss".into(),
                expected: format!(
                    "a non-empty target of the prediction's shape {:?}",
                    prediction.shape()
                ),
                got: target.shape().to_vec(),
            });
        }
        let m = prediction.len() as f64;
        let total: f64 = prediction
            .iter()
            .zip(target.iter())
            .map(|(&p, &t)| (f64::from(p) - f64::from(t)).powi(2))
            .sum();
        let scale = (2.0 / m) as f32;
        let mut grad = ws.tensor(prediction.shape());
        Zip::from(&mut grad)
            .and(prediction)
            .and(target)
            .for_each(|g, &p, &t| *g = scale * (p - t));
        Ok(LossOutput {
            loss: (total / m) as f32,
            grad,
        })
    }
}
