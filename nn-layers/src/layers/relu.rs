//! ReLU.

use core_tensor::Tensor;
use ndarray::{ArrayD, Zip};

use crate::error::Result;
use crate::layer::{Layer, Mode, check_grad, no_forward};
use crate::layers::elementwise::same_shape;
use crate::spec::LayerSpec;

/// `y = max(x, 0)`, NaN staying NaN; dL/dx = dL/dy where x > 0, else 0 (0 at x = 0 and at NaN,
/// as PyTorch).
///
/// The train-mode forward pass keeps one byte per element (whether x > 0), not a copy of x.
///
/// PyTorch equivalent: `torch.nn.ReLU()`.
#[derive(Debug, Clone, Default)]
pub struct Relu {
    positive: Option<ArrayD<u8>>,
}

impl Relu {
    /// A ReLU layer.
    pub fn new() -> Self {
        Self::default()
    }
}

/// `max(v, 0)` that keeps NaN, as PyTorch's `relu` does (`f32::max` would turn NaN into 0 and
/// hide a divergence from the loss).
#[inline]
fn relu(v: f32) -> f32 {
    if v <= 0.0 { 0.0 } else { v }
}

impl Layer for Relu {
    fn spec(&self) -> Option<LayerSpec> {
        Some(LayerSpec::Relu)
    }

    fn describe(&self) -> String {
        "Relu".into()
    }

    fn forward(&mut self, x: &Tensor, mode: Mode) -> Result<Tensor> {
        let y = Zip::from(x).par_map_collect(|&v| relu(v));
        self.positive = match mode {
            Mode::Train => Some(Zip::from(x).par_map_collect(|&v| u8::from(v > 0.0))),
            Mode::Eval => None,
        };
        Ok(y)
    }

    /// In place: the input's buffer becomes the output.
    fn forward_owned(&mut self, mut x: Tensor, mode: Mode) -> Result<Tensor> {
        self.positive = match mode {
            Mode::Train => Some(Zip::from(&x).par_map_collect(|&v| u8::from(v > 0.0))),
            Mode::Eval => None,
        };
        x.par_mapv_inplace(relu);
        Ok(x)
    }

    fn backward(&mut self, grad: &Tensor) -> Result<Tensor> {
        let positive = self.positive.as_ref().ok_or_else(|| no_forward(self))?;
        check_grad(self, positive.shape(), grad)?;
        Ok(Zip::from(grad)
            .and(positive)
            .par_map_collect(|&g, &p| if p != 0 { g } else { 0.0 }))
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        same_shape(input)
    }
}
