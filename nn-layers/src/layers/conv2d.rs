//! 2-D convolution layer.

use core_tensor::init::{default_bias, default_weight};
use core_tensor::random::SeededRng;
use core_tensor::{Conv2dPlan, Tensor, kernel_extent, output_size};
use ndarray::{Ix1, Ix4};

use crate::config::Conv2DConfig;
use crate::error::Result;
use crate::layer::{
    Layer, Mode, backward_through_workspace, bad_input, check_grad, forward_through_workspace,
    no_forward, view_as, view_as_mut, visit_weight_and_bias, visit_weight_and_bias_mut,
};
use crate::param::Param;
use crate::spec::LayerSpec;
use crate::state::{Visitor, VisitorMut};
use crate::workspace::Workspace;

impl Conv2DConfig {
    /// Builds the layer with PyTorch's default initialisation (Kaiming-uniform weight, bias
    /// U(-1/√fan_in, 1/√fan_in)) drawn from `rng`.
    ///
    /// # Errors
    /// A size out of range ([`Conv2DConfig::validate`]), or memory that cannot be had.
    pub fn init(&self, rng: &mut SeededRng) -> Result<Conv2D> {
        let c = self;
        c.validate()?;
        let shape = c.weight_shape();
        let weight = Param::new(default_weight(&shape, rng)?);
        let fan_in = shape[1] * c.kernel[0] * c.kernel[1];
        let bias = if c.bias {
            Some(Param::new(default_bias(c.out_channels, fan_in, rng)?))
        } else {
            None
        };
        Ok(Conv2D {
            config: *c,
            weight,
            bias,
            plan: None,
            trained: false,
            output_shape: [0; 4],
        })
    }
}

/// 2-D convolution over (N, C, H, W) input:
/// `y = conv2d(x, weight, bias, stride, padding, dilation, groups)`.
///
/// # Shapes
/// - input (N, C, H, W), output (N, F, OH, OW)
/// - `weight` (F, C/G, KH, KW), `bias` (F)
///
/// The layer plans its convolution (`core_tensor::Conv2dPlan`) at the first forward pass for an
/// input's (C, H, W) and reuses the plan, its kernels and its buffers every step after; another
/// input size plans again. Backward: dL/dw and dL/db summed over the batch from what the training
/// forward kept, dL/dx by the plan's input-gradient kernel.
#[derive(Debug, Clone)]
pub struct Conv2D {
    config: Conv2DConfig,
    weight: Param,
    bias: Option<Param>,
    /// The convolution planned for the last input's size.
    plan: Option<Conv2dPlan>,
    /// Whether the last forward pass was a training one (the plan then holds its input).
    trained: bool,
    /// The output shape of the last training forward.
    output_shape: [usize; 4],
}

impl Conv2D {
    /// The configuration.
    pub fn config(&self) -> &Conv2DConfig {
        &self.config
    }

    /// The kernels the layer runs for its last input's size (`None` before a forward pass).
    pub fn kernels(&self) -> Option<core_tensor::Kernels> {
        self.plan.as_ref().map(Conv2dPlan::kernels)
    }

    /// Adds dL/dw and dL/db of the last training forward for `grad` to the parameters'
    /// gradients, then ends that forward: the input the plan kept goes back to `ws` (before
    /// dL/dx takes its memory from `ws`), and another backward pass needs another forward (as
    /// PyTorch frees the graph).
    fn add_param_grads(&mut self, grad: &Tensor, ws: &mut Workspace) -> Result<()> {
        if !self.trained {
            return Err(no_forward(self));
        }
        check_grad(self, &self.output_shape, grad)?;
        let dy = view_as::<Ix4>(self, grad, "(N, F, OH, OW)")?;
        let plan = match &mut self.plan {
            Some(plan) if self.trained => plan,
            _ => return Err(no_forward(self)),
        };
        let dw = view_as_mut::<Ix4>(&mut self.weight.grad, "(F, C/G, KH, KW)")?;
        let db = match &mut self.bias {
            Some(b) => Some(view_as_mut::<Ix1>(&mut b.grad, "(F)")?),
            None => None,
        };
        plan.add_param_grads(dy, dw, db)?;
        if let Some(x) = plan.take_input() {
            ws.recycle(x.into_dyn());
        }
        self.trained = false;
        Ok(())
    }
}

impl Layer for Conv2D {
    fn spec(&self) -> Option<LayerSpec> {
        Some(LayerSpec::Conv2D(self.config))
    }

    fn describe(&self) -> String {
        let c = &self.config;
        let mut s = format!(
            "Conv2D({}, {}, kernel=({}, {})",
            c.in_channels, c.out_channels, c.kernel[0], c.kernel[1]
        );
        if c.stride != [1, 1] {
            s += &format!(", stride=({}, {})", c.stride[0], c.stride[1]);
        }
        if c.padding != [0, 0] {
            s += &format!(", padding=({}, {})", c.padding[0], c.padding[1]);
        }
        if c.dilation != [1, 1] {
            s += &format!(", dilation=({}, {})", c.dilation[0], c.dilation[1]);
        }
        if c.groups != 1 {
            s += &format!(", groups={}", c.groups);
        }
        if !c.bias {
            s += ", bias=false";
        }
        s + ")"
    }

    fn forward(&mut self, x: &Tensor, mode: Mode) -> Result<Tensor> {
        forward_through_workspace(self, x, mode)
    }

    /// The output comes from `ws`. In train mode the plan keeps `x` itself where the weight
    /// gradient reads the images as they are (no padding, no window matrix), and the backward
    /// pass gives it back to `ws`; otherwise `x` goes back to `ws` at once.
    fn forward_owned(&mut self, x: Tensor, mode: Mode, ws: &mut Workspace) -> Result<Tensor> {
        let c = self.config;
        if x.ndim() != 4 || x.shape()[1] != c.in_channels {
            return Err(bad_input(
                self,
                &format!("(N, {}, H, W)", c.in_channels),
                x.shape(),
            ));
        }
        // Four axes, as checked above.
        let Ok(x) = x.into_dimensionality::<Ix4>() else {
            return Err(bad_input(self, "(N, C, H, W)", &[]));
        };
        let [n, h, w] = [0, 2, 3].map(|a| x.shape()[a]);
        let weight = view_as::<Ix4>(self, &self.weight.value, "(F, C/G, KH, KW)")?;
        let b = match &self.bias {
            Some(b) => Some(view_as::<Ix1>(self, &b.value, "(F)")?),
            None => None,
        };
        let plan = match &mut self.plan {
            Some(plan) if plan.geometry().input == [h, w] => plan,
            slot => slot.insert(Conv2dPlan::new(x.shape(), weight.shape(), c.params())?),
        };
        let out_shape = plan.geometry().with_batch(n)?.output_shape();
        let mut y = ws.tensor(&out_shape);
        let y4 = view_as_mut::<Ix4>(&mut y, "(N, F, OH, OW)")?;
        self.trained = false;
        let given_back = match mode {
            Mode::Train => plan.forward_train_owned(x, weight, b, y4)?,
            Mode::Eval => {
                plan.forward_into(x.view(), weight, b, y4)?;
                Some(x)
            }
        };
        self.trained = mode == Mode::Train;
        self.output_shape = out_shape;
        if let Some(x) = given_back {
            ws.recycle(x.into_dyn());
        }
        Ok(y)
    }

    fn backward(&mut self, grad: &Tensor) -> Result<Tensor> {
        backward_through_workspace(self, grad)
    }

    /// Gives the input the plan kept back to `ws` once the weight gradient is computed, before
    /// dL/dx takes its memory from `ws`. A backward pass uses up what the training forward
    /// kept: another one needs another forward (as PyTorch frees the graph).
    fn backward_owned(&mut self, grad: Tensor, ws: &mut Workspace) -> Result<Tensor> {
        self.add_param_grads(&grad, ws)?;
        let dy = view_as::<Ix4>(self, &grad, "(N, F, OH, OW)")?;
        let w = view_as::<Ix4>(self, &self.weight.value, "(F, C/G, KH, KW)")?;
        let Some(plan) = &mut self.plan else {
            return Err(no_forward(self));
        };
        let in_shape = plan.geometry().with_batch(dy.shape()[0])?.input_shape();
        let mut dx = ws.tensor(&in_shape);
        let dx4 = view_as_mut::<Ix4>(&mut dx, "(N, C, H, W)")?;
        plan.input_grad_into(dy, w, dx4)?;
        ws.recycle(grad);
        Ok(dx)
    }

    fn backward_params_only(&mut self, grad: Tensor, ws: &mut Workspace) -> Result<()> {
        self.add_param_grads(&grad, ws)?;
        ws.recycle(grad);
        Ok(())
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        let c = &self.config;
        let extent =
            [0, 1].map(|a| kernel_extent(c.kernel[a], c.dilation[a]).unwrap_or(usize::MAX));
        let expected = format!(
            "({}, H, W) with H + 2·{} >= {} and W + 2·{} >= {}",
            c.in_channels, c.padding[0], extent[0], c.padding[1], extent[1]
        );
        match input {
            &[ch, h, w] if ch == c.in_channels => {
                let oh = output_size(h, extent[0], c.stride[0], c.padding[0]);
                let ow = output_size(w, extent[1], c.stride[1], c.padding[1]);
                match (oh, ow) {
                    (Some(oh), Some(ow)) => Ok(vec![c.out_channels, oh, ow]),
                    _ => Err(bad_input(self, &expected, input)),
                }
            }
            _ => Err(bad_input(self, &expected, input)),
        }
    }

    fn visit<'a>(&'a self, visitor: &mut Visitor<'_, 'a>) {
        visit_weight_and_bias(&self.weight, self.bias.as_ref(), visitor);
    }

    fn visit_mut<'a>(&'a mut self, visitor: &mut VisitorMut<'_, 'a>) {
        visit_weight_and_bias_mut(&mut self.weight, self.bias.as_mut(), visitor);
    }
}
