//! The optimizer crate's error type.

/// What an optimizer, a schedule or a clipping call rejects.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum OptimError {
    /// A hyperparameter outside its valid range.
    #[error("{optimizer}: {name} = {value} is invalid: {expected}")]
    Hyperparameter {
        /// The optimizer or schedule.
        optimizer: &'static str,
        /// The hyperparameter.
        name: &'static str,
        /// The value given.
        value: f64,
        /// What is allowed.
        expected: &'static str,
    },
    /// A saved state that does not belong to this optimizer or these parameters.
    #[error("{optimizer}: cannot load the saved state: {reason}")]
    State {
        /// The optimizer.
        optimizer: &'static str,
        /// What does not match.
        reason: String,
    },
    /// A gradient whose shape differs from its parameter's.
    #[error(
        "{optimizer}: parameter {param}: gradient shape {grad:?} differs from the value's {value:?}"
    )]
    GradShape {
        /// The optimizer.
        optimizer: &'static str,
        /// The parameter's name.
        param: String,
        /// The value's shape.
        value: Vec<usize>,
        /// The gradient's shape.
        grad: Vec<usize>,
    },
}

/// `Result` with [`OptimError`].
pub type Result<T, E = OptimError> = std::result::Result<T, E>;

/// Checks `value` with `ok`, or names it.
pub(crate) fn check(
    optimizer: &'static str,
    name: &'static str,
    value: f32,
    expected: &'static str,
    ok: bool,
) -> Result<()> {
    if ok && !value.is_nan() {
        Ok(())
    } else {
        Err(OptimError::Hyperparameter {
            optimizer,
            name,
            value: f64::from(value),
            expected,
        })
    }
}

/// A learning rate: finite and not negative.
pub(crate) fn check_lr(optimizer: &'static str, lr: f32) -> Result<()> {
    check(
        optimizer,
        "lr",
        lr,
        "a finite number >= 0",
        lr.is_finite() && lr >= 0.0,
    )
}

/// A weight decay: finite and not negative.
pub(crate) fn check_weight_decay(optimizer: &'static str, wd: f32) -> Result<()> {
    check(
        optimizer,
        "weight_decay",
        wd,
        "a finite number >= 0",
        wd.is_finite() && wd >= 0.0,
    )
}

/// An epsilon: finite and not negative.
pub(crate) fn check_eps(optimizer: &'static str, eps: f32) -> Result<()> {
    check(
        optimizer,
        "eps",
        eps,
        "a finite number >= 0",
        eps.is_finite() && eps >= 0.0,
    )
}

/// A decay rate in [0, 1).
pub(crate) fn check_rate(optimizer: &'static str, name: &'static str, v: f32) -> Result<()> {
    check(
        optimizer,
        name,
        v,
        "a number in [0, 1)",
        (0.0..1.0).contains(&v),
    )
}
