//! ReLU.

use core_tensor::Tensor;
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
/// The train-mode forward pass keeps one bit per element (whether x > 0), not a copy of x.
///
/// PyTorch equivalent: `torch.nn.ReLU()`.
#[derive(Debug, Clone, Default)]
pub struct Relu {
    /// Bit `i % 64` of word `i / 64`: whether element `i` (in standard order) was positive.
    positive: Vec<u64>,
    /// The shape of the last train-mode input.
    shape: Vec<usize>,
    /// Whether the last forward pass was a training one (`positive` then holds its mask).
    trained: bool,
}

impl Relu {
    /// A ReLU layer.
    pub fn new() -> Self {
        Self::default()
    }
}

/// Elements per parallel task: fewer cost about as much to hand to a thread as to compute. A
/// multiple of 64, so that each task has whole words of the mask.
const TASK_ELEMENTS: usize = 1 << 15;

/// Elements per word of the mask.
const WORD: usize = u64::BITS as usize;

/// Applies ReLU to `x` (at most 64 elements) and returns which of them were positive, as bits.
#[inline]
fn relu_masked(x: &mut [f32]) -> u64 {
    x.iter_mut().enumerate().fold(0, |word, (i, v)| {
        let bit = u64::from(*v > 0.0) << i;
        *v = relu(*v);
        word | bit
    })
}

/// Zeroes the elements of `grad` (at most 64) whose bit in `word` is clear.
#[inline]
fn keep_positive(grad: &mut [f32], word: u64) {
    // A select, not a branch, so that the loop vectorises.
    for (i, g) in grad.iter_mut().enumerate() {
        *g = if (word >> i) & 1 == 0 { 0.0 } else { *g };
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
        if !x.is_standard_layout() {
            x = x.as_standard_layout().into_owned();
        }
        self.shape.clear();
        self.shape.extend_from_slice(x.shape());
        self.positive.resize(x.len().div_ceil(WORD), 0);
        if let Some(x) = x.as_slice_mut() {
            x.par_chunks_mut(TASK_ELEMENTS)
                .zip(self.positive.par_chunks_mut(TASK_ELEMENTS / WORD))
                .for_each(|(x, words)| {
                    for (x, word) in x.chunks_mut(WORD).zip(words) {
                        *word = relu_masked(x);
                    }
                });
        } else {
            debug_assert!(false, "a tensor in standard layout is one slice");
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
        check_grad(self, &self.shape, &grad)?;
        if !grad.is_standard_layout() {
            grad = grad.as_standard_layout().into_owned();
        }
        if let Some(grad) = grad.as_slice_mut() {
            grad.par_chunks_mut(TASK_ELEMENTS)
                .zip(self.positive.par_chunks(TASK_ELEMENTS / WORD))
                .for_each(|(grad, words)| {
                    for (grad, &word) in grad.chunks_mut(WORD).zip(words) {
                        keep_positive(grad, word);
                    }
                });
        } else {
            debug_assert!(false, "a tensor in standard layout is one slice");
        }
        Ok(grad)
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        same_shape(input)
    }
}
