//! Optimizers as data, so that a checkpoint can rebuild the one it was saved with.

use nn_optim::{Adagrad, Adam, AdamW, Momentum, Optimizer, RmsProp, Sgd};
use serde::{Deserialize, Serialize};

use crate::error::Result;

/// Which optimizer, with PyTorch's defaults for everything but the learning rate (momentum 0.9
/// for [`OptimizerKind::Momentum`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OptimizerKind {
    /// [`Adam`].
    Adam,
    /// [`AdamW`].
    AdamW,
    /// [`Sgd`].
    Sgd,
    /// [`Momentum`] with momentum 0.9.
    Momentum,
    /// [`Adagrad`].
    Adagrad,
    /// [`RmsProp`].
    RmsProp,
}

impl OptimizerKind {
    /// The kind named `name` (`adam`, `adamw`, `sgd`, `momentum`, `adagrad`, `rmsprop`).
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "adam" => Self::Adam,
            "adamw" => Self::AdamW,
            "sgd" => Self::Sgd,
            "momentum" => Self::Momentum,
            "adagrad" => Self::Adagrad,
            "rmsprop" => Self::RmsProp,
            _ => return None,
        })
    }
}

/// An optimizer kind and its learning rate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OptimizerSpec {
    /// Which optimizer.
    pub kind: OptimizerKind,
    /// The (base) learning rate.
    pub lr: f32,
}

impl OptimizerSpec {
    /// Builds the optimizer.
    ///
    /// # Errors
    /// An invalid learning rate.
    pub fn build(&self) -> Result<Box<dyn Optimizer>> {
        let lr = self.lr;
        Ok(match self.kind {
            OptimizerKind::Adam => Box::new(Adam::new(lr)?),
            OptimizerKind::AdamW => Box::new(AdamW::new(lr)?),
            OptimizerKind::Sgd => Box::new(Sgd::new(lr)?),
            OptimizerKind::Momentum => Box::new(Momentum::new(lr, 0.9)?),
            OptimizerKind::Adagrad => Box::new(Adagrad::new(lr)?),
            OptimizerKind::RmsProp => Box::new(RmsProp::new(lr)?),
        })
    }
}
