//! Input standardisation.

use core_tensor::Tensor;

use crate::error::{LayerError, Result};
use crate::layer::{Layer, Mode, check_grad, no_forward};
use crate::layers::elementwise::same_shape;
use crate::spec::LayerSpec;
use crate::workspace::Workspace;

/// `y = (x - mean) / std` with fixed values, usually the training set's pixel mean and standard
/// deviation; dL/dx = dL/dy / std. Placed first in a network, it carries the input scaling with
/// the model, so that saved, exported and reloaded models see the inputs they were trained on.
///
/// PyTorch equivalent: torchvision's `transforms.Normalize(mean, std)` on one channel; in ONNX,
/// `Sub` and `Div` by constants.
///
/// ```
/// use nn_layers::{Layer, Mode, Standardize};
/// let mut layer = Standardize::new(0.5, 0.25).unwrap();
/// let x = ndarray::arr1(&[0.5_f32, 1.0]).into_dyn();
/// assert_eq!(layer.forward(&x, Mode::Eval).unwrap(), ndarray::arr1(&[0.0_f32, 2.0]).into_dyn());
/// ```
#[derive(Debug, Clone)]
pub struct Standardize {
    mean: f32,
    std: f32,
    /// The input shape of the last forward.
    input: Vec<usize>,
    /// Whether the last forward was in training mode (the backward pass needs one).
    trained: bool,
}

impl Standardize {
    /// A standardisation by `mean` and `std`.
    ///
    /// # Errors
    /// A mean that is not finite, or a std that is not finite and positive.
    pub fn new(mean: f32, std: f32) -> Result<Self> {
        if !mean.is_finite() || !std.is_finite() || std <= 0.0 {
            return Err(LayerError::Config {
                layer: "Standardize".into(),
                message: format!(
                    "needs a finite mean and a finite std > 0, got mean {mean} and std {std}"
                ),
            });
        }
        Ok(Self {
            mean,
            std,
            input: Vec::new(),
            trained: false,
        })
    }

    /// The mean subtracted.
    pub fn mean(&self) -> f32 {
        self.mean
    }

    /// The standard deviation divided by.
    pub fn std(&self) -> f32 {
        self.std
    }

    /// Records `x`'s shape (in the buffer of the last one: no allocation once warm) and `mode`.
    fn note_input(&mut self, x: &Tensor, mode: Mode) {
        self.trained = mode == Mode::Train;
        self.input.clear();
        self.input.extend_from_slice(x.shape());
    }
}

impl Layer for Standardize {
    fn spec(&self) -> Option<LayerSpec> {
        Some(LayerSpec::Standardize {
            mean: self.mean,
            std: self.std,
        })
    }

    fn describe(&self) -> String {
        format!("Standardize(mean={}, std={})", self.mean, self.std)
    }

    fn forward(&mut self, x: &Tensor, mode: Mode) -> Result<Tensor> {
        self.note_input(x, mode);
        let (mean, std) = (self.mean, self.std);
        Ok(x.mapv(|v| (v - mean) / std))
    }

    /// In place: the same arithmetic as [`Layer::forward`], on `x`'s own memory.
    fn forward_owned(&mut self, mut x: Tensor, mode: Mode, _ws: &mut Workspace) -> Result<Tensor> {
        self.note_input(&x, mode);
        let (mean, std) = (self.mean, self.std);
        x.mapv_inplace(|v| (v - mean) / std);
        Ok(x)
    }

    fn backward(&mut self, grad: &Tensor) -> Result<Tensor> {
        if !self.trained {
            return Err(no_forward(self));
        }
        check_grad(self, &self.input, grad)?;
        let std = self.std;
        Ok(grad.mapv(|g| g / std))
    }

    /// In place, as [`Layer::forward_owned`].
    fn backward_owned(&mut self, mut grad: Tensor, _ws: &mut Workspace) -> Result<Tensor> {
        if !self.trained {
            return Err(no_forward(self));
        }
        check_grad(self, &self.input, &grad)?;
        let std = self.std;
        grad.mapv_inplace(|g| g / std);
        Ok(grad)
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        same_shape(input)
    }
}
