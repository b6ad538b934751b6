//! All three gradients of a convolution at once.

use ndarray::{Array1, Array4, ArrayView4};

use crate::conv::input_grad::conv2d_input_grad;
use crate::conv::weight_grad::conv2d_param_grads;
use crate::error::Result;

/// The gradients of a convolution with respect to its input, weight and bias.
#[derive(Debug, Clone, PartialEq)]
pub struct Conv2dGrads {
    /// dL/dx, (N, C, H, W).
    pub dx: Array4<f32>,
    /// dL/dw, (F, C, KH, KW).
    pub dw: Array4<f32>,
    /// dL/db, (F).
    pub db: Array1<f32>,
}

/// dL/dx, dL/dw and dL/db of `conv2d(x, w, b, stride, padding)` for the upstream gradient `dy`.
///
/// # Shapes
/// - `x`: (N, C, H, W), `w`: (F, C, KH, KW), `dy`: (N, F, OH, OW)
///
/// # Errors
/// As [`conv2d_input_grad`] and [`conv2d_param_grads`].
///
/// ```
/// use ndarray::Array4;
/// let x = Array4::<f32>::ones((2, 3, 6, 6));
/// let w = Array4::<f32>::ones((4, 3, 3, 3));
/// let dy = Array4::<f32>::ones((2, 4, 3, 3));
/// let g = core_tensor::conv2d_backward(x.view(), w.view(), dy.view(), [2, 2], [1, 1]).unwrap();
/// assert_eq!((g.dx.shape(), g.dw.shape(), g.db.shape()), (&[2, 3, 6, 6][..], &[4, 3, 3, 3][..], &[4][..]));
/// ```
pub fn conv2d_backward(
    x: ArrayView4<'_, f32>,
    w: ArrayView4<'_, f32>,
    dy: ArrayView4<'_, f32>,
    stride: [usize; 2],
    padding: [usize; 2],
) -> Result<Conv2dGrads> {
    let (_, _, h, wd) = x.dim();
    let (_, _, kh, kw) = w.dim();
    let (dw, db) = conv2d_param_grads(x, dy, [kh, kw], stride, padding)?;
    if dw.shape() != w.shape() {
        return Err(crate::TensorError::ChannelMismatch {
            op: "conv2d_backward",
            x: x.shape().to_vec(),
            w: w.shape().to_vec(),
        });
    }
    let dx = conv2d_input_grad(dy, w, [h, wd], stride, padding)?;
    Ok(Conv2dGrads { dx, dw, db })
}
