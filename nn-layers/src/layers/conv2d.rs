//! 2-D convolution layer.

use core_tensor::init::{SeededRng, default_bias, default_weight};
use core_tensor::{
    Columns, Tensor, conv2d, conv2d_input_grad, conv2d_keep_columns,
    conv2d_param_grads_with_columns, conv2d_reuse_columns, output_size,
};
use ndarray::{Ix1, Ix4};

use crate::error::Result;
use crate::layer::{
    Layer, Mode, Param, bad_input, check_grad, check_sizes, no_forward, parameter_elements,
    view_as, weight_and_bias, weight_and_bias_mut,
};
use crate::spec::LayerSpec;

/// The configuration of a [`Conv2D`] layer.
///
/// PyTorch equivalent: `torch.nn.Conv2d(in_channels, out_channels, kernel, stride, padding, bias)`.
///
/// ```
/// use nn_layers::Conv2DConfig;
/// let conv = Conv2DConfig::new(1, 6, [5, 5]).with_padding([2, 2]).init(&mut core_tensor::init::seeded_rng(0)).unwrap();
/// assert_eq!(nn_layers::Layer::num_params(&conv), 6 * 25 + 6);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Conv2DConfig {
    /// Input channels C.
    pub in_channels: usize,
    /// Output channels F.
    pub out_channels: usize,
    /// (KH, KW).
    pub kernel: [usize; 2],
    /// (SH, SW); default (1, 1).
    pub stride: [usize; 2],
    /// Zeros added on each side, (PH, PW); default (0, 0).
    pub padding: [usize; 2],
    /// Whether there is a bias; default true.
    pub bias: bool,
}

impl Conv2DConfig {
    /// `in_channels` -> `out_channels` with a `kernel` (KH, KW), stride 1, no padding, with bias.
    pub fn new(in_channels: usize, out_channels: usize, kernel: [usize; 2]) -> Self {
        Self {
            in_channels,
            out_channels,
            kernel,
            stride: [1, 1],
            padding: [0, 0],
            bias: true,
        }
    }

    /// Sets the stride.
    pub fn with_stride(mut self, stride: [usize; 2]) -> Self {
        self.stride = stride;
        self
    }

    /// Sets the padding.
    pub fn with_padding(mut self, padding: [usize; 2]) -> Self {
        self.padding = padding;
        self
    }

    /// Turns the bias on or off.
    pub fn with_bias(mut self, bias: bool) -> Self {
        self.bias = bias;
        self
    }

    /// The shapes of the parameters this configuration gives: the weight (F, C, KH, KW), then
    /// the bias (F) if there is one.
    ///
    /// # Errors
    /// As [`Conv2DConfig::validate`].
    pub fn param_shapes(&self) -> Result<Vec<Vec<usize>>> {
        self.validate()?;
        let c = self;
        let weight = vec![c.out_channels, c.in_channels, c.kernel[0], c.kernel[1]];
        Ok(std::iter::once(weight)
            .chain(c.bias.then(|| vec![c.out_channels]))
            .collect())
    }

    /// Checks every size: channels, kernel and stride in `1..=MAX_DIMENSION`, padding in
    /// `0..=MAX_DIMENSION`, and a weight of at most `MAX_PARAMETER_ELEMENTS` (see
    /// `core_tensor::limits`).
    ///
    /// # Errors
    /// [`crate::LayerError::Config`] naming the first size out of range.
    pub fn validate(&self) -> Result<()> {
        let c = self;
        check_sizes(
            "Conv2D",
            &[
                ("in_channels", c.in_channels, 1),
                ("out_channels", c.out_channels, 1),
                ("kernel height", c.kernel[0], 1),
                ("kernel width", c.kernel[1], 1),
                ("stride height", c.stride[0], 1),
                ("stride width", c.stride[1], 1),
                ("padding height", c.padding[0], 0),
                ("padding width", c.padding[1], 0),
            ],
        )?;
        parameter_elements(
            "Conv2D",
            &[c.out_channels, c.in_channels, c.kernel[0], c.kernel[1]],
        )
        .map(|_| ())
    }

    /// Builds the layer with PyTorch's default initialisation (Kaiming-uniform weight, bias
    /// U(-1/√fan_in, 1/√fan_in)) drawn from `rng`.
    ///
    /// # Errors
    /// A size out of range ([`Conv2DConfig::validate`]), or memory that cannot be had.
    pub fn init(&self, rng: &mut SeededRng) -> Result<Conv2D> {
        let c = self;
        c.validate()?;
        let shape = [c.out_channels, c.in_channels, c.kernel[0], c.kernel[1]];
        let weight = Param::new(default_weight(&shape, rng)?);
        let fan_in = c.in_channels * c.kernel[0] * c.kernel[1];
        let bias = if c.bias {
            Some(Param::new(default_bias(c.out_channels, fan_in, rng)?))
        } else {
            None
        };
        Ok(Conv2D {
            config: *c,
            weight,
            bias,
            saved: None,
            output_shape: Vec::new(),
        })
    }
}

/// 2-D convolution over (N, C, H, W) input: `y = conv2d(x, weight, bias, stride, padding)`.
///
/// # Shapes
/// - input (N, C, H, W), output (N, F, OH, OW)
/// - `weight` (F, C, KH, KW), `bias` (F)
///
/// Backward: dL/dx by the stride-dilated convolution, dL/dw and dL/db summed over the batch (see
/// `core_tensor::conv2d_input_grad` and `core_tensor::conv2d_param_grads`).
#[derive(Debug, Clone)]
pub struct Conv2D {
    config: Conv2DConfig,
    weight: Param,
    bias: Option<Param>,
    /// The input's windows as the train-mode forward pass laid them out: the weight gradient
    /// reuses them instead of laying the input out again.
    saved: Option<Columns>,
    output_shape: Vec<usize>,
}

impl Conv2D {
    /// The configuration.
    pub fn config(&self) -> &Conv2DConfig {
        &self.config
    }

    fn param_grads(&mut self, grad: &Tensor) -> Result<()> {
        let columns = self.saved.as_ref().ok_or_else(|| no_forward(self))?;
        check_grad(self, &self.output_shape, grad)?;
        let dy = view_as::<Ix4>(self, grad, "(N, F, OH, OW)")?;
        let (dw, db) = conv2d_param_grads_with_columns(columns, dy)?;
        self.weight.grad += &dw.into_dyn();
        if let Some(b) = &mut self.bias {
            b.grad += &db.into_dyn();
        }
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
        if !c.bias {
            s += ", bias=false";
        }
        s + ")"
    }

    fn forward(&mut self, x: &Tensor, mode: Mode) -> Result<Tensor> {
        let c = self.config;
        let x4 = view_as::<Ix4>(self, x, &format!("(N, {}, H, W)", c.in_channels))?;
        if x4.shape()[1] != c.in_channels {
            return Err(bad_input(
                self,
                &format!("(N, {}, H, W)", c.in_channels),
                x.shape(),
            ));
        }
        let w = view_as::<Ix4>(self, &self.weight.value, "(F, C, KH, KW)")?;
        let b = match &self.bias {
            Some(b) => Some(view_as::<Ix1>(self, &b.value, "(F)")?),
            None => None,
        };
        let y = match mode {
            Mode::Train => {
                let (y, columns) = match self.saved.take() {
                    Some(last) => conv2d_reuse_columns(x4, w, b, c.stride, c.padding, last)?,
                    None => conv2d_keep_columns(x4, w, b, c.stride, c.padding)?,
                };
                self.saved = Some(columns);
                self.output_shape = y.shape().to_vec();
                y
            }
            Mode::Eval => conv2d(x4, w, b, c.stride, c.padding)?,
        };
        Ok(y.into_dyn())
    }

    fn backward(&mut self, grad: &Tensor) -> Result<Tensor> {
        self.param_grads(grad)?;
        let dy = view_as::<Ix4>(self, grad, "(N, F, OH, OW)")?;
        let w = view_as::<Ix4>(self, &self.weight.value, "(F, C, KH, KW)")?;
        let [h, wd] = self
            .saved
            .as_ref()
            .ok_or_else(|| no_forward(self))?
            .geometry()
            .input;
        let c = self.config;
        Ok(conv2d_input_grad(dy, w, [h, wd], c.stride, c.padding)?.into_dyn())
    }

    fn backward_params_only(&mut self, grad: &Tensor) -> Result<()> {
        self.param_grads(grad)
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        let c = &self.config;
        let expected = format!(
            "({}, H, W) with H + 2·{} >= {} and W + 2·{} >= {}",
            c.in_channels, c.padding[0], c.kernel[0], c.padding[1], c.kernel[1]
        );
        match input {
            &[ch, h, w] if ch == c.in_channels => {
                let oh = output_size(h, c.kernel[0], c.stride[0], c.padding[0]);
                let ow = output_size(w, c.kernel[1], c.stride[1], c.padding[1]);
                match (oh, ow) {
                    (Some(oh), Some(ow)) => Ok(vec![c.out_channels, oh, ow]),
                    _ => Err(bad_input(self, &expected, input)),
                }
            }
            _ => Err(bad_input(self, &expected, input)),
        }
    }

    fn params(&self) -> Vec<(String, &Param)> {
        weight_and_bias(&self.weight, self.bias.as_ref())
    }

    fn params_mut(&mut self) -> Vec<(String, &mut Param)> {
        weight_and_bias_mut(&mut self.weight, self.bias.as_mut())
    }
}
