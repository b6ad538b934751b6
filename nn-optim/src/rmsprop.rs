//! RMSProp.

use crate::error::{Result, check, check_eps, check_lr, check_weight_decay};
use crate::optimizer::{Optimizer, Slots};

/// RMSProp: the gradient divided by a running root mean square of recent gradients.
///
/// Update, with `g = ∇ + λ·θ`: `v ← α·v + (1 - α)·g²`; centred: `ḡ ← α·ḡ + (1 - α)·g` and
/// `d = √(v - ḡ²) + ε`, else `d = √v + ε`; with momentum μ: `b ← μ·b + g / d`, `θ ← θ - lr·b`,
/// else `θ ← θ - lr · g / d`.
///
/// PyTorch equivalent: `torch.optim.RMSprop(params, lr, alpha=α, eps=ε, weight_decay=λ,
/// momentum=μ, centered)` (defaults lr 0.01, α 0.99, ε 1e-8).
#[derive(Debug, Clone)]
pub struct RmsProp {
    lr: f32,
    alpha: f32,
    eps: f32,
    weight_decay: f32,
    momentum: f32,
    centered: bool,
    slots: Slots,
}

impl RmsProp {
    /// RMSProp with learning rate `lr` and PyTorch's other defaults.
    ///
    /// # Errors
    /// A negative or non-finite `lr`.
    pub fn new(lr: f32) -> Result<Self> {
        check_lr("RmsProp", lr)?;
        Ok(Self {
            lr,
            alpha: 0.99,
            eps: 1e-8,
            weight_decay: 0.0,
            momentum: 0.0,
            centered: false,
            slots: Slots::default(),
        })
    }

    /// Sets the smoothing constant α.
    ///
    /// # Errors
    /// α outside [0, 1].
    pub fn with_alpha(mut self, alpha: f32) -> Result<Self> {
        check(
            "RmsProp",
            "alpha",
            alpha,
            "a number in [0, 1]",
            (0.0..=1.0).contains(&alpha),
        )?;
        self.alpha = alpha;
        Ok(self)
    }

    /// Sets ε.
    ///
    /// # Errors
    /// A negative or non-finite value.
    pub fn with_eps(mut self, eps: f32) -> Result<Self> {
        check_eps("RmsProp", eps)?;
        self.eps = eps;
        Ok(self)
    }

    /// Sets the L2 weight decay λ.
    ///
    /// # Errors
    /// A negative or non-finite value.
    pub fn with_weight_decay(mut self, weight_decay: f32) -> Result<Self> {
        check_weight_decay("RmsProp", weight_decay)?;
        self.weight_decay = weight_decay;
        Ok(self)
    }

    /// Sets the momentum μ.
    ///
    /// # Errors
    /// μ outside [0, 1).
    pub fn with_momentum(mut self, momentum: f32) -> Result<Self> {
        check(
            "RmsProp",
            "momentum",
            momentum,
            "a number in [0, 1)",
            (0.0..1.0).contains(&momentum),
        )?;
        self.momentum = momentum;
        Ok(self)
    }

    /// Centres the second moment by the running mean of the gradient.
    pub fn with_centered(mut self, centered: bool) -> Self {
        self.centered = centered;
        self
    }
}

impl Optimizer for RmsProp {
    fn name(&self) -> &'static str {
        "RmsProp"
    }
    fn buffer_names(&self) -> &'static [&'static str] {
        &["square_avg", "grad_avg", "momentum_buffer"]
    }
    fn lr(&self) -> f32 {
        self.lr
    }
    fn set_lr(&mut self, lr: f32) -> Result<()> {
        check_lr("RmsProp", lr)?;
        self.lr = lr;
        Ok(())
    }
    fn update(&self, value: &mut [f32], grad: &[f32], _step: u64, buffers: &mut [Vec<f32>]) {
        let [square_avg, grad_avg, buf] = buffers else {
            return;
        };
        let a = self.alpha;
        for (i, (v, &g)) in value.iter_mut().zip(grad).enumerate() {
            let g = g + self.weight_decay * *v;
            square_avg[i] = a * square_avg[i] + (1.0 - a) * g * g;
            let d = if self.centered {
                grad_avg[i] += (1.0 - a) * (g - grad_avg[i]);
                (square_avg[i] - grad_avg[i] * grad_avg[i]).sqrt() + self.eps
            } else {
                square_avg[i].sqrt() + self.eps
            };
            if self.momentum > 0.0 {
                buf[i] = self.momentum * buf[i] + g / d;
                *v -= self.lr * buf[i];
            } else {
                *v -= self.lr * g / d;
            }
        }
    }
    fn slots(&self) -> &Slots {
        &self.slots
    }
    fn slots_mut(&mut self) -> &mut Slots {
        &mut self.slots
    }
}
