//! Mean squared error.

use core_tensor::Tensor;
use ndarray::Zip;

use crate::error::{LayerError, Result};
use crate::loss::LossOutput;

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
        let grad = Zip::from(prediction)
            .and(target)
            .map_collect(|&p, &t| scale * (p - t));
        Ok(LossOutput {
            loss: (total / m) as f32,
            grad,
        })
    }
}
