//! Stochastic gradient descent, plain and with momentum.

use crate::error::{Result, check, check_lr, check_weight_decay};
use crate::optimizer::{Optimizer, Slots};

/// Plain SGD with optional L2 weight decay.
///
/// Update, with `g = ∇ + λ·θ`: `θ ← θ - lr · g`.
///
/// PyTorch equivalent: `torch.optim.SGD(params, lr, weight_decay=λ)`.
#[derive(Debug, Clone)]
pub struct Sgd {
    lr: f32,
    weight_decay: f32,
    slots: Slots,
}

impl Sgd {
    /// SGD with learning rate `lr`, no weight decay.
    ///
    /// # Errors
    /// A negative or non-finite `lr`.
    pub fn new(lr: f32) -> Result<Self> {
        check_lr("Sgd", lr)?;
        Ok(Self {
            lr,
            weight_decay: 0.0,
            slots: Slots::default(),
        })
    }

    /// Sets the L2 weight decay λ (added to the gradient).
    ///
    /// # Errors
    /// A negative or non-finite value.
    pub fn with_weight_decay(mut self, weight_decay: f32) -> Result<Self> {
        check_weight_decay("Sgd", weight_decay)?;
        self.weight_decay = weight_decay;
        Ok(self)
    }
}

impl Optimizer for Sgd {
    fn name(&self) -> &'static str {
        "Sgd"
    }
    fn buffer_names(&self) -> &'static [&'static str] {
        &[]
    }
    fn lr(&self) -> f32 {
        self.lr
    }
    fn set_lr(&mut self, lr: f32) -> Result<()> {
        check_lr("Sgd", lr)?;
        self.lr = lr;
        Ok(())
    }
    fn update(&self, value: &mut [f32], grad: &[f32], _step: u64, _buffers: &mut [Vec<f32>]) {
        for (v, &g) in value.iter_mut().zip(grad) {
            let g = g + self.weight_decay * *v;
            *v -= self.lr * g;
        }
    }
    fn slots(&self) -> &Slots {
        &self.slots
    }
    fn slots_mut(&mut self) -> &mut Slots {
        &mut self.slots
    }
}

/// SGD with heavy-ball momentum, dampening and optional Nesterov momentum.
///
/// Update, with `g = ∇ + λ·θ` and buffer `b` (`b = g` at the first step):
/// `b ← μ·b + (1 - τ)·g`; then `θ ← θ - lr · (g + μ·b)` with Nesterov, `θ ← θ - lr · b` without.
///
/// PyTorch equivalent: `torch.optim.SGD(params, lr, momentum=μ, dampening=τ, nesterov, weight_decay=λ)`.
#[derive(Debug, Clone)]
pub struct Momentum {
    lr: f32,
    momentum: f32,
    dampening: f32,
    nesterov: bool,
    weight_decay: f32,
    slots: Slots,
}

impl Momentum {
    /// Momentum SGD with learning rate `lr` and momentum `momentum` (0.9 is usual), no
    /// dampening, no Nesterov, no weight decay.
    ///
    /// # Errors
    /// A negative or non-finite `lr`, a momentum outside [0, 1).
    pub fn new(lr: f32, momentum: f32) -> Result<Self> {
        check_lr("Momentum", lr)?;
        check(
            "Momentum",
            "momentum",
            momentum,
            "a number in [0, 1)",
            (0.0..1.0).contains(&momentum),
        )?;
        Ok(Self {
            lr,
            momentum,
            dampening: 0.0,
            nesterov: false,
            weight_decay: 0.0,
            slots: Slots::default(),
        })
    }

    /// Sets the dampening τ.
    ///
    /// # Errors
    /// τ outside [0, 1], or non-zero with Nesterov.
    pub fn with_dampening(mut self, dampening: f32) -> Result<Self> {
        check(
            "Momentum",
            "dampening",
            dampening,
            "a number in [0, 1] (0 with Nesterov)",
            (0.0..=1.0).contains(&dampening) && !(self.nesterov && dampening != 0.0),
        )?;
        self.dampening = dampening;
        Ok(self)
    }

    /// Turns Nesterov momentum on or off.
    ///
    /// # Errors
    /// Nesterov with a zero momentum or a non-zero dampening (as PyTorch).
    pub fn with_nesterov(mut self, nesterov: bool) -> Result<Self> {
        if nesterov {
            check(
                "Momentum",
                "momentum",
                self.momentum,
                "> 0 for Nesterov",
                self.momentum > 0.0,
            )?;
            check(
                "Momentum",
                "dampening",
                self.dampening,
                "0 for Nesterov",
                self.dampening == 0.0,
            )?;
        }
        self.nesterov = nesterov;
        Ok(self)
    }

    /// Sets the L2 weight decay λ.
    ///
    /// # Errors
    /// A negative or non-finite value.
    pub fn with_weight_decay(mut self, weight_decay: f32) -> Result<Self> {
        check_weight_decay("Momentum", weight_decay)?;
        self.weight_decay = weight_decay;
        Ok(self)
    }
}

impl Optimizer for Momentum {
    fn name(&self) -> &'static str {
        "Momentum"
    }
    fn buffer_names(&self) -> &'static [&'static str] {
        &["momentum_buffer"]
    }
    fn lr(&self) -> f32 {
        self.lr
    }
    fn set_lr(&mut self, lr: f32) -> Result<()> {
        check_lr("Momentum", lr)?;
        self.lr = lr;
        Ok(())
    }
    fn update(&self, value: &mut [f32], grad: &[f32], step: u64, buffers: &mut [Vec<f32>]) {
        let [buf] = buffers else { return };
        for ((v, &g), b) in value.iter_mut().zip(grad).zip(buf.iter_mut()) {
            let g = g + self.weight_decay * *v;
            *b = if step == 1 {
                g
            } else {
                self.momentum * *b + (1.0 - self.dampening) * g
            };
            let d = if self.nesterov {
                g + self.momentum * *b
            } else {
                *b
            };
            *v -= self.lr * d;
        }
    }
    fn slots(&self) -> &Slots {
        &self.slots
    }
    fn slots_mut(&mut self) -> &mut Slots {
        &mut self.slots
    }
}
