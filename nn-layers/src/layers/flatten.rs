//! Flatten.

use core_tensor::Tensor;
use ndarray::IxDyn;

use crate::error::Result;
use crate::layer::{
    Layer, Mode, backward_through_workspace, bad_input, check_grad, forward_through_workspace,
    no_forward,
};
use crate::spec::LayerSpec;
use crate::workspace::Workspace;

/// (N, d1, d2, ...) -> (N, d1·d2·...); backward reshapes the gradient back.
///
/// PyTorch equivalent: `torch.nn.Flatten()`.
#[derive(Debug, Clone, Default)]
pub struct Flatten {
    /// The input shape of the last training forward.
    input_shape: Vec<usize>,
    /// Whether the last forward pass was a training one.
    trained: bool,
}

/// `t` reshaped to `shape` (its elements in standard order), copied into memory from `ws`
/// first if it is not in standard layout; the shape of `t` if the sizes differ.
fn reshaped(
    t: Tensor,
    shape: &[usize],
    ws: &mut Workspace,
) -> std::result::Result<Tensor, Vec<usize>> {
    if t.len() != shape.iter().product::<usize>() {
        return Err(t.shape().to_vec());
    }
    let t = if t.is_standard_layout() {
        t
    } else {
        let copy = ws.copy_of(&t);
        ws.recycle(t);
        copy
    };
    // A standard-layout tensor of the same size always takes the shape.
    t.into_shape_with_order(IxDyn(shape))
        .map_err(|_| shape.to_vec())
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
        forward_through_workspace(self, x, mode)
    }

    /// A reshape of `x` itself (no copy when it is in standard layout).
    fn forward_owned(&mut self, x: Tensor, mode: Mode, ws: &mut Workspace) -> Result<Tensor> {
        if x.ndim() < 1 {
            return Err(bad_input(self, "(N, ...)", x.shape()));
        }
        let n = x.shape()[0];
        let rest: usize = x.shape()[1..].iter().product();
        self.trained = mode == Mode::Train;
        if self.trained {
            self.input_shape.clear();
            self.input_shape.extend_from_slice(x.shape());
        }
        reshaped(x, &[n, rest], ws).map_err(|got| bad_input(self, "(N, ...)", &got))
    }

    fn backward(&mut self, grad: &Tensor) -> Result<Tensor> {
        backward_through_workspace(self, grad)
    }

    fn backward_owned(&mut self, grad: Tensor, ws: &mut Workspace) -> Result<Tensor> {
        if !self.trained {
            return Err(no_forward(self));
        }
        let n = self.input_shape[0];
        let rest: usize = self.input_shape[1..].iter().product();
        check_grad(self, &[n, rest], &grad)?;
        reshaped(grad, &self.input_shape, ws).map_err(|got| bad_input(self, "(N, features)", &got))
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        core_tensor::limits::element_count(input)
            .map(|n| vec![n])
            .ok_or_else(|| bad_input(self, "a sample whose size fits in memory", input))
    }
}
