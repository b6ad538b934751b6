//! ReLU.

use core_tensor::Tensor;
use ndarray::Zip;

use crate::error::Result;
use crate::layer::{Layer, Mode};
use crate::layers::elementwise::{Saved, same_shape};

/// `y = max(x, 0)`; dL/dx = dL/dy where x > 0, else 0 (0 at x = 0, as PyTorch).
///
/// PyTorch equivalent: `torch.nn.ReLU()`.
#[derive(Debug, Clone, Default)]
pub struct Relu {
    input: Saved,
}

impl Relu {
    /// A ReLU layer.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Layer for Relu {
    fn describe(&self) -> String {
        "Relu".into()
    }

    fn forward(&mut self, x: &Tensor, mode: Mode) -> Result<Tensor> {
        self.input.keep(x, mode);
        Ok(Zip::from(x).par_map_collect(|&v| v.max(0.0)))
    }

    fn backward(&mut self, grad: &Tensor) -> Result<Tensor> {
        self.input
            .chain(self, grad, |x| if x > 0.0 { 1.0 } else { 0.0 })
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        same_shape(input)
    }
}
