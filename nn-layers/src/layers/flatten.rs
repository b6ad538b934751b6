//! Flatten.

use core_tensor::Tensor;

use crate::error::Result;
use crate::layer::{Layer, Mode, bad_input, check_grad, no_forward};
use crate::spec::LayerSpec;

/// (N, d1, d2, ...) -> (N, d1·d2·...); backward reshapes the gradient back.
///
/// PyTorch equivalent: `torch.nn.Flatten()`.
#[derive(Debug, Clone, Default)]
pub struct Flatten {
    input_shape: Option<Vec<usize>>,
}

impl Flatten {
    /// A flatten layer.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Layer for Flatten {
    fn spec(&self) -> Option<LayerSpec> {
        Some(LayerSpec::Flatten)
    }

    fn describe(&self) -> String {
        "Flatten".into()
    }

    fn forward(&mut self, x: &Tensor, mode: Mode) -> Result<Tensor> {
        if x.ndim() < 1 {
            return Err(bad_input(self, "(N, ...)", x.shape()));
        }
        let n = x.shape()[0];
        let rest: usize = x.shape()[1..].iter().product();
        self.input_shape = (mode == Mode::Train).then(|| x.shape().to_vec());
        x.as_standard_layout()
            .into_owned()
            .into_shape_with_order(vec![n, rest])
            .map_err(|_| bad_input(self, "(N, ...)", x.shape()))
    }

    fn backward(&mut self, grad: &Tensor) -> Result<Tensor> {
        let shape = self.input_shape.clone().ok_or_else(|| no_forward(self))?;
        let n = shape[0];
        let rest: usize = shape[1..].iter().product();
        check_grad(self, &[n, rest], grad)?;
        grad.as_standard_layout()
            .into_owned()
            .into_shape_with_order(shape)
            .map_err(|_| bad_input(self, "(N, features)", grad.shape()))
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        core_tensor::limits::element_count(input)
            .map(|n| vec![n])
            .ok_or_else(|| bad_input(self, "a sample whose size fits in memory", input))
    }
}
