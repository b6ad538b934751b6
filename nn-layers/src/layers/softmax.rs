//! Softmax over the class axis.

use core_tensor::Tensor;
use ndarray::{Axis, Zip};

use crate::error::Result;
use crate::layer::{Layer, Mode, bad_input, check_grad};
use crate::layers::elementwise::Saved;
use crate::spec::LayerSpec;

/// `y[n, i] = e^(x[n, i] - max) / Σ_j e^(x[n, j] - max)` over axis 1 (stable for large logits);
/// dL/dx = y · (dL/dy - Σ_j dL/dy_j · y_j).
///
/// For classification prefer [`crate::CrossEntropyLoss`] on logits, which fuses the softmax.
///
/// PyTorch equivalent: `torch.nn.Softmax(dim=1)`.
#[derive(Debug, Clone, Default)]
pub struct Softmax {
    output: Saved,
}

impl Softmax {
    /// A softmax layer over axis 1.
    pub fn new() -> Self {
        Self::default()
    }
}

/// Softmax of each lane along axis 1 of `x` (at least 2-D).
pub(crate) fn softmax_axis1(x: &Tensor) -> Tensor {
    let mut y = x.clone();
    for mut lane in y.lanes_mut(Axis(1)) {
        let max = lane.fold(f32::NEG_INFINITY, |m, &v| m.max(v));
        lane.mapv_inplace(|v| (v - max).exp());
        let sum: f32 = lane.sum();
        lane.mapv_inplace(|v| v / sum);
    }
    y
}

impl Layer for Softmax {
    fn spec(&self) -> Option<LayerSpec> {
        Some(LayerSpec::Softmax)
    }

    fn describe(&self) -> String {
        "Softmax(dim=1)".into()
    }

    fn forward(&mut self, x: &Tensor, mode: Mode) -> Result<Tensor> {
        if x.ndim() < 2 {
            return Err(bad_input(self, "(N, C, ...)", x.shape()));
        }
        let y = softmax_axis1(x);
        self.output.keep(&y, mode);
        Ok(y)
    }

    fn backward(&mut self, grad: &Tensor) -> Result<Tensor> {
        let y = self.output.get(self)?;
        check_grad(self, y.shape(), grad)?;
        let mut dx = grad.clone();
        Zip::from(dx.lanes_mut(Axis(1)))
            .and(y.lanes(Axis(1)))
            .for_each(|mut d, y| {
                let dot: f32 = d.iter().zip(y.iter()).map(|(a, b)| a * b).sum();
                Zip::from(&mut d)
                    .and(&y)
                    .for_each(|d, &y| *d = y * (*d - dot));
            });
        Ok(dx)
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        if input.is_empty() {
            return Err(bad_input(self, "(C, ...)", input));
        }
        Ok(input.to_vec())
    }
}
