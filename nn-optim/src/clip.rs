//! Gradient clipping.

use nn_layers::Param;

use crate::error::{Result, check};

/// Scales all gradients together so that their global L2 norm is at most `max_norm`; returns the
/// norm before clipping.
///
/// `total = √(Σ g²)` over every element of every gradient (summed in f64, in parameter order);
/// when `total > max_norm` every gradient is multiplied by `max_norm / (total + 1e-6)`.
///
/// PyTorch equivalent: `torch.nn.utils.clip_grad_norm_(params, max_norm)`.
///
/// # Errors
/// A negative or NaN `max_norm`.
///
/// ```
/// use nn_layers::Param;
/// let mut p = Param::new(ndarray::arr1(&[0.0_f32, 0.0]).into_dyn());
/// p.grad = ndarray::arr1(&[3.0_f32, 4.0]).into_dyn();
/// let norm = nn_optim::clip_grad_norm([&mut p], 1.0).unwrap();
/// assert_eq!(norm, 5.0);
/// assert!((p.grad[[0]] - 0.6).abs() < 1e-6);
/// ```
pub fn clip_grad_norm<'a>(
    params: impl IntoIterator<Item = &'a mut Param>,
    max_norm: f32,
) -> Result<f32> {
    check(
        "clip_grad_norm",
        "max_norm",
        max_norm,
        "a number >= 0",
        max_norm >= 0.0,
    )?;
    let mut params: Vec<&mut Param> = params.into_iter().collect();
    let total = params
        .iter()
        .flat_map(|p| p.grad.iter())
        .map(|&g| f64::from(g) * f64::from(g))
        .sum::<f64>()
        .sqrt();
    let coef = f64::from(max_norm) / (total + 1e-6);
    if coef < 1.0 {
        let coef = coef as f32;
        for p in &mut params {
            p.grad.mapv_inplace(|g| g * coef);
        }
    }
    Ok(total as f32)
}

/// Clamps every gradient element to `[-clip_value, clip_value]`.
///
/// PyTorch equivalent: `torch.nn.utils.clip_grad_value_(params, clip_value)`.
///
/// # Errors
/// A negative or NaN `clip_value`.
pub fn clip_grad_value<'a>(
    params: impl IntoIterator<Item = &'a mut Param>,
    clip_value: f32,
) -> Result<()> {
    check(
        "clip_grad_value",
        "clip_value",
        clip_value,
        "a number >= 0",
        clip_value >= 0.0,
    )?;
    for p in params {
        p.grad.mapv_inplace(|g| g.clamp(-clip_value, clip_value));
    }
    Ok(())
}
