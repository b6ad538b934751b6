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
    /// Every kind with its name on the command line.
    pub const NAMED: [(&'static str, Self); 6] = [
        ("adam", Self::Adam),
        ("adamw", Self::AdamW),
        ("sgd", Self::Sgd),
        ("momentum", Self::Momentum),
        ("adagrad", Self::Adagrad),
        ("rmsprop", Self::RmsProp),
    ];

    /// The kind named `name` (`adam`, `adamw`, `sgd`, `momentum`, `adagrad`, `rmsprop`).
    ///
    /// ```
    /// use nn_train::OptimizerKind;
    /// assert_eq!(OptimizerKind::from_name("adamw"), Some(OptimizerKind::AdamW));
    /// assert_eq!(OptimizerKind::AdamW.name(), "adamw");
    /// ```
    pub fn from_name(name: &str) -> Option<Self> {
        Self::NAMED
            .iter()
            .find(|(n, _)| *n == name)
            .map(|&(_, kind)| kind)
    }

    /// The kind's name, as [`OptimizerKind::from_name`] takes it.
    pub fn name(self) -> &'static str {
        Self::NAMED
            .iter()
            .find(|(_, k)| *k == self)
            .map_or("adam", |&(n, _)| n)
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
        self.build_with_weight_decay(None)
    }

    /// Builds the optimizer with weight decay `weight_decay` (L2 added to the gradient, or
    /// decoupled for AdamW, as in PyTorch), or the kind's default (0; AdamW's 0.01) for `None`.
    ///
    /// # Errors
    /// An invalid learning rate or weight decay (negative or not finite).
    pub fn build_with_weight_decay(&self, weight_decay: Option<f32>) -> Result<Box<dyn Optimizer>> {
        let lr = self.lr;
        let Some(wd) = weight_decay else {
            return Ok(match self.kind {
                OptimizerKind::Adam => Box::new(Adam::new(lr)?),
                OptimizerKind::AdamW => Box::new(AdamW::new(lr)?),
                OptimizerKind::Sgd => Box::new(Sgd::new(lr)?),
                OptimizerKind::Momentum => Box::new(Momentum::new(lr, 0.9)?),
                OptimizerKind::Adagrad => Box::new(Adagrad::new(lr)?),
                OptimizerKind::RmsProp => Box::new(RmsProp::new(lr)?),
            });
        };
        Ok(match self.kind {
            OptimizerKind::Adam => Box::new(Adam::new(lr)?.with_weight_decay(wd)?),
            OptimizerKind::AdamW => Box::new(AdamW::new(lr)?.with_weight_decay(wd)?),
            OptimizerKind::Sgd => Box::new(Sgd::new(lr)?.with_weight_decay(wd)?),
            OptimizerKind::Momentum => Box::new(Momentum::new(lr, 0.9)?.with_weight_decay(wd)?),
            OptimizerKind::Adagrad => Box::new(Adagrad::new(lr)?.with_weight_decay(wd)?),
            OptimizerKind::RmsProp => Box::new(RmsProp::new(lr)?.with_weight_decay(wd)?),
        })
    }
}
