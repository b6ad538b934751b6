//! Parameter initialisers, drawn from a seeded random number generator.
//!
//! The generator is [`SeededRng`] (ChaCha8, see [`crate::random`]): portable and stable across
//! platforms and versions, so a seed gives the same network everywhere. The distributions are
//! PyTorch's:
//!
//! | initialiser | distribution | PyTorch |
//! |---|---|---|
//! | [`default_weight`] | U(-1/√fan_in, 1/√fan_in) | `nn.Conv2d` / `nn.Linear` default (`kaiming_uniform_(a=√5)`) |
//! | [`default_bias`] | U(-1/√fan_in, 1/√fan_in) | `nn.Conv2d` / `nn.Linear` default bias |
//! | [`kaiming_uniform`] | U(-b, b), b = √(2 / (1 + a²)) · √(3 / fan_in) | `kaiming_uniform_(w, a)` |
//! | [`xavier_uniform`] | U(-b, b), b = gain · √(6 / (fan_in + fan_out)) | `xavier_uniform_(w, gain)` |
//! | [`xavier_normal`] | N(0, σ²), σ = gain · √(2 / (fan_in + fan_out)) | `xavier_normal_(w, gain)` |
//!
//! Fans follow PyTorch's `_calculate_fan_in_and_fan_out`: for a weight (out, in, k...) the fan-in is
//! `in · Πk` and the fan-out `out · Πk`.
//!
//! ```
//! use core_tensor::{init, random};
//! let mut rng = random::seeded_rng(42);
//! let w = init::default_weight(&[6, 1, 5, 5], &mut rng).unwrap();
//! assert!(w.iter().all(|v| v.abs() <= 0.2)); // 1/√25
//! let again = init::default_weight(&[6, 1, 5, 5], &mut random::seeded_rng(42)).unwrap();
//! assert_eq!(w, again);
//! ```

use ndarray::{ArrayD, IxDyn};
use ndarray_rand::rand_distr::{Distribution, Normal, Uniform};

use crate::error::{Result, TensorError};
use crate::limits::{parameter_elements, try_filled_vec};

use crate::random::SeededRng;

/// (fan_in, fan_out) of a weight shape, as PyTorch computes them.
///
/// # Errors
/// A shape with fewer than 2 dimensions.
///
/// ```
/// assert_eq!(core_tensor::init::fans(&[16, 6, 5, 5]).unwrap(), (150, 400));
/// assert_eq!(core_tensor::init::fans(&[84, 120]).unwrap(), (120, 84));
/// ```
pub fn fans(shape: &[usize]) -> Result<(usize, usize)> {
    match shape {
        [out, inp, kernel @ ..] => {
            let fan =
                |d: usize| crate::limits::element_count(kernel).and_then(|r| r.checked_mul(d));
            match (fan(*inp), fan(*out)) {
                (Some(fan_in), Some(fan_out)) => Ok((fan_in, fan_out)),
                _ => Err(TensorError::InvalidArgument {
                    op: "init::fans",
                    message: format!("the fans of a weight of shape {shape:?} overflow"),
                }),
            }
        }
        _ => Err(TensorError::InvalidArgument {
            op: "init::fans",
            message: format!("a weight needs at least 2 dimensions (out, in, ...), got {shape:?}"),
        }),
    }
}

fn positive_fan(op: &'static str, fan: usize) -> Result<f32> {
    if fan == 0 {
        return Err(TensorError::InvalidArgument {
            op,
            message: "fan-in/fan-out is zero: the weight has an empty dimension".into(),
        });
    }
    Ok(fan as f32)
}

fn uniform(
    op: &'static str,
    shape: &[usize],
    bound: f32,
    rng: &mut SeededRng,
) -> Result<ArrayD<f32>> {
    let dist = Uniform::new(-bound, bound).map_err(|e| TensorError::InvalidArgument {
        op,
        message: format!("bound {bound} gives no uniform range: {e}"),
    })?;
    sample(op, shape, dist, rng)
}

/// PyTorch's default weight of `nn.Conv2d` and `nn.Linear`: U(-1/√fan_in, 1/√fan_in).
///
/// # Errors
/// A shape with fewer than 2 dimensions or an empty one.
pub fn default_weight(shape: &[usize], rng: &mut SeededRng) -> Result<ArrayD<f32>> {
    kaiming_uniform(shape, 5.0_f32.sqrt(), rng)
}

/// PyTorch's default bias of `nn.Conv2d` and `nn.Linear` (`len` = out features), with the
/// weight's `fan_in`: U(-1/√fan_in, 1/√fan_in).
///
/// # Errors
/// A zero `fan_in`.
pub fn default_bias(len: usize, fan_in: usize, rng: &mut SeededRng) -> Result<ArrayD<f32>> {
    const OP: &str = "init::default_bias";
    let bound = 1.0 / positive_fan(OP, fan_in)?.sqrt();
    uniform(OP, &[len], bound, rng)
}

/// Kaiming (He) uniform with negative slope `a` (0 for ReLU): U(-b, b) with
/// `b = √(2 / (1 + a²)) · √(3 / fan_in)`.
///
/// # Errors
/// A shape with fewer than 2 dimensions or an empty one, or a non-finite `a`.
pub fn kaiming_uniform(shape: &[usize], a: f32, rng: &mut SeededRng) -> Result<ArrayD<f32>> {
    const OP: &str = "init::kaiming_uniform";
    if !a.is_finite() {
        return Err(TensorError::InvalidArgument {
            op: OP,
            message: format!("negative slope must be finite, got {a}"),
        });
    }
    let (fan_in, _) = fans(shape)?;
    let gain = (2.0 / (1.0 + a * a)).sqrt();
    let bound = gain * (3.0 / positive_fan(OP, fan_in)?).sqrt();
    uniform(OP, shape, bound, rng)
}

/// Xavier (Glorot) uniform: U(-b, b) with `b = gain · √(6 / (fan_in + fan_out))`.
///
/// # Errors
/// A shape with fewer than 2 dimensions or an empty one, or a gain that is not positive and finite.
pub fn xavier_uniform(shape: &[usize], gain: f32, rng: &mut SeededRng) -> Result<ArrayD<f32>> {
    const OP: &str = "init::xavier_uniform";
    let (fan_in, fan_out) = fans(shape)?;
    let bound =
        checked_gain(OP, gain)? * (6.0 / positive_fan(OP, fan_in.saturating_add(fan_out))?).sqrt();
    uniform(OP, shape, bound, rng)
}

/// Xavier (Glorot) normal: N(0, σ²) with `σ = gain · √(2 / (fan_in + fan_out))`.
///
/// # Errors
/// A shape with fewer than 2 dimensions or an empty one, or a gain that is not positive and finite.
pub fn xavier_normal(shape: &[usize], gain: f32, rng: &mut SeededRng) -> Result<ArrayD<f32>> {
    const OP: &str = "init::xavier_normal";
    let (fan_in, fan_out) = fans(shape)?;
    let std =
        checked_gain(OP, gain)? * (2.0 / positive_fan(OP, fan_in.saturating_add(fan_out))?).sqrt();
    let dist = Normal::new(0.0, std).map_err(|e| TensorError::InvalidArgument {
        op: OP,
        message: format!("standard deviation {std} is invalid: {e}"),
    })?;
    sample(OP, shape, dist, rng)
}

fn checked_gain(op: &'static str, gain: f32) -> Result<f32> {
    if gain.is_finite() && gain > 0.0 {
        Ok(gain)
    } else {
        Err(TensorError::InvalidArgument {
            op,
            message: format!("gain must be positive and finite, got {gain}"),
        })
    }
}

/// A tensor of `shape` drawn from `dist` in row-major order (the order `ndarray-rand` draws in),
/// with its size checked and its memory reserved before any draw.
fn sample(
    op: &'static str,
    shape: &[usize],
    dist: impl Distribution<f32>,
    rng: &mut SeededRng,
) -> Result<ArrayD<f32>> {
    let len = parameter_elements(op, shape)?;
    let values = try_filled_vec(op, len, || dist.sample(rng))?;
    ArrayD::from_shape_vec(IxDyn(shape), values).map_err(|e| TensorError::InvalidArgument {
        op,
        message: format!("shape {shape:?}: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::seeded_rng;

    fn moments(a: &ArrayD<f32>) -> (f64, f64, f32) {
        let n = a.len() as f64;
        let mean = a.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
        let var = a
            .iter()
            .map(|&v| (f64::from(v) - mean).powi(2))
            .sum::<f64>()
            / n;
        let max = a.iter().fold(0.0_f32, |m, v| m.max(v.abs()));
        (mean, var, max)
    }

    #[test]
    fn bounds_and_variances_follow_pytorch() {
        let mut rng = seeded_rng(7);
        // Default conv weight: bound 1/sqrt(150), variance bound^2 / 3.
        let w = default_weight(&[64, 6, 5, 5], &mut rng).unwrap();
        let b = 1.0 / 150_f64.sqrt();
        let (mean, var, max) = moments(&w);
        assert!(f64::from(max) <= b && f64::from(max) > 0.95 * b);
        assert!(mean.abs() < 0.01 * b * 10.0);
        assert!((var / (b * b / 3.0) - 1.0).abs() < 0.05, "{var}");
        // Kaiming uniform for ReLU: bound sqrt(6 / fan_in).
        let k = kaiming_uniform(&[200, 100], 0.0, &mut rng).unwrap();
        let (_, _, max) = moments(&k);
        assert!(f64::from(max) <= (6.0_f64 / 100.0).sqrt());
        // Xavier normal: std sqrt(2 / (fan_in + fan_out)).
        let x = xavier_normal(&[300, 200], 1.0, &mut rng).unwrap();
        let (_, var, _) = moments(&x);
        assert!((var / (2.0 / 500.0) - 1.0).abs() < 0.05, "{var}");
        let u = xavier_uniform(&[300, 200], 2.0, &mut rng).unwrap();
        let (_, _, max) = moments(&u);
        assert!(f64::from(max) <= 2.0 * (6.0_f64 / 500.0).sqrt());
    }

    #[test]
    fn same_seed_same_values_other_seed_other_values() {
        let a = default_bias(10, 25, &mut seeded_rng(1)).unwrap();
        let b = default_bias(10, 25, &mut seeded_rng(1)).unwrap();
        let c = default_bias(10, 25, &mut seeded_rng(2)).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn bad_arguments_are_errors() {
        let mut rng = seeded_rng(0);
        assert!(default_weight(&[5], &mut rng).is_err());
        assert!(default_weight(&[5, 0, 3, 3], &mut rng).is_err());
        assert!(default_bias(3, 0, &mut rng).is_err());
        assert!(xavier_uniform(&[3, 3], -1.0, &mut rng).is_err());
        assert!(kaiming_uniform(&[3, 3], f32::NAN, &mut rng).is_err());
    }
}
