//! Max and average pooling layers (no padding).

use core_tensor::{
    MaxPoolMask, Tensor, avg_pool2d_backward_into, avg_pool2d_into, max_pool2d,
    max_pool2d_backward, output_size,
};
use ndarray::Ix4;

use crate::config::PoolConfig;
use crate::error::Result;
use crate::layer::{
    Layer, Mode, backward_through_workspace, bad_input, check_grad, forward_through_workspace,
    no_forward, view_as, view_as_mut,
};
use crate::spec::LayerSpec;
use crate::workspace::Workspace;

impl PoolConfig {
    /// Builds a [`MaxPooling`] layer.
    ///
    /// # Errors
    /// A zero kernel or stride.
    pub fn max(&self) -> Result<MaxPooling> {
        self.check("MaxPooling")?;
        Ok(MaxPooling {
            config: *self,
            mask: None,
        })
    }

    /// Builds an [`AvgPooling`] layer.
    ///
    /// # Errors
    /// A zero kernel or stride.
    pub fn avg(&self) -> Result<AvgPooling> {
        self.check("AvgPooling")?;
        Ok(AvgPooling {
            config: *self,
            input: None,
            output: [0; 4],
        })
    }

    fn describe(&self, name: &str) -> String {
        let [kh, kw] = self.kernel;
        if self.stride == self.kernel {
            format!("{name}(kernel=({kh}, {kw}))")
        } else {
            format!(
                "{name}(kernel=({kh}, {kw}), stride=({}, {}))",
                self.stride[0], self.stride[1]
            )
        }
    }

    fn output_shape(&self, layer: &dyn Layer, input: &[usize]) -> Result<Vec<usize>> {
        let [kh, kw] = self.kernel;
        if let &[c, h, w] = input
            && let (Some(oh), Some(ow)) = (
                output_size(h, kh, self.stride[0], 0),
                output_size(w, kw, self.stride[1], 0),
            )
        {
            return Ok(vec![c, oh, ow]);
        }
        Err(bad_input(
            layer,
            &format!("(C, H, W) with H >= {kh} and W >= {kw}"),
            input,
        ))
    }
}

/// Max pooling over (N, C, H, W); on ties the first maximum in row-major order takes the gradient.
#[derive(Debug, Clone)]
pub struct MaxPooling {
    config: PoolConfig,
    mask: Option<MaxPoolMask>,
}

impl Layer for MaxPooling {
    fn spec(&self) -> Option<LayerSpec> {
        Some(LayerSpec::MaxPooling(self.config))
    }

    fn describe(&self) -> String {
        self.config.describe("MaxPooling")
    }

    fn forward(&mut self, x: &Tensor, mode: Mode) -> Result<Tensor> {
        let x4 = view_as::<Ix4>(self, x, "(N, C, H, W)")?;
        let (y, mask) = max_pool2d(x4, self.config.kernel, self.config.stride)?;
        self.mask = (mode == Mode::Train).then_some(mask);
        Ok(y.into_dyn())
    }

    fn backward(&mut self, grad: &Tensor) -> Result<Tensor> {
        let mask = self.mask.as_ref().ok_or_else(|| no_forward(self))?;
        check_grad(self, &mask.output_shape(), grad)?;
        let dy = view_as::<Ix4>(self, grad, "(N, C, OH, OW)")?;
        Ok(max_pool2d_backward(dy, mask)?.into_dyn())
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        self.config.output_shape(self, input)
    }
}

/// Average pooling over (N, C, H, W): each output the mean of its window.
#[derive(Debug, Clone)]
pub struct AvgPooling {
    config: PoolConfig,
    input: Option<[usize; 2]>,
    output: [usize; 4],
}

impl Layer for AvgPooling {
    fn spec(&self) -> Option<LayerSpec> {
        Some(LayerSpec::AvgPooling(self.config))
    }

    fn describe(&self) -> String {
        self.config.describe("AvgPooling")
    }

    fn forward(&mut self, x: &Tensor, mode: Mode) -> Result<Tensor> {
        forward_through_workspace(self, x, mode)
    }

    /// The output comes from `ws`; `x` goes back to it.
    fn forward_owned(&mut self, x: Tensor, mode: Mode, ws: &mut Workspace) -> Result<Tensor> {
        let x4 = view_as::<Ix4>(self, &x, "(N, C, H, W)")?;
        let [n, c, h, w] = [0, 1, 2, 3].map(|a| x4.shape()[a]);
        let (kernel, stride) = (self.config.kernel, self.config.stride);
        let size = |a: usize, len: usize| output_size(len, kernel[a], stride[a], 0);
        let (Some(oh), Some(ow)) = (size(0, h), size(1, w)) else {
            return Err(bad_input(
                self,
                "(N, C, H, W) with H, W at least the window",
                x.shape(),
            ));
        };
        let shape = [n, c, oh, ow];
        let mut y = ws.tensor(&shape);
        avg_pool2d_into(
            x4,
            kernel,
            stride,
            view_as_mut::<Ix4>(&mut y, "(N, C, OH, OW)")?,
        )?;
        self.input = (mode == Mode::Train).then_some([h, w]);
        self.output = shape;
        ws.recycle(x);
        Ok(y)
    }

    fn backward(&mut self, grad: &Tensor) -> Result<Tensor> {
        backward_through_workspace(self, grad)
    }

    fn backward_owned(&mut self, grad: Tensor, ws: &mut Workspace) -> Result<Tensor> {
        let input = self.input.ok_or_else(|| no_forward(self))?;
        check_grad(self, &self.output, &grad)?;
        let dy = view_as::<Ix4>(self, &grad, "(N, C, OH, OW)")?;
        let [n, c] = [self.output[0], self.output[1]];
        let mut dx = ws.tensor(&[n, c, input[0], input[1]]);
        let dx4 = view_as_mut::<Ix4>(&mut dx, "(N, C, H, W)")?;
        avg_pool2d_backward_into(dy, input, self.config.kernel, self.config.stride, dx4)?;
        ws.recycle(grad);
        Ok(dx)
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        self.config.output_shape(self, input)
    }
}
