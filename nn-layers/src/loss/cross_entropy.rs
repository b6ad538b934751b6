//! Softmax cross-entropy on logits with class indices.

use core_tensor::Tensor;
use ndarray::Ix2;

use crate::error::{LayerError, Result};
use crate::loss::LossOutput;
use crate::workspace::Workspace;

/// Mean cross-entropy of the softmax of `logits` (N, C) against class indices, with the softmax
/// fused: `L = (1/N) Σ_n (logsumexp(x_n) - x_n[y_n])`, `dL/dx = (softmax(x) - onehot(y)) / N`.
///
/// Stable for any finite logits (±1000 included): the log-sum-exp subtracts each row's maximum
/// and is computed in f64.
///
/// PyTorch equivalent: `torch.nn.CrossEntropyLoss()` (mean reduction).
///
/// ```
/// use nn_layers::CrossEntropyLoss;
/// let logits = ndarray::arr2(&[[1000.0_f32, 0.0], [0.0, 0.0]]).into_dyn();
/// let out = CrossEntropyLoss::new().forward(&logits, &[1, 0]).unwrap();
/// assert!((out.loss - (1000.0 + 2f32.ln()) / 2.0).abs() < 1e-3);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct CrossEntropyLoss;

impl CrossEntropyLoss {
    /// The loss.
    pub fn new() -> Self {
        Self
    }

    /// Loss and gradient for `logits` (N, C) and `labels` (N class indices in 0..C).
    ///
    /// # Errors
    /// Logits that are not 2-D or not N rows, an empty batch, or a label outside 0..C.
    pub fn forward(&self, logits: &Tensor, labels: &[usize]) -> Result<LossOutput> {
        self.forward_in(logits, labels, &mut Workspace::new())
    }

    /// [`CrossEntropyLoss::forward`] with the gradient in memory from `ws` (give it back with
    /// [`Workspace::recycle`] once used, as a training step does).
    ///
    /// # Errors
    /// As [`CrossEntropyLoss::forward`].
    pub fn forward_in(
        &self,
        logits: &Tensor,
        labels: &[usize],
        ws: &mut Workspace,
    ) -> Result<LossOutput> {
        const NAME: &str = "CrossEntropyLoss";
        let x = logits
            .view()
            .into_dimensionality::<Ix2>()
            .map_err(|_| LayerError::Shape {
                layer: NAME.into(),
                expected: "logits (N, C)".into(),
                got: logits.shape().to_vec(),
            })?;
        let (n, c) = x.dim();
        if n == 0 || n != labels.len() {
            return Err(LayerError::Shape {
                layer: NAME.into(),
                expected: format!("logits with one row per label ({} labels)", labels.len()),
                got: logits.shape().to_vec(),
            });
        }
        if let Some((index, &label)) = labels.iter().enumerate().find(|(_, l)| **l >= c) {
            return Err(LayerError::LabelOutOfRange {
                loss: NAME,
                index,
                label,
                classes: c,
            });
        }
        // Every value is written below.
        let mut grad = ws
            .tensor(&[n, c])
            .into_dimensionality::<Ix2>()
            .map_err(|_| LayerError::Shape {
                layer: NAME.into(),
                expected: "logits (N, C)".into(),
                got: vec![n, c],
            })?;
        let mut total = 0.0_f64;
        let inv_n = 1.0 / n as f64;
        for ((row, mut g), &label) in x.outer_iter().zip(grad.outer_iter_mut()).zip(labels) {
            let max = row
                .iter()
                .fold(f64::NEG_INFINITY, |m, &v| m.max(f64::from(v)));
            let sum: f64 = row.iter().map(|&v| (f64::from(v) - max).exp()).sum();
            let log_sum = max + sum.ln();
            total += log_sum - f64::from(row[label]);
            for (j, (gi, &v)) in g.iter_mut().zip(row.iter()).enumerate() {
                let target = if j == label { 1.0 } else { 0.0 };
                *gi = (((f64::from(v) - log_sum).exp() - target) * inv_n) as f32;
            }
        }
        Ok(LossOutput {
            loss: (total * inv_n) as f32,
            grad: grad.into_dyn(),
        })
    }
}
