//! Max and average pooling layers (no padding).

use core_tensor::{
    MaxPoolMask, Tensor, avg_pool2d, avg_pool2d_backward, max_pool2d, max_pool2d_backward,
    output_size,
};
use ndarray::Ix4;

use crate::config::PoolConfig;
use crate::error::Result;
use crate::layer::{Layer, Mode, bad_input, check_grad, no_forward, view_as};
use crate::spec::LayerSpec;

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
            output: Vec::new(),
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
    output: Vec<usize>,
}

impl Layer for AvgPooling {
    fn spec(&self) -> Option<LayerSpec> {
        Some(LayerSpec::AvgPooling(self.config))
    }

    fn describe(&self) -> String {
        self.config.describe("AvgPooling")
    }

    fn forward(&mut self, x: &Tensor, mode: Mode) -> Result<Tensor> {
        let x4 = view_as::<Ix4>(self, x, "(N, C, H, W)")?;
        let y = avg_pool2d(x4, self.config.kernel, self.config.stride)?;
        self.input = (mode == Mode::Train).then(|| [x4.shape()[2], x4.shape()[3]]);
        self.output = y.shape().to_vec();
        Ok(y.into_dyn())
    }

    fn backward(&mut self, grad: &Tensor) -> Result<Tensor> {
        let input = self.input.ok_or_else(|| no_forward(self))?;
        check_grad(self, &self.output, grad)?;
        let dy = view_as::<Ix4>(self, grad, "(N, C, OH, OW)")?;
        Ok(avg_pool2d_backward(dy, input, self.config.kernel, self.config.stride)?.into_dyn())
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        self.config.output_shape(self, input)
    }
}
