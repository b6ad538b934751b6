//! Adagrad.

use crate::error::{Result, check, check_eps, check_lr, check_weight_decay};
use crate::optimizer::{Optimizer, Slots};

/// Adagrad: per-element learning rates shrinking with the accumulated squared gradient.
///
/// Update at step t, with `g = ∇ + λ·θ`:
/// `s ← s + g²`, `θ ← θ - lr / (1 + (t - 1)·δ) · g / (√s + ε)`.
///
/// PyTorch equivalent: `torch.optim.Adagrad(params, lr, lr_decay=δ, weight_decay=λ, eps=ε)`
/// (defaults lr 0.01, δ 0, λ 0, ε 1e-10).
#[derive(Debug, Clone)]
pub struct Adagrad {
    lr: f32,
    lr_decay: f32,
    weight_decay: f32,
    eps: f32,
    slots: Slots,
}

impl Adagrad {
    /// Adagrad with learning rate `lr` and PyTorch's other defaults.
    ///
    /// # Errors
    /// A negative or non-finite `lr`.
    pub fn new(lr: f32) -> Result<Self> {
        check_lr("Adagrad", lr)?;
        Ok(Self {
            lr,
            lr_decay: 0.0,
            weight_decay: 0.0,
            eps: 1e-10,
            slots: Slots::default(),
        })
    }

    /// Sets the learning-rate decay δ.
    ///
    /// # Errors
    /// A negative or non-finite value.
    pub fn with_lr_decay(mut self, lr_decay: f32) -> Result<Self> {
        check(
            "Adagrad",
            "lr_decay",
            lr_decay,
            "a finite number >= 0",
            lr_decay.is_finite() && lr_decay >= 0.0,
        )?;
        self.lr_decay = lr_decay;
        Ok(self)
    }

    /// Sets the L2 weight decay λ.
    ///
    /// # Errors
    /// A negative or non-finite value.
    pub fn with_weight_decay(mut self, weight_decay: f32) -> Result<Self> {
        check_weight_decay("Adagrad", weight_decay)?;
        self.weight_decay = weight_decay;
        Ok(self)
    }

    /// Sets ε.
    ///
    /// # Errors
    /// A negative or non-finite value.
    pub fn with_eps(mut self, eps: f32) -> Result<Self> {
        check_eps("Adagrad", eps)?;
        self.eps = eps;
        Ok(self)
    }
}

impl Optimizer for Adagrad {
    fn name(&self) -> &'static str {
        "Adagrad"
    }
    fn buffer_names(&self) -> &'static [&'static str] {
        &["sum"]
    }
    fn lr(&self) -> f32 {
        self.lr
    }
    fn set_lr(&mut self, lr: f32) -> Result<()> {
        check_lr("Adagrad", lr)?;
        self.lr = lr;
        Ok(())
    }
    fn update(&self, value: &mut [f32], grad: &[f32], step: u64, buffers: &mut [Vec<f32>]) {
        let [sum] = buffers else { return };
        let clr =
            (f64::from(self.lr) / (1.0 + (step - 1) as f64 * f64::from(self.lr_decay))) as f32;
        for ((v, &g), s) in value.iter_mut().zip(grad).zip(sum.iter_mut()) {
            let g = g + self.weight_decay * *v;
            *s += g * g;
            *v -= clr * g / (s.sqrt() + self.eps);
        }
    }
    fn slots(&self) -> &Slots {
        &self.slots
    }
    fn slots_mut(&mut self) -> &mut Slots {
        &mut self.slots
    }
}
