//! The configuration of a [`crate::Linear`] layer.

use crate::config::{check_sizes, parameter_elements};
use crate::error::Result;

/// The configuration of a [`Linear`](crate::Linear) layer.
///
/// PyTorch equivalent: `torch.nn.Linear(in_features, out_features, bias)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LinearConfig {
    /// Input features.
    pub in_features: usize,
    /// Output features.
    pub out_features: usize,
    /// Whether there is a bias; default true.
    pub bias: bool,
}

impl LinearConfig {
    /// Checks the sizes: feature counts in `1..=MAX_DIMENSION` and a weight of at most
    /// `MAX_PARAMETER_ELEMENTS` (see `core_tensor::limits`).
    ///
    /// # Errors
    /// [`crate::LayerError::Config`] naming the size out of range.
    pub fn validate(&self) -> Result<()> {
        check_sizes(
            "Linear",
            &[
                ("in_features", self.in_features, 1),
                ("out_features", self.out_features, 1),
            ],
        )?;
        parameter_elements("Linear", &[self.out_features, self.in_features]).map(|_| ())
    }

    /// The shapes of the parameters: the weight (out, in), then the bias (out) if there is one.
    ///
    /// # Errors
    /// As [`LinearConfig::validate`].
    pub fn param_shapes(&self) -> Result<Vec<Vec<usize>>> {
        self.validate()?;
        let weight = vec![self.out_features, self.in_features];
        Ok(std::iter::once(weight)
            .chain(self.bias.then(|| vec![self.out_features]))
            .collect())
    }

    /// `in_features` -> `out_features`, with bias.
    pub fn new(in_features: usize, out_features: usize) -> Self {
        Self {
            in_features,
            out_features,
            bias: true,
        }
    }

    /// Turns the bias on or off.
    pub fn with_bias(mut self, bias: bool) -> Self {
        self.bias = bias;
        self
    }
}
