//! dL/dx of a convolution by the stride-dilated convolution.
//!
//! With `y = conv2d(x, w, stride, padding)` and upstream gradient `dy = dL/dy`,
//! `dx[n, c, h, w] = Σ_{f, oh, ow, i, j : oh·SH + i - PH = h, ow·SW + j - PW = w} dy[n, f, oh, ow] · w[f, c, i, j]`.
//! That sum is itself a stride-1 convolution: spread `dy` out by inserting `SH-1` (`SW-1`) zeros
//! between its rows (columns), pad it by `KH-1-PH` (`KW-1-PW`) on each side (cropping where that is
//! negative, and adding the rows and columns the forward pass dropped when the stride does not
//! divide `H + 2·PH - KH`), and convolve it with the kernel rotated by 180° and with its in/out
//! channels swapped. [`dilate_pad`] is the first step and [`rotate_kernel`] the second.

use ndarray::{Array4, ArrayView4, Axis};

use crate::conv::forward::conv2d;
use crate::error::Result;
use crate::geometry::Geometry;

/// Spreads `dy` (N, F, OH, OW) into the (N, F, H+KH-1, W+KW-1) grid that a stride-1 convolution with
/// a KH x KW kernel maps back onto the input's (H, W).
///
/// `dy[n, f, oh, ow]` lands at row `oh·SH + KH-1-PH` and column `ow·SW + KW-1-PW`; everything else is
/// zero. Positions outside the grid (when `PH > KH-1`) are cropped: they belonged to windows that lay
/// wholly in the padding and contribute nothing to dx.
///
/// # Shapes
/// - `dy`: (N, F, OH, OW), the output of a convolution of an (N, C, H, W) input with `kernel`,
///   `stride` and `padding`
/// - `input`: (H, W)
/// - returns (N, F, H + KH - 1, W + KW - 1)
///
/// # Errors
/// A zero stride or kernel, a kernel larger than the padded input, or a `dy` whose (OH, OW) is not
/// the one that geometry gives.
///
/// # Example
/// The seed report's picture: a 2x2 gradient, stride 2, 3x3 kernel, 5x5 input, no padding, gives a
/// 7x7 grid with the four values at rows and columns 2 and 4.
/// ```
/// use ndarray::Array4;
/// let dy = Array4::from_shape_vec((1, 1, 2, 2), vec![1.0_f32, 2.0, 3.0, 4.0]).unwrap();
/// let d = core_tensor::dilate_pad(dy.view(), [5, 5], [3, 3], [2, 2], [0, 0]).unwrap();
/// assert_eq!(d.shape(), &[1, 1, 7, 7]);
/// assert_eq!((d[[0, 0, 2, 2]], d[[0, 0, 2, 4]], d[[0, 0, 4, 2]], d[[0, 0, 4, 4]]), (1.0, 2.0, 3.0, 4.0));
/// assert_eq!(d.sum(), 10.0);
/// ```
pub fn dilate_pad(
    dy: ArrayView4<'_, f32>,
    input: [usize; 2],
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
) -> Result<Array4<f32>> {
    const OP: &str = "dilate_pad";
    let (n, f, _, _) = dy.dim();
    let g = Geometry::windows(OP, &[n, f, input[0], input[1]], kernel, stride, padding)?;
    Geometry::expect_shape(OP, "dy", &g.output_shape(), dy.shape())?;
    let [kh, kw] = kernel;
    let [gh, gw] = [input[0] + kh - 1, input[1] + kw - 1];
    let mut out = Array4::<f32>::zeros((n, f, gh, gw));
    // Row oh lands at oh·SH + KH-1-PH; keep the rows that land inside [0, gh).
    let place = |o: usize, s: usize, k: usize, p: usize, len: usize| {
        (o * s + k - 1).checked_sub(p).filter(|&r| r < len)
    };
    for (mut dst, src) in out.outer_iter_mut().zip(dy.outer_iter()) {
        for (mut dst, src) in dst.outer_iter_mut().zip(src.outer_iter()) {
            for (oh, src_row) in src.outer_iter().enumerate() {
                let Some(r) = place(oh, stride[0], kh, padding[0], gh) else { continue };
                for (ow, v) in src_row.iter().enumerate() {
                    if let Some(c) = place(ow, stride[1], kw, padding[1], gw) {
                        dst[[r, c]] = *v;
                    }
                }
            }
        }
    }
    Ok(out)
}

/// The kernel (F, C, KH, KW) rotated by 180° in (KH, KW) with its channel axes swapped:
/// (C, F, KH, KW) with `out[c, f, i, j] = w[f, c, KH-1-i, KW-1-j]`.
///
/// ```
/// use ndarray::Array4;
/// let w = Array4::from_shape_vec((1, 2, 1, 2), vec![1.0_f32, 2.0, 3.0, 4.0]).unwrap();
/// let r = core_tensor::rotate_kernel(w.view());
/// assert_eq!(r.shape(), &[2, 1, 1, 2]);
/// assert_eq!(r.iter().copied().collect::<Vec<_>>(), vec![2.0, 1.0, 4.0, 3.0]);
/// ```
pub fn rotate_kernel(w: ArrayView4<'_, f32>) -> Array4<f32> {
    let mut r = w.permuted_axes([1, 0, 2, 3]);
    r.invert_axis(Axis(2));
    r.invert_axis(Axis(3));
    r.as_standard_layout().into_owned()
}

/// dL/dx of `conv2d(x, w, _, stride, padding)` for the upstream gradient `dy`, by the
/// stride-dilated convolution: `conv2d(dilate_pad(dy), rotate_kernel(w), stride 1, padding 0)`.
///
/// PyTorch equivalent: `torch.nn.grad.conv2d_input(x.shape, w, dy, stride, padding)`.
///
/// # Shapes
/// - `dy`: (N, F, OH, OW)
/// - `w`: (F, C, KH, KW)
/// - `input`: (H, W) of the forward input
/// - returns (N, C, H, W)
///
/// # Errors
/// As [`dilate_pad`], or a `w` that is not 4-D or whose F differs from `dy`'s.
///
/// # Example
/// ```
/// use ndarray::Array4;
/// let dy = Array4::<f32>::ones((1, 1, 2, 2));
/// let w = Array4::<f32>::ones((1, 1, 2, 2));
/// let dx = core_tensor::conv2d_input_grad(dy.view(), w.view(), [3, 3], [1, 1], [0, 0]).unwrap();
/// // Each input pixel receives one term per window that covers it.
/// assert_eq!(dx.into_raw_vec_and_offset().0, vec![1.0, 2.0, 1.0, 2.0, 4.0, 2.0, 1.0, 2.0, 1.0]);
/// ```
pub fn conv2d_input_grad(
    dy: ArrayView4<'_, f32>,
    w: ArrayView4<'_, f32>,
    input: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
) -> Result<Array4<f32>> {
    const OP: &str = "conv2d_input_grad";
    let (n, f, _, _) = dy.dim();
    let c = w.shape().get(1).copied().unwrap_or(0);
    let g = Geometry::conv(OP, &[n, c, input[0], input[1]], w.shape(), stride, padding)?;
    Geometry::expect_shape(OP, "dy", &g.output_shape(), dy.shape())?;
    debug_assert_eq!(f, g.out_channels);
    let grid = dilate_pad(dy, input, g.kernel, stride, padding)?;
    let rotated = rotate_kernel(w);
    let dx = conv2d(grid.view(), rotated.view(), None, [1, 1], [0, 0])?;
    debug_assert_eq!(dx.shape(), &g.input_shape());
    Ok(dx)
}
