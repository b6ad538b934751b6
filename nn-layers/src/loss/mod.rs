//! Losses: each returns the mean loss over the batch and its gradient with respect to the
//! prediction. The loss divides by the batch size once; nothing downstream divides again.

mod cross_entropy;
mod mse;

pub use cross_entropy::CrossEntropyLoss;
pub use mse::MseLoss;

use core_tensor::Tensor;

/// A loss value and dL/d(prediction).
#[derive(Debug, Clone, PartialEq)]
pub struct LossOutput {
    /// The mean loss over the batch (computed in f64, returned as f32).
    pub loss: f32,
    /// dL/d(prediction), the shape of the prediction.
    pub grad: Tensor,
}
