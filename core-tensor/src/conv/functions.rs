//! The convolution as two plain calls, each through a plan built for it.

use ndarray::{Array1, Array4, ArrayView1, ArrayView4};

use crate::conv::{Conv2dParams, Conv2dPlan};
use crate::error::Result;

/// 2-D convolution (PyTorch's, a cross-correlation):
/// `y[n, f, oh, ow] = b[f] + Σ_{c,i,j} w[f, c, i, j] · xp[n, g·C/G + c, oh·SH + i·DH, ow·SW + j·DW]`
/// where `xp` is `x` zero-padded by `params.padding` and `g = f / (F/G)` is the filter's group.
///
/// PyTorch equivalent: `torch.nn.functional.conv2d(x, w, b, stride, padding, dilation, groups)`.
/// A layer that convolves every step builds a [`Conv2dPlan`] once instead.
///
/// # Shapes
/// - `x`: (N, C, H, W)
/// - `w`: (F, C/G, KH, KW)
/// - `b`: (F), optional
/// - returns (N, F, OH, OW) with `OH = (H + 2·PH - DH·(KH-1) - 1) / SH + 1`, `OW` likewise.
///
/// # Errors
/// Non-4-D inputs, a zero stride, dilation or kernel, groups that do not divide C and F, a weight
/// whose second axis is not C/G, a kernel larger than the padded input, or a bias whose length is
/// not F.
///
/// # Example
/// ```
/// use core_tensor::{Conv2dParams, conv2d};
/// use ndarray::{Array1, Array4};
/// let x = Array4::<f32>::ones((1, 1, 3, 3));
/// let w = Array4::<f32>::ones((2, 1, 2, 2));
/// let b = Array1::from(vec![0.0, 1.0]);
/// let y = conv2d(x.view(), w.view(), Some(b.view()), &Conv2dParams::new()).unwrap();
/// assert_eq!(y.shape(), &[1, 2, 2, 2]);
/// assert_eq!((y[[0, 0, 0, 0]], y[[0, 1, 1, 1]]), (4.0, 5.0));
/// ```
pub fn conv2d(
    x: ArrayView4<'_, f32>,
    w: ArrayView4<'_, f32>,
    b: Option<ArrayView1<'_, f32>>,
    params: &Conv2dParams,
) -> Result<Array4<f32>> {
    Conv2dPlan::new(x.shape(), w.shape(), *params)?.forward(x, w, b)
}

/// The gradients of a convolution with respect to its input, weight and bias.
#[derive(Debug, Clone, PartialEq)]
pub struct Conv2dGrads {
    /// dL/dx, (N, C, H, W).
    pub dx: Array4<f32>,
    /// dL/dw, (F, C/G, KH, KW).
    pub dw: Array4<f32>,
    /// dL/db, (F).
    pub db: Array1<f32>,
}

/// dL/dx, dL/dw and dL/db of `conv2d(x, w, b, params)` for the upstream gradient `dy`.
///
/// PyTorch equivalent: `torch.autograd.grad(conv2d(x, w, b, ...), (x, w, b), dy)`.
///
/// # Shapes
/// - `x`: (N, C, H, W), `w`: (F, C/G, KH, KW), `dy`: (N, F, OH, OW)
///
/// # Errors
/// As [`conv2d`], or a `dy` whose shape is not the output's.
///
/// ```
/// use core_tensor::{Conv2dParams, conv2d_backward};
/// use ndarray::Array4;
/// let x = Array4::<f32>::ones((2, 3, 6, 6));
/// let w = Array4::<f32>::ones((4, 3, 3, 3));
/// let dy = Array4::<f32>::ones((2, 4, 3, 3));
/// let params = Conv2dParams::new().stride([2, 2]).padding([1, 1]);
/// let g = conv2d_backward(x.view(), w.view(), dy.view(), &params).unwrap();
/// assert_eq!((g.dx.shape(), g.dw.shape(), g.db.shape()), (&[2, 3, 6, 6][..], &[4, 3, 3, 3][..], &[4][..]));
/// ```
pub fn conv2d_backward(
    x: ArrayView4<'_, f32>,
    w: ArrayView4<'_, f32>,
    dy: ArrayView4<'_, f32>,
    params: &Conv2dParams,
) -> Result<Conv2dGrads> {
    let mut plan = Conv2dPlan::new(x.shape(), w.shape(), *params)?;
    plan.keep_input(x)?;
    plan.backward(dy, w)
}
