//! The residual block: a body, a shortcut, their sum and an optional activation.

use core_tensor::Tensor;
use ndarray::Zip;

use crate::error::{LayerError, Result};
use crate::layer::{
    Layer, Mode, backward_through_workspace, forward_through_workspace, no_forward,
};
use crate::sequential::Sequential;
use crate::spec::{LayerSpec, ResidualSpec};
use crate::state::{Visitor, VisitorMut, visit_child, visit_child_mut};
use crate::workspace::Workspace;

/// `y = activation(body(x) + shortcut(x))`, the block of a ResNet.
///
/// The shortcut is the identity (`None`) or a small chain (a strided 1x1 convolution and batch
/// norm where the shape changes). State names follow PyTorch's `BasicBlock`: the body's layers
/// are named at the block's level (`conv1.weight`, `bn1.running_mean`), the shortcut's under
/// `shortcut` (`shortcut.0.weight`), the activation's under `activation`.
///
/// Backward: the gradient after the activation flows into both paths and their input gradients
/// add up.
///
/// ```
/// use nn_layers::{Layer, LayerSpec, Mode, NamedState, ResidualSpec, Tensor};
/// let rng = &mut core_tensor::random::seeded_rng(0);
/// let mut block = LayerSpec::Residual(ResidualSpec::basic_block(4, 8, 2))
///     .build(&[4, 6, 6], rng)
///     .unwrap();
/// assert_eq!(block.output_shape(&[4, 6, 6]).unwrap(), vec![8, 3, 3]);
/// let names: Vec<String> = block.params().into_iter().map(|(n, _)| n).collect();
/// assert_eq!(names[..2], ["conv1.weight".to_string(), "bn1.weight".to_string()]);
/// assert_eq!(names.last().unwrap(), "shortcut.1.bias");
/// let y = block.forward(&Tensor::ones(vec![2, 4, 6, 6]), Mode::Train).unwrap();
/// assert_eq!(y.shape(), &[2, 8, 3, 3]);
/// ```
#[derive(Debug)]
pub struct Residual {
    body: Sequential,
    shortcut: Option<Sequential>,
    activation: Option<Box<dyn Layer>>,
    /// Whether the last forward pass was a training one.
    trained: bool,
}

impl Residual {
    /// A block of `body`, `shortcut` (`None`: the identity) and `activation` after the sum.
    ///
    /// # Errors
    /// A shortcut for another input shape, or an output shape that differs between the paths
    /// or changes through the activation.
    pub fn new(
        body: Sequential,
        shortcut: Option<Sequential>,
        activation: Option<Box<dyn Layer>>,
    ) -> Result<Self> {
        let input = body.input_sample_shape();
        let out = body.output_sample_shape();
        let (short_in, short_out) = match &shortcut {
            Some(s) => (s.input_sample_shape(), s.output_sample_shape()),
            None => (input, input),
        };
        let mismatch = |message: String| LayerError::Config {
            layer: "Residual".into(),
            message,
        };
        if short_in != input {
            return Err(mismatch(format!(
                "the shortcut takes samples of {short_in:?}, the body {input:?}"
            )));
        }
        if short_out != out {
            return Err(mismatch(format!(
                "the body gives samples of {out:?}, the shortcut {short_out:?}; they must \
                 agree to be added (a strided 1x1 convolution in the shortcut changes its shape)"
            )));
        }
        if let Some(a) = &activation {
            let after = a.output_shape(out)?;
            if after != out {
                return Err(mismatch(format!(
                    "the activation {} changes the shape {out:?} to {after:?}",
                    a.describe()
                )));
            }
        }
        Ok(Self {
            body,
            shortcut,
            activation,
            trained: false,
        })
    }

    /// The main path.
    pub fn body(&self) -> &Sequential {
        &self.body
    }

    /// The shortcut (`None`: the identity).
    pub fn shortcut(&self) -> Option<&Sequential> {
        self.shortcut.as_ref()
    }

    /// The activation after the sum.
    pub fn activation(&self) -> Option<&dyn Layer> {
        self.activation.as_deref()
    }

    /// The gradient at the sum, from the gradient of the output.
    /// dL/d(body + shortcut): through the activation, if any.
    fn grad_at_sum(&mut self, grad: Tensor, ws: &mut Workspace) -> Result<Tensor> {
        if !self.trained {
            return Err(no_forward(self));
        }
        match &mut self.activation {
            Some(a) => a.backward_owned(grad, ws),
            None => Ok(grad),
        }
    }
}

/// `a += b`, element by element (no sums: the same bits on any thread count).
fn add_into(a: &mut Tensor, b: &Tensor) {
    Zip::from(a).and(b).par_for_each(|a, &b| *a += b);
}

impl Layer for Residual {
    fn spec(&self) -> Option<LayerSpec> {
        let shortcut = match &self.shortcut {
            Some(s) => s.layer_specs().ok()?,
            None => Vec::new(),
        };
        let activation = match &self.activation {
            Some(a) => Some(Box::new(a.spec()?)),
            None => None,
        };
        Some(LayerSpec::Residual(ResidualSpec {
            body: self.body.layer_specs().ok()?,
            shortcut,
            activation,
        }))
    }

    fn describe(&self) -> String {
        let names = |s: &Sequential| s.names().join(", ");
        let shortcut = self
            .shortcut
            .as_ref()
            .map_or("identity".to_string(), |s| format!("[{}]", names(s)));
        let activation = self
            .activation
            .as_ref()
            .map_or(String::new(), |a| format!(", then {}", a.describe()));
        format!("Residual([{}] + {shortcut}{activation})", names(&self.body))
    }

    fn forward(&mut self, x: &Tensor, mode: Mode) -> Result<Tensor> {
        forward_through_workspace(self, x, mode)
    }

    fn forward_owned(&mut self, x: Tensor, mode: Mode, ws: &mut Workspace) -> Result<Tensor> {
        let body_x = ws.copy_of(&x);
        let mut y = self.body.forward_owned(body_x, mode, ws)?;
        let shortcut = match &mut self.shortcut {
            Some(s) => s.forward_owned(x, mode, ws)?,
            None => x,
        };
        add_into(&mut y, &shortcut);
        ws.recycle(shortcut);
        if let Some(a) = &mut self.activation {
            y = a.forward_owned(y, mode, ws)?;
        }
        self.trained = mode == Mode::Train;
        Ok(y)
    }

    fn backward(&mut self, grad: &Tensor) -> Result<Tensor> {
        backward_through_workspace(self, grad)
    }

    fn backward_owned(&mut self, grad: Tensor, ws: &mut Workspace) -> Result<Tensor> {
        let g = self.grad_at_sum(grad, ws)?;
        let body_g = ws.copy_of(&g);
        let mut dx = self.body.backward_owned(body_g, ws)?;
        let shortcut = match &mut self.shortcut {
            Some(s) => s.backward_owned(g, ws)?,
            None => g,
        };
        add_into(&mut dx, &shortcut);
        ws.recycle(shortcut);
        Ok(dx)
    }

    fn backward_params_only(&mut self, grad: Tensor, ws: &mut Workspace) -> Result<()> {
        let g = self.grad_at_sum(grad, ws)?;
        let body_g = ws.copy_of(&g);
        self.body.backward_params_only(body_g, ws)?;
        match &mut self.shortcut {
            Some(s) => s.backward_params_only(g, ws),
            None => {
                ws.recycle(g);
                Ok(())
            }
        }
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        self.body.output_shape(input)
    }

    fn visit<'a>(&'a self, visitor: &mut Visitor<'_, 'a>) {
        self.body.visit(visitor);
        if let Some(s) = &self.shortcut {
            visit_child("shortcut", s, visitor);
        }
        if let Some(a) = &self.activation {
            visit_child("activation", a.as_ref(), visitor);
        }
    }

    fn visit_mut<'a>(&'a mut self, visitor: &mut VisitorMut<'_, 'a>) {
        self.body.visit_mut(visitor);
        if let Some(s) = &mut self.shortcut {
            visit_child_mut("shortcut", s, visitor);
        }
        if let Some(a) = &mut self.activation {
            visit_child_mut("activation", a.as_mut(), visitor);
        }
    }
}
