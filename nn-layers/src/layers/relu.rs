//! ReLU.

use core_tensor::Tensor;
use ndarray::{ArrayD, Zip};
use rayon::prelude::*;

use crate::error::Result;
use crate::layer::{
    Layer, Mode, backward_through_workspace, check_grad, forward_through_workspace, no_forward,
};
use crate::layers::elementwise::same_shape;
use crate::spec::LayerSpec;
use crate::workspace::Workspace;

/// `y = max(x, 0)`, NaN staying NaN; dL/dx = dL/dy where x > 0, else 0 (0 at x = 0 and at NaN,
/// as PyTorch).
///
/// The train-mode forward pass keeps one byte per element (whether x > 0), not a copy of x.
///
/// PyTorch equivalent: `torch.nn.ReLU()`.
#[derive(Debug, Clone, Default)]
pub struct Relu {
    positive: ArrayD<u8>,
    /// Whether the last forward pass was a training one (`positive` then holds its mask).
    trained: bool,
}

impl Relu {
    /// A ReLU layer.
    pub fn new() -> Self {
        Self::default()
    }
}

/// Elements per parallel task: fewer cost about as much to hand to a thread as to compute.
const TASK_ELEMENTS: usize = 1 << 15;

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
        forward_through_workspace(self, x, mode)
    }

    /// In place; in train mode the mask of positive inputs goes into the layer's own buffer,
    /// reused while the shape stays.
    fn forward_owned(&mut self, mut x: Tensor, mode: Mode, _ws: &mut Workspace) -> Result<Tensor> {
        self.trained = mode == Mode::Train;
        if !self.trained {
            match x.as_slice_mut() {
                Some(x) => x
                    .par_chunks_mut(TASK_ELEMENTS)
                    .for_each(|x| x.iter_mut().for_each(|v| *v = relu(*v))),
                None => x.par_mapv_inplace(relu),
            }
            return Ok(x);
        }
        if self.positive.shape() != x.shape() {
            self.positive = ArrayD::zeros(x.raw_dim());
        }
        let masked = |v: &mut f32, p: &mut u8| {
            *p = u8::from(*v > 0.0);
            *v = relu(*v);
        };
        match (x.as_slice_mut(), self.positive.as_slice_mut()) {
            (Some(x), Some(positive)) => x
                .par_chunks_mut(TASK_ELEMENTS)
                .zip(positive.par_chunks_mut(TASK_ELEMENTS))
                .for_each(|(x, positive)| {
                    x.iter_mut().zip(positive).for_each(|(v, p)| masked(v, p))
                }),
            _ => Zip::from(&mut x)
                .and(&mut self.positive)
                .par_for_each(masked),
        }
        Ok(x)
    }

    fn backward(&mut self, grad: &Tensor) -> Result<Tensor> {
        backward_through_workspace(self, grad)
    }

    /// In place on `grad`.
    fn backward_owned(&mut self, mut grad: Tensor, _ws: &mut Workspace) -> Result<Tensor> {
        if !self.trained {
            return Err(no_forward(self));
        }
        check_grad(self, self.positive.shape(), &grad)?;
        // A select, not a branch, so that the loop vectorises.
        let keep = |g: &mut f32, p: u8| *g = if p == 0 { 0.0 } else { *g };
        match (grad.as_slice_mut(), self.positive.as_slice()) {
            (Some(grad), Some(positive)) => grad
                .par_chunks_mut(TASK_ELEMENTS)
                .zip(positive.par_chunks(TASK_ELEMENTS))
                .for_each(|(grad, positive)| {
                    grad.iter_mut().zip(positive).for_each(|(g, &p)| keep(g, p));
                }),
            _ => Zip::from(&mut grad)
                .and(&self.positive)
                .par_for_each(|g, &p| keep(g, p)),
        }
        Ok(grad)
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        same_shape(input)
    }
}
