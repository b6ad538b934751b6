//! The `Layer` trait, the train/eval [`Mode`] and trainable [`Param`]s.

use core_tensor::Tensor;
use ndarray::{ArrayD, Dimension};

use crate::error::{LayerError, Result};
use crate::spec::LayerSpec;

/// Train or eval: an argument of every forward pass, never a global flag.
///
/// In `Train` a layer keeps what its backward pass needs, batch normalisation uses and updates
/// batch statistics, and dropout drops. In `Eval` nothing is kept, batch normalisation uses its
/// running statistics and dropout is the identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Training.
    #[default]
    Train,
    /// Evaluation / inference.
    Eval,
}

/// A trainable tensor and the gradient accumulated for it.
///
/// `backward` adds into `grad`; [`Param::zero_grad`] (or the optimizer's `zero_grad`) clears it
/// explicitly, as in PyTorch.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    /// The values.
    pub value: Tensor,
    /// dL/dvalue, accumulated over backward passes since the last zeroing.
    pub grad: Tensor,
}

impl Param {
    /// A parameter with these values and a zero gradient.
    pub fn new(value: Tensor) -> Self {
        let grad = ArrayD::zeros(value.raw_dim());
        Self { value, grad }
    }

    /// Sets the gradient to zero.
    pub fn zero_grad(&mut self) {
        self.grad.fill(0.0);
    }

    /// Replaces the values, keeping the shape.
    ///
    /// # Errors
    /// A tensor of another shape.
    pub fn set(&mut self, value: Tensor) -> Result<()> {
        check_same_shape("parameter", self.value.shape(), value.shape())?;
        self.value = value;
        Ok(())
    }
}

/// A layer with a hand-written backward pass.
///
/// Shapes in [`Layer::output_shape`] are those of one sample (no batch dimension); `forward` and
/// `backward` take whole batches (N, ...).
///
/// The contract, as in llm.c: `forward` in [`Mode::Train`] keeps exactly what `backward` needs;
/// `backward` takes dL/dy, *adds* the parameter gradients into [`Param::grad`] and returns dL/dx.
pub trait Layer: Send + std::fmt::Debug {
    /// The layer and its configuration in one line, e.g. `Conv2D(1, 6, kernel=(5, 5))`.
    fn describe(&self) -> String;

    /// The forward pass.
    ///
    /// # Errors
    /// An input of a shape the layer cannot take.
    fn forward(&mut self, x: &Tensor, mode: Mode) -> Result<Tensor>;

    /// The forward pass on an input the caller gives away, so that element-wise layers can work
    /// in place instead of allocating a new output ([`Sequential`](crate::Sequential) uses it).
    /// The default calls [`Layer::forward`].
    ///
    /// # Errors
    /// As [`Layer::forward`].
    fn forward_owned(&mut self, x: Tensor, mode: Mode) -> Result<Tensor> {
        self.forward(&x, mode)
    }

    /// The backward pass: accumulates parameter gradients, returns dL/dx.
    ///
    /// # Errors
    /// No forward pass in train mode before, or a gradient of the wrong shape.
    fn backward(&mut self, grad: &Tensor) -> Result<Tensor>;

    /// The backward pass when dL/dx is not needed (the first layer of a network): accumulates the
    /// parameter gradients only. Layers that can skip computing dL/dx override it.
    ///
    /// # Errors
    /// As [`Layer::backward`].
    fn backward_params_only(&mut self, grad: &Tensor) -> Result<()> {
        self.backward(grad).map(|_| ())
    }

    /// The output shape of one sample for an input sample of shape `input`.
    ///
    /// # Errors
    /// An input shape the layer cannot take, named with the shape it needs.
    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>>;

    /// The trainable parameters with their names (`weight`, `bias` ...), in a fixed order.
    fn params(&self) -> Vec<(String, &Param)> {
        Vec::new()
    }

    /// The trainable parameters, mutably, in the order of [`Layer::params`].
    fn params_mut(&mut self) -> Vec<(String, &mut Param)> {
        Vec::new()
    }

    /// Non-trainable state saved with the model (batch norm's `running_mean`, `running_var`).
    fn buffers(&self) -> Vec<(String, &Tensor)> {
        Vec::new()
    }

    /// The buffers, mutably, in the order of [`Layer::buffers`].
    fn buffers_mut(&mut self) -> Vec<(String, &mut Tensor)> {
        Vec::new()
    }

    /// The positions of the layer's random generators (dropout), by name, so that a checkpoint
    /// can resume the same random sequence.
    fn rng_positions(&self) -> Vec<(String, u128)> {
        Vec::new()
    }

    /// Moves the generator `name` (as [`Layer::rng_positions`] names it) to `position`.
    ///
    /// # Errors
    /// A name the layer does not have.
    fn set_rng_position(&mut self, name: &str, position: u128) -> Result<()> {
        let _ = position;
        Err(LayerError::State {
            what: name.to_string(),
            message: format!("{} has no random generator of that name", self.describe()),
        })
    }

    /// Integer state saved with the model: batch norm's `num_batches_tracked` (the number of
    /// train-mode forward passes, as PyTorch counts them).
    fn counters(&self) -> Vec<(String, u64)> {
        Vec::new()
    }

    /// Sets the counter `name` (as [`Layer::counters`] names it) to `value`.
    ///
    /// # Errors
    /// A name the layer does not have.
    fn set_counter(&mut self, name: &str, value: u64) -> Result<()> {
        let _ = value;
        Err(LayerError::State {
            what: name.to_string(),
            message: format!("{} has no counter of that name", self.describe()),
        })
    }

    /// The layer as data (kind and configuration, no parameter values), for model files and
    /// exporters; `None` for a layer that has no [`LayerSpec`] (a nested network, a layer
    /// defined outside this crate).
    fn spec(&self) -> Option<LayerSpec> {
        None
    }

    /// Sets every parameter's gradient to zero.
    fn zero_grad(&mut self) {
        for (_, p) in self.params_mut() {
            p.zero_grad();
        }
    }

    /// The number of trainable scalars.
    fn num_params(&self) -> usize {
        self.params().iter().map(|(_, p)| p.value.len()).sum()
    }
}

/// Checks that two shapes are equal, naming `what` otherwise.
/// Checks each `(name, value, least)` of a layer configuration against
/// `least..=core_tensor::limits::MAX_DIMENSION`.
pub(crate) fn check_sizes(layer: &str, sizes: &[(&str, usize, usize)]) -> Result<()> {
    for &(what, value, least) in sizes {
        let max = core_tensor::limits::MAX_DIMENSION;
        if !(least..=max).contains(&value) {
            return Err(LayerError::Config {
                layer: layer.into(),
                message: format!("{what} must be in {least}..={max}, got {value}"),
            });
        }
    }
    Ok(())
}

/// The element count of a parameter of `shape`, checked against
/// `core_tensor::limits::MAX_PARAMETER_ELEMENTS`.
pub(crate) fn parameter_elements(layer: &str, shape: &[usize]) -> Result<usize> {
    core_tensor::limits::parameter_elements("parameter", shape).map_err(|e| LayerError::Config {
        layer: layer.into(),
        message: e.to_string(),
    })
}

pub(crate) fn check_same_shape(what: &str, expected: &[usize], got: &[usize]) -> Result<()> {
    if expected == got {
        Ok(())
    } else {
        Err(LayerError::State {
            what: what.to_string(),
            message: format!("shape {got:?} does not match {expected:?}"),
        })
    }
}

/// Views `x` as a fixed-rank array, or a shape error naming `layer` and what it takes.
pub(crate) fn view_as<'a, D: Dimension>(
    layer: &dyn Layer,
    x: &'a Tensor,
    expected: &str,
) -> Result<ndarray::ArrayView<'a, f32, D>> {
    x.view()
        .into_dimensionality::<D>()
        .map_err(|_| LayerError::Shape {
            layer: layer.describe(),
            expected: expected.to_string(),
            got: x.shape().to_vec(),
        })
}

/// The error for an input sample shape a layer cannot take.
pub(crate) fn bad_input(layer: &dyn Layer, expected: &str, got: &[usize]) -> LayerError {
    LayerError::Shape {
        layer: layer.describe(),
        expected: expected.to_string(),
        got: got.to_vec(),
    }
}

/// Checks that `grad` has the shape of the output the layer last produced.
pub(crate) fn check_grad(layer: &dyn Layer, output: &[usize], grad: &Tensor) -> Result<()> {
    if output == grad.shape() {
        Ok(())
    } else {
        Err(LayerError::GradShape {
            layer: layer.describe(),
            expected: output.to_vec(),
            got: grad.shape().to_vec(),
        })
    }
}

/// The error for a backward pass without a forward pass in train mode.
pub(crate) fn no_forward(layer: &dyn Layer) -> LayerError {
    LayerError::BackwardBeforeForward {
        layer: layer.describe(),
    }
}

/// The named parameters of a layer with a weight and an optional bias, in that order.
pub(crate) fn weight_and_bias<'a>(
    weight: &'a Param,
    bias: Option<&'a Param>,
) -> Vec<(String, &'a Param)> {
    std::iter::once(("weight".to_string(), weight))
        .chain(bias.map(|b| ("bias".to_string(), b)))
        .collect()
}

/// [`weight_and_bias`], mutably.
pub(crate) fn weight_and_bias_mut<'a>(
    weight: &'a mut Param,
    bias: Option<&'a mut Param>,
) -> Vec<(String, &'a mut Param)> {
    std::iter::once(("weight".to_string(), weight))
        .chain(bias.map(|b| ("bias".to_string(), b)))
        .collect()
}
