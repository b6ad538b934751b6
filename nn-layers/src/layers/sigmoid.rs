//! Logistic sigmoid.

use core_tensor::Tensor;

use crate::error::Result;
use crate::layer::{Layer, Mode};
use crate::layers::elementwise::{Saved, same_shape};
use crate::spec::LayerSpec;

/// `y = 1 / (1 + e^(-x))`, computed without overflow for large |x|; dL/dx = dL/dy · y (1 - y).
///
/// PyTorch equivalent: `torch.nn.Sigmoid()`.
#[derive(Debug, Clone, Default)]
pub struct Sigmoid {
    output: Saved,
}

impl Sigmoid {
    /// A sigmoid layer.
    pub fn new() -> Self {
        Self::default()
    }
}

/// The logistic function, stable for large |x|.
pub(crate) fn sigmoid(x: f32) -> f32 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

impl Layer for Sigmoid {
    fn spec(&self) -> Option<LayerSpec> {
        Some(LayerSpec::Sigmoid)
    }

    fn describe(&self) -> String {
        "Sigmoid".into()
    }

    fn forward(&mut self, x: &Tensor, mode: Mode) -> Result<Tensor> {
        let y = x.mapv(sigmoid);
        self.output.keep(&y, mode);
        Ok(y)
    }

    fn backward(&mut self, grad: &Tensor) -> Result<Tensor> {
        self.output.chain(self, grad, |y| y * (1.0 - y))
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        same_shape(input)
    }
}
