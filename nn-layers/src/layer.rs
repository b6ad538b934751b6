//! The `Layer` trait and the train/eval [`Mode`].

use core_tensor::Tensor;
use ndarray::Dimension;

use crate::error::{LayerError, Result};
use crate::param::Param;
use crate::spec::LayerSpec;
use crate::state::{State, StateMut, Visitor, VisitorMut};
use crate::workspace::Workspace;

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

    /// The forward pass on an input the caller gives away, with a [`Workspace`] to take the
    /// output from and to give the input back to (unless the layer keeps it for its backward
    /// pass, or works in place). [`Sequential`](crate::Sequential) runs its layers this way;
    /// the layers of this crate allocate nothing here once warm. The default calls
    /// [`Layer::forward`] and gives `x` back.
    ///
    /// # Errors
    /// As [`Layer::forward`].
    fn forward_owned(&mut self, x: Tensor, mode: Mode, ws: &mut Workspace) -> Result<Tensor> {
        let y = self.forward(&x, mode)?;
        ws.recycle(x);
        Ok(y)
    }

    /// The backward pass: accumulates parameter gradients, returns dL/dx.
    ///
    /// # Errors
    /// No forward pass in train mode before, or a gradient of the wrong shape.
    fn backward(&mut self, grad: &Tensor) -> Result<Tensor>;

    /// [`Layer::backward`] on a gradient the caller gives away, with a [`Workspace`] as in
    /// [`Layer::forward_owned`]. The default calls [`Layer::backward`] and gives `grad` back.
    ///
    /// # Errors
    /// As [`Layer::backward`].
    fn backward_owned(&mut self, grad: Tensor, ws: &mut Workspace) -> Result<Tensor> {
        let dx = self.backward(&grad)?;
        ws.recycle(grad);
        Ok(dx)
    }

    /// The backward pass when dL/dx is not needed (the first layer of a network): accumulates the
    /// parameter gradients only. Layers that can skip computing dL/dx override it; the default
    /// runs [`Layer::backward_owned`] and gives dL/dx back.
    ///
    /// # Errors
    /// As [`Layer::backward`].
    fn backward_params_only(&mut self, grad: Tensor, ws: &mut Workspace) -> Result<()> {
        let dx = self.backward_owned(grad, ws)?;
        ws.recycle(dx);
        Ok(())
    }

    /// The output shape of one sample for an input sample of shape `input`.
    ///
    /// # Errors
    /// An input shape the layer cannot take, named with the shape it needs.
    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>>;

    /// The layer as data (kind and configuration, no parameter values), for model files and
    /// exporters; `None` for a layer that cannot be described (see [`crate::registry`] for how
    /// a layer of your own gets a spec).
    fn spec(&self) -> Option<LayerSpec> {
        None
    }

    /// Calls `visitor` with each piece of the layer's named state (parameters, buffers,
    /// counters, random generators), in a fixed order. The default has none.
    ///
    /// A container visits its children through [`crate::state::visit_child`], which prefixes
    /// their names; [`crate::NamedState`] builds every named view on this visit.
    fn visit<'a>(&'a self, visitor: &mut Visitor<'_, 'a>) {
        let _ = visitor;
    }

    /// [`Layer::visit`], mutably, in the same order and with the same names.
    fn visit_mut<'a>(&'a mut self, visitor: &mut VisitorMut<'_, 'a>) {
        let _ = visitor;
    }
}

/// [`Layer::forward`] of a layer whose real pass is [`Layer::forward_owned`]: on a copy of `x`,
/// with a workspace of its own.
pub(crate) fn forward_through_workspace<L: Layer + ?Sized>(
    layer: &mut L,
    x: &Tensor,
    mode: Mode,
) -> Result<Tensor> {
    let ws = &mut Workspace::new();
    layer.forward_owned(ws.copy_of(x), mode, ws)
}

/// [`Layer::backward`] of a layer whose real pass is [`Layer::backward_owned`], likewise.
pub(crate) fn backward_through_workspace<L: Layer + ?Sized>(
    layer: &mut L,
    grad: &Tensor,
) -> Result<Tensor> {
    let ws = &mut Workspace::new();
    layer.backward_owned(ws.copy_of(grad), ws)
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

/// Views `x` as a fixed-rank array, mutably, or a shape error naming `expected`.
pub(crate) fn view_as_mut<'a, D: Dimension>(
    x: &'a mut Tensor,
    expected: &str,
) -> Result<ndarray::ArrayViewMut<'a, f32, D>> {
    let error = |got: &[usize]| LayerError::Shape {
        layer: "a layer's buffer".into(),
        expected: expected.to_string(),
        got: got.to_vec(),
    };
    if D::NDIM.is_some_and(|n| n != x.ndim()) {
        return Err(error(x.shape()));
    }
    x.view_mut()
        .into_dimensionality::<D>()
        .map_err(|_| error(&[]))
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

/// Visits a weight and an optional bias as `weight` and `bias`.
pub(crate) fn visit_weight_and_bias<'a>(
    weight: &'a Param,
    bias: Option<&'a Param>,
    visitor: &mut Visitor<'_, 'a>,
) {
    visitor("weight", State::Param(weight));
    if let Some(b) = bias {
        visitor("bias", State::Param(b));
    }
}

/// [`visit_weight_and_bias`], mutably.
pub(crate) fn visit_weight_and_bias_mut<'a>(
    weight: &'a mut Param,
    bias: Option<&'a mut Param>,
    visitor: &mut VisitorMut<'_, 'a>,
) {
    visitor("weight", StateMut::Param(weight));
    if let Some(b) = bias {
        visitor("bias", StateMut::Param(b));
    }
}
