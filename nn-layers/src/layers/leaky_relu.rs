//! Leaky ReLU.

use core_tensor::Tensor;

use crate::error::{LayerError, Result};
use crate::layer::{Layer, Mode};
use crate::layers::elementwise::{Saved, same_shape};
use crate::spec::LayerSpec;

/// `y = x` for x > 0, else `slope · x`; dL/dx likewise (slope at x = 0, as PyTorch).
///
/// PyTorch equivalent: `torch.nn.LeakyReLU(negative_slope)`.
#[derive(Debug, Clone)]
pub struct LeakyRelu {
    slope: f32,
    input: Saved,
}

impl LeakyRelu {
    /// PyTorch's default slope, 0.01.
    pub const DEFAULT_SLOPE: f32 = 0.01;

    /// A leaky ReLU with the given negative slope.
    ///
    /// # Errors
    /// A slope that is not finite.
    pub fn new(slope: f32) -> Result<Self> {
        if !slope.is_finite() {
            return Err(LayerError::Config {
                layer: "LeakyRelu".into(),
                message: format!("the negative slope must be finite, got {slope}"),
            });
        }
        Ok(Self {
            slope,
            input: Saved::default(),
        })
    }
}

impl Layer for LeakyRelu {
    fn spec(&self) -> Option<LayerSpec> {
        Some(LayerSpec::LeakyRelu { slope: self.slope })
    }

    fn describe(&self) -> String {
        format!("LeakyRelu({})", self.slope)
    }

    fn forward(&mut self, x: &Tensor, mode: Mode) -> Result<Tensor> {
        self.input.keep(x, mode);
        let slope = self.slope;
        Ok(x.mapv(|v| if v > 0.0 { v } else { slope * v }))
    }

    fn backward(&mut self, grad: &Tensor) -> Result<Tensor> {
        let slope = self.slope;
        self.input
            .chain(self, grad, |x| if x > 0.0 { 1.0 } else { slope })
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        same_shape(input)
    }
}
