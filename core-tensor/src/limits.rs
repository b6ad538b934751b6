//! Size limits and checked size arithmetic.
//!
//! Layer configurations can come from files that anyone can write, so every size is checked before
//! anything is allocated from it: a dimension above [`MAX_DIMENSION`], a parameter tensor above
//! [`MAX_PARAMETER_ELEMENTS`], or a product that overflows `usize` is an error, never a wrapped
//! number, a panic or an allocator abort.

use crate::error::{Result, TensorError};

/// The largest value of one size in a layer configuration: channels, features, kernel, stride,
/// padding, and each dimension of a network's input sample (2^24).
pub const MAX_DIMENSION: usize = 1 << 24;

/// The most elements one parameter tensor may hold: 2^31, 8 GiB of `f32`.
pub const MAX_PARAMETER_ELEMENTS: usize = 1 << 31;

/// The most elements one buffer a kernel works in may hold (an output, a padded input, a window
/// matrix): 2^32, 16 GiB of `f32`. A geometry that needs more is refused before anything is
/// allocated, instead of aborting in the allocator.
pub const MAX_WORKING_ELEMENTS: usize = 1 << 32;

/// The number of elements of `shape`, or `None` when the product overflows `usize`.
///
/// ```
/// use core_tensor::limits::element_count;
/// assert_eq!(element_count(&[6, 1, 5, 5]), Some(150));
/// assert_eq!(element_count(&[]), Some(1));
/// assert_eq!(element_count(&[1 << 40, 1 << 40]), None);
/// ```
pub fn element_count(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1_usize, |n, &d| n.checked_mul(d))
}

/// Checks that a configuration value lies in `min..=MAX_DIMENSION`.
///
/// # Errors
/// [`TensorError::InvalidArgument`] naming `op`, `what` and the allowed range.
///
/// ```
/// use core_tensor::limits::check_dimension;
/// assert!(check_dimension("Conv2D", "out_channels", 6, 1).is_ok());
/// assert!(check_dimension("Conv2D", "out_channels", 0, 1).is_err());
/// assert!(check_dimension("Conv2D", "padding", 1 << 62, 0).is_err());
/// ```
pub fn check_dimension(op: &'static str, what: &str, value: usize, min: usize) -> Result<()> {
    if (min..=MAX_DIMENSION).contains(&value) {
        Ok(())
    } else {
        Err(TensorError::InvalidArgument {
            op,
            message: format!("{what} must be in {min}..={MAX_DIMENSION}, got {value}"),
        })
    }
}

/// The element count of a parameter tensor of `shape`, checked against
/// [`MAX_PARAMETER_ELEMENTS`].
///
/// # Errors
/// [`TensorError::TooLarge`] when the count overflows or exceeds the limit.
pub fn parameter_elements(op: &'static str, shape: &[usize]) -> Result<usize> {
    element_count(shape)
        .filter(|&n| n <= MAX_PARAMETER_ELEMENTS)
        .ok_or_else(|| TensorError::TooLarge {
            op,
            what: "parameter",
            shape: shape.to_vec(),
            limit: MAX_PARAMETER_ELEMENTS,
        })
}

/// The element count of a working tensor of `shape` (an output, a padded input, a window matrix).
///
/// # Errors
/// [`TensorError::TooLarge`] when the count is above [`MAX_WORKING_ELEMENTS`] or overflows.
pub(crate) fn working_elements(
    op: &'static str,
    what: &'static str,
    shape: &[usize],
) -> Result<usize> {
    element_count(shape)
        .filter(|&n| n <= MAX_WORKING_ELEMENTS)
        .ok_or_else(|| TensorError::TooLarge {
            op,
            what,
            shape: shape.to_vec(),
            limit: MAX_WORKING_ELEMENTS,
        })
}

/// A vector of `len` values made by `value`, allocated with `try_reserve` so that a size the
/// machine cannot hold is an error instead of an allocator abort.
///
/// # Errors
/// [`TensorError::OutOfMemory`].
pub(crate) fn try_filled_vec(
    op: &'static str,
    len: usize,
    value: impl FnMut() -> f32,
) -> Result<Vec<f32>> {
    let mut v = Vec::new();
    v.try_reserve_exact(len)
        .map_err(|_| TensorError::OutOfMemory { op, elements: len })?;
    v.extend(std::iter::repeat_with(value).take(len));
    Ok(v)
}
