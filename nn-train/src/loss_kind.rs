//! Which loss a [`crate::Model`] trains with.

use nn_layers::{CrossEntropyLoss, LayerError, LossOutput, MseLoss, Tensor, Workspace};
use serde::{Deserialize, Serialize};

/// The loss of a classifier's output (N, C) against class labels, saved in checkpoints.
///
/// ```
/// use nn_train::LossKind;
/// let output = ndarray::arr2(&[[0.0_f32, 1.0], [1.0, 0.0]]).into_dyn();
/// assert_eq!(LossKind::Mse.forward(&output, &[1, 0]).unwrap().loss, 0.0);
/// assert!(LossKind::CrossEntropy.forward(&output, &[1, 0]).unwrap().loss > 0.0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum LossKind {
    /// Softmax cross-entropy on logits ([`CrossEntropyLoss`]); PyTorch's `CrossEntropyLoss`.
    #[default]
    CrossEntropy,
    /// Mean squared error against the one-hot labels ([`MseLoss`]); PyTorch's `MSELoss` with
    /// `one_hot(labels)` as the target.
    Mse,
}

impl LossKind {
    /// The mean loss over the batch and its gradient with respect to `output`.
    ///
    /// # Errors
    /// An output that is not (N, C) with N the number of labels, or a label outside 0..C.
    pub fn forward(self, output: &Tensor, labels: &[usize]) -> nn_layers::Result<LossOutput> {
        self.forward_in(output, labels, &mut Workspace::new())
    }

    /// [`LossKind::forward`] with the gradient (and MSE's one-hot target) in memory from `ws`.
    ///
    /// # Errors
    /// As [`LossKind::forward`].
    pub fn forward_in(
        self,
        output: &Tensor,
        labels: &[usize],
        ws: &mut Workspace,
    ) -> nn_layers::Result<LossOutput> {
        match self {
            Self::CrossEntropy => CrossEntropyLoss::new().forward_in(output, labels, ws),
            Self::Mse => {
                let &[n, classes] = output.shape() else {
                    return Err(LayerError::Shape {
                        layer: "MseLoss".into(),
                        expected: "(N, classes)".into(),
                        got: output.shape().to_vec(),
                    });
                };
                let mut target = ws.zeros(output.shape());
                for (index, &label) in labels.iter().enumerate().take(n) {
                    if label >= classes {
                        return Err(LayerError::LabelOutOfRange {
                            loss: "MseLoss",
                            index,
                            label,
                            classes,
                        });
                    }
                    target[[index, label]] = 1.0;
                }
                if labels.len() != n {
                    return Err(LayerError::Shape {
                        layer: "MseLoss".into(),
                        expected: format!("({}, classes)", labels.len()),
                        got: output.shape().to_vec(),
                    });
                }
                let out = MseLoss::new().forward_in(output, &target, ws);
                ws.recycle(target);
                out
            }
        }
    }
}
