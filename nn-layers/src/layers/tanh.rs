//! Hyperbolic tangent.

use core_tensor::Tensor;

use crate::error::Result;
use crate::layer::{Layer, Mode};
use crate::layers::elementwise::{Saved, same_shape};
use crate::spec::LayerSpec;

/// `y = tanh(x)`; dL/dx = dL/dy · (1 - y²).
///
/// PyTorch equivalent: `torch.nn.Tanh()`.
#[derive(Debug, Clone, Default)]
pub struct Tanh {
    output: Saved,
}

impl Tanh {
    /// A tanh layer.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Layer for Tanh {
    fn spec(&self) -> Option<LayerSpec> {
        Some(LayerSpec::Tanh)
    }

    fn describe(&self) -> String {
        "Tanh".into()
    }

    fn forward(&mut self, x: &Tensor, mode: Mode) -> Result<Tensor> {
        let y = x.mapv(f32::tanh);
        self.output.keep(&y, mode);
        Ok(y)
    }

    fn backward(&mut self, grad: &Tensor) -> Result<Tensor> {
        self.output.chain(self, grad, |y| 1.0 - y * y)
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        same_shape(input)
    }
}
