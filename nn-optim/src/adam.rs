//! Adam and AdamW.

use crate::error::{Result, check_eps, check_lr, check_rate, check_weight_decay};
use crate::optimizer::{Optimizer, Slots};

/// The hyperparameters Adam and AdamW share.
#[derive(Debug, Clone, Copy, PartialEq)]
struct AdamRule {
    lr: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    weight_decay: f32,
}

impl AdamRule {
    fn new(name: &'static str, lr: f32, weight_decay: f32) -> Result<Self> {
        check_lr(name, lr)?;
        Ok(Self {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay,
        })
    }

    fn with_betas(mut self, name: &'static str, beta1: f32, beta2: f32) -> Result<Self> {
        check_rate(name, "beta1", beta1)?;
        check_rate(name, "beta2", beta2)?;
        self.beta1 = beta1;
        self.beta2 = beta2;
        Ok(self)
    }

    /// The bias-corrected step, in PyTorch's order of operations; `l2` adds λ·θ to the gradient
    /// (Adam), otherwise the decay was applied to θ before (AdamW).
    fn apply(
        &self,
        value: &mut [f32],
        grad: &[f32],
        step: u64,
        buffers: &mut [Vec<f32>],
        l2: bool,
    ) {
        let [m, v] = buffers else { return };
        let (b1, b2) = (self.beta1, self.beta2);
        let t = i32::try_from(step).unwrap_or(i32::MAX);
        let bias1 = 1.0 - f64::from(b1).powi(t);
        let bias2_sqrt = (1.0 - f64::from(b2).powi(t)).sqrt() as f32;
        let step_size = (f64::from(self.lr) / bias1) as f32;
        debug_assert!(
            grad.len() == value.len() && m.len() == value.len() && v.len() == value.len(),
            "Adam's moments are sized to their parameter"
        );
        // Iterators, not indices: no bounds checks, so the loop vectorises (the same operations
        // per element, so the same bits).
        let moments = m.iter_mut().zip(v.iter_mut());
        for ((p, &g), (m, v)) in value.iter_mut().zip(grad).zip(moments) {
            let g = if l2 { g + self.weight_decay * *p } else { g };
            *m += (1.0 - b1) * (g - *m);
            *v = b2 * *v + (1.0 - b2) * g * g;
            let denom = v.sqrt() / bias2_sqrt + self.eps;
            *p -= step_size * (*m / denom);
        }
    }
}

/// Adam: bias-corrected first and second moment estimates, ε outside the square root, optional
/// L2 weight decay added to the gradient.
///
/// Update at step t, with `g = ∇ + λ·θ`:
/// `m ← β₁·m + (1 - β₁)·g`, `v ← β₂·v + (1 - β₂)·g²`,
/// `θ ← θ - lr / (1 - β₁ᵗ) · m / (√v / √(1 - β₂ᵗ) + ε)`.
///
/// PyTorch equivalent: `torch.optim.Adam(params, lr, betas=(β₁, β₂), eps=ε, weight_decay=λ)`
/// (defaults lr 1e-3, β (0.9, 0.999), ε 1e-8, λ 0).
#[derive(Debug, Clone)]
pub struct Adam {
    rule: AdamRule,
    slots: Slots,
}

impl Adam {
    /// Adam with learning rate `lr` and PyTorch's other defaults.
    ///
    /// # Errors
    /// A negative or non-finite `lr`.
    pub fn new(lr: f32) -> Result<Self> {
        Ok(Self {
            rule: AdamRule::new("Adam", lr, 0.0)?,
            slots: Slots::default(),
        })
    }

    /// Sets (β₁, β₂).
    ///
    /// # Errors
    /// A β outside [0, 1).
    pub fn with_betas(mut self, beta1: f32, beta2: f32) -> Result<Self> {
        self.rule = self.rule.with_betas("Adam", beta1, beta2)?;
        Ok(self)
    }

    /// Sets ε.
    ///
    /// # Errors
    /// A negative or non-finite value.
    pub fn with_eps(mut self, eps: f32) -> Result<Self> {
        check_eps("Adam", eps)?;
        self.rule.eps = eps;
        Ok(self)
    }

    /// Sets the L2 weight decay λ (added to the gradient; see [`AdamW`] for the decoupled kind).
    ///
    /// # Errors
    /// A negative or non-finite value.
    pub fn with_weight_decay(mut self, weight_decay: f32) -> Result<Self> {
        check_weight_decay("Adam", weight_decay)?;
        self.rule.weight_decay = weight_decay;
        Ok(self)
    }
}

impl Optimizer for Adam {
    fn name(&self) -> &'static str {
        "Adam"
    }
    fn buffer_names(&self) -> &'static [&'static str] {
        &["exp_avg", "exp_avg_sq"]
    }
    fn lr(&self) -> f32 {
        self.rule.lr
    }
    fn set_lr(&mut self, lr: f32) -> Result<()> {
        check_lr("Adam", lr)?;
        self.rule.lr = lr;
        Ok(())
    }
    fn update(&self, value: &mut [f32], grad: &[f32], step: u64, buffers: &mut [Vec<f32>]) {
        self.rule.apply(value, grad, step, buffers, true);
    }
    fn slots(&self) -> &Slots {
        &self.slots
    }
    fn slots_mut(&mut self) -> &mut Slots {
        &mut self.slots
    }
}

/// AdamW: Adam with decoupled weight decay.
///
/// Update at step t: `θ ← θ · (1 - lr·λ)`, then Adam's step with the plain gradient.
///
/// PyTorch equivalent: `torch.optim.AdamW(params, lr, betas, eps, weight_decay=λ)` (defaults lr
/// 1e-3, β (0.9, 0.999), ε 1e-8, λ 0.01).
#[derive(Debug, Clone)]
pub struct AdamW {
    rule: AdamRule,
    slots: Slots,
}

impl AdamW {
    /// AdamW with learning rate `lr` and PyTorch's other defaults (λ = 0.01).
    ///
    /// # Errors
    /// A negative or non-finite `lr`.
    pub fn new(lr: f32) -> Result<Self> {
        Ok(Self {
            rule: AdamRule::new("AdamW", lr, 0.01)?,
            slots: Slots::default(),
        })
    }

    /// Sets (β₁, β₂).
    ///
    /// # Errors
    /// A β outside [0, 1).
    pub fn with_betas(mut self, beta1: f32, beta2: f32) -> Result<Self> {
        self.rule = self.rule.with_betas("AdamW", beta1, beta2)?;
        Ok(self)
    }

    /// Sets ε.
    ///
    /// # Errors
    /// A negative or non-finite value.
    pub fn with_eps(mut self, eps: f32) -> Result<Self> {
        check_eps("AdamW", eps)?;
        self.rule.eps = eps;
        Ok(self)
    }

    /// Sets the decoupled weight decay λ.
    ///
    /// # Errors
    /// A negative or non-finite value.
    pub fn with_weight_decay(mut self, weight_decay: f32) -> Result<Self> {
        check_weight_decay("AdamW", weight_decay)?;
        self.rule.weight_decay = weight_decay;
        Ok(self)
    }
}

impl Optimizer for AdamW {
    fn name(&self) -> &'static str {
        "AdamW"
    }
    fn buffer_names(&self) -> &'static [&'static str] {
        &["exp_avg", "exp_avg_sq"]
    }
    fn lr(&self) -> f32 {
        self.rule.lr
    }
    fn set_lr(&mut self, lr: f32) -> Result<()> {
        check_lr("AdamW", lr)?;
        self.rule.lr = lr;
        Ok(())
    }
    fn update(&self, value: &mut [f32], grad: &[f32], step: u64, buffers: &mut [Vec<f32>]) {
        let decay = 1.0 - self.rule.lr * self.rule.weight_decay;
        for p in value.iter_mut() {
            *p *= decay;
        }
        self.rule.apply(value, grad, step, buffers, false);
    }
    fn slots(&self) -> &Slots {
        &self.slots
    }
    fn slots_mut(&mut self) -> &mut Slots {
        &mut self.slots
    }
}
