//! The configuration of a [`crate::BatchNormalization`] layer.

use crate::config::{StateShapes, check_sizes};
use crate::error::{LayerError, Result};

/// The configuration of a [`BatchNormalization`](crate::BatchNormalization) layer.
///
/// PyTorch equivalent: `torch.nn.BatchNorm2d(num_features, eps, momentum, affine)` for 4-D input,
/// `torch.nn.BatchNorm1d` for 2-D input.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BatchNormConfig {
    /// Channels (4-D input) or features (2-D input).
    pub num_features: usize,
    /// Added to the variance; default 1e-5.
    pub eps: f32,
    /// Weight of the new batch in the running statistics; default 0.1.
    pub momentum: f32,
    /// Learnable scale (`weight`, γ) and shift (`bias`, β); default true.
    pub affine: bool,
}

impl BatchNormConfig {
    /// PyTorch's defaults: eps 1e-5, momentum 0.1, affine.
    pub fn new(num_features: usize) -> Self {
        Self {
            num_features,
            eps: 1e-5,
            momentum: 0.1,
            affine: true,
        }
    }

    /// Sets eps.
    pub fn with_eps(mut self, eps: f32) -> Self {
        self.eps = eps;
        self
    }

    /// Sets the momentum.
    pub fn with_momentum(mut self, momentum: f32) -> Self {
        self.momentum = momentum;
        self
    }

    /// Turns the affine parameters on or off.
    pub fn with_affine(mut self, affine: bool) -> Self {
        self.affine = affine;
        self
    }

    /// Checks the configuration: features in `1..=MAX_DIMENSION` (see `core_tensor::limits`),
    /// eps finite and > 0, momentum in [0, 1].
    ///
    /// # Errors
    /// [`LayerError::Config`] saying what is out of range.
    pub fn validate(&self) -> Result<()> {
        let c = self;
        check_sizes("BatchNormalization", &[("num_features", c.num_features, 1)])?;
        if !(c.eps > 0.0 && c.eps.is_finite() && (0.0..=1.0).contains(&c.momentum)) {
            return Err(LayerError::Config {
                layer: "BatchNormalization".into(),
                message: format!("needs eps > 0 and momentum in [0, 1], got {c:?}"),
            });
        }
        Ok(())
    }

    /// The shapes of the parameters (weight and bias (C), when affine) and of the buffers
    /// (running mean and variance (C)).
    ///
    /// # Errors
    /// As [`BatchNormConfig::validate`].
    pub fn state_shapes(&self) -> Result<StateShapes> {
        self.validate()?;
        let c = vec![self.num_features];
        let params = if self.affine { 2 } else { 0 };
        Ok(StateShapes {
            params: vec![c.clone(); params],
            buffers: vec![c; 2],
        })
    }
}
