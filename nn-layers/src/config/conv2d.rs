//! The configuration of a [`crate::Conv2D`] layer.

use core_tensor::Conv2dParams;

use crate::config::{check_sizes, parameter_elements};
use crate::error::Result;

/// The configuration of a [`Conv2D`](crate::Conv2D) layer.
///
/// PyTorch equivalent: `torch.nn.Conv2d(in_channels, out_channels, kernel, stride, padding,
/// dilation, groups, bias)`.
///
/// ```
/// use nn_layers::Conv2DConfig;
/// let rng = &mut core_tensor::random::seeded_rng(0);
/// let conv = Conv2DConfig::new(1, 6, [5, 5]).with_padding([2, 2]).init(rng).unwrap();
/// assert_eq!(nn_layers::NamedState::num_params(&conv), 6 * 25 + 6);
/// // Depthwise: one 3x3 filter per channel, weight (32, 1, 3, 3).
/// let depthwise = Conv2DConfig::new(32, 32, [3, 3]).with_padding([1, 1]).with_groups(32);
/// assert_eq!(depthwise.param_shapes().unwrap(), vec![vec![32, 1, 3, 3], vec![32]]);
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
    /// The step between the kernel's taps, (DH, DW); default (1, 1).
    pub dilation: [usize; 2],
    /// Groups G: each filter reads C/G channels; default 1, C for a depthwise layer.
    pub groups: usize,
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
            dilation: [1, 1],
            groups: 1,
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

    /// Sets the dilation.
    pub fn with_dilation(mut self, dilation: [usize; 2]) -> Self {
        self.dilation = dilation;
        self
    }

    /// Sets the number of groups.
    pub fn with_groups(mut self, groups: usize) -> Self {
        self.groups = groups;
        self
    }

    /// The arguments of the kernel crate's convolution.
    pub fn params(&self) -> Conv2dParams {
        Conv2dParams::new()
            .stride(self.stride)
            .padding(self.padding)
            .dilation(self.dilation)
            .groups(self.groups)
    }

    /// The weight's shape (F, C/G, KH, KW).
    pub(crate) fn weight_shape(&self) -> [usize; 4] {
        let groups = self.groups.max(1);
        [
            self.out_channels,
            self.in_channels / groups,
            self.kernel[0],
            self.kernel[1],
        ]
    }

    /// Turns the bias on or off.
    pub fn with_bias(mut self, bias: bool) -> Self {
        self.bias = bias;
        self
    }

    /// The shapes of the parameters this configuration gives: the weight (F, C/G, KH, KW), then
    /// the bias (F) if there is one.
    ///
    /// # Errors
    /// As [`Conv2DConfig::validate`].
    pub fn param_shapes(&self) -> Result<Vec<Vec<usize>>> {
        self.validate()?;
        let c = self;
        let weight = c.weight_shape().to_vec();
        Ok(std::iter::once(weight)
            .chain(c.bias.then(|| vec![c.out_channels]))
            .collect())
    }

    /// Checks every size: channels, kernel, stride, dilation and groups in `1..=MAX_DIMENSION`,
    /// padding in `0..=MAX_DIMENSION`, groups that divide both channel counts, and a weight of
    /// at most `MAX_PARAMETER_ELEMENTS` (see `core_tensor::limits`).
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
                ("dilation height", c.dilation[0], 1),
                ("dilation width", c.dilation[1], 1),
                ("groups", c.groups, 1),
            ],
        )?;
        if !c.in_channels.is_multiple_of(c.groups) || !c.out_channels.is_multiple_of(c.groups) {
            return Err(crate::LayerError::Config {
                layer: "Conv2D".into(),
                message: format!(
                    "groups ({}) must divide in_channels ({}) and out_channels ({})",
                    c.groups, c.in_channels, c.out_channels
                ),
            });
        }
        parameter_elements("Conv2D", &c.weight_shape()).map(|_| ())
    }
}
