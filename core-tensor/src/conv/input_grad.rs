//! dL/dx of a convolution by the stride-dilated convolution.
//!
//! With `y = conv2d(x, w, stride, padding)` and upstream gradient `dy = dL/dy`,
//! `dx[n, c, h, w] = Σ_{f, oh, ow, i, j : oh·SH + i - PH = h, ow·SW + j - PW = w} dy[n, f, oh, ow] · w[f, c, i, j]`.
//! That sum is itself a stride-1 convolution: spread `dy` out by inserting `SH-1` (`SW-1`) zeros
//! between its rows (columns), pad it by `KH-1-PH` (`KW-1-PW`) on each side (cropping where that is
//! negative, and adding the rows and columns the forward pass dropped when the stride does not
//! divide `H + 2·PH - KH`), and convolve it with the kernel rotated by 180° and with its in/out
//! channels swapped. [`dilate_pad`] is the first step and [`rotate_kernel`] the second.
//!
//! Most of the dilated grid is zeros whenever the output is small next to the input: for a 5x5
//! kernel over a 5x5 input a 1x1 `dy` is padded to 9x9, so 24 of every 25 products are with an inserted zero.
//! The same sum without those products is the transposed convolution (col2im): each `dy` element
//! meets the rotated kernel exactly where col2im adds `dy · w` back onto the input window it came
//! from. [`InputGradMethod`] names both; [`conv2d_input_grad`] picks the one with fewer products,
//! [`conv2d_input_grad_with`] takes the caller's choice. Both are checked against the naive
//! reference and PyTorch.

use ndarray::{
    Array4, ArrayView2, ArrayView4, ArrayViewMut2, ArrayViewMut4, Axis, linalg::general_mat_mul, s,
};

use crate::conv::forward::{DIRECT_OUTPUT_PLANE, conv2d, weight_matrix};
use crate::conv::gather_dy;
use crate::error::{Result, TensorError, layout_error};
use crate::geometry::Geometry;
use crate::parallel::for_each_chunk_mut;
use crate::scratch::with_scratch;
use crate::window::{add_columns, contiguous};

/// How [`conv2d_input_grad_with`] computes dL/dx. Both give the same sum (up to the order of
/// floating-point additions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InputGradMethod {
    /// The stride-dilated convolution, literally: [`dilate_pad`] the gradient, then a stride-1
    /// [`conv2d`] with [`rotate_kernel`]. `N·C·H·W·F·KH·KW` multiply-adds, zeros included.
    DilatedConv,
    /// The same sum with the inserted zeros skipped: `dcols = Wᵀ · dY` per chunk of images (one
    /// GEMM), then each column added back onto the input window it belongs to (col2im).
    /// `N·F·OH·OW·C·KH·KW` multiply-adds, as many as the forward pass.
    Col2Im,
}

impl InputGradMethod {
    /// The method with fewer multiply-adds for this geometry; on a tie (stride 1, "same" padding)
    /// col2im, whose GEMM has C·KH·KW rows rather than C (one row at a first layer).
    pub fn fastest_for(g: &Geometry) -> Self {
        let dilated = g.input[0] * g.input[1];
        let direct = g.out_plane();
        if dilated < direct {
            Self::DilatedConv
        } else {
            Self::Col2Im
        }
    }
}

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
                let Some(r) = place(oh, stride[0], kh, padding[0], gh) else {
                    continue;
                };
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

/// dL/dx of `conv2d(x, w, _, stride, padding)` for the upstream gradient `dy`: the stride-dilated
/// convolution `conv2d(dilate_pad(dy), rotate_kernel(w), stride 1, padding 0)`, computed by the
/// [`InputGradMethod`] with fewer multiply-adds for the geometry.
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
    let g = input_geometry(dy, w, input, stride, padding)?;
    input_grad(dy, w, &g, InputGradMethod::fastest_for(&g))
}

/// [`conv2d_input_grad`] by the given method.
///
/// # Errors
/// As [`conv2d_input_grad`].
///
/// ```
/// use core_tensor::{InputGradMethod, conv2d_input_grad_with};
/// use ndarray::Array4;
/// let dy = Array4::<f32>::ones((2, 3, 2, 2));
/// let w = Array4::<f32>::ones((3, 1, 3, 3));
/// let a = conv2d_input_grad_with(InputGradMethod::DilatedConv, dy.view(), w.view(), [5, 5], [2, 2], [0, 0]).unwrap();
/// let b = conv2d_input_grad_with(InputGradMethod::Col2Im, dy.view(), w.view(), [5, 5], [2, 2], [0, 0]).unwrap();
/// assert_eq!(a, b);
/// ```
pub fn conv2d_input_grad_with(
    method: InputGradMethod,
    dy: ArrayView4<'_, f32>,
    w: ArrayView4<'_, f32>,
    input: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
) -> Result<Array4<f32>> {
    let g = input_geometry(dy, w, input, stride, padding)?;
    input_grad(dy, w, &g, method)
}

const OP: &str = "conv2d_input_grad";

fn input_geometry(
    dy: ArrayView4<'_, f32>,
    w: ArrayView4<'_, f32>,
    input: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
) -> Result<Geometry> {
    let n = dy.shape()[0];
    let c = w.shape().get(1).copied().unwrap_or(0);
    let g = Geometry::conv(OP, &[n, c, input[0], input[1]], w.shape(), stride, padding)?;
    Geometry::expect_shape(OP, "dy", &g.output_shape(), dy.shape())?;
    Ok(g)
}

fn input_grad(
    dy: ArrayView4<'_, f32>,
    w: ArrayView4<'_, f32>,
    g: &Geometry,
    method: InputGradMethod,
) -> Result<Array4<f32>> {
    match method {
        InputGradMethod::DilatedConv => {
            let grid = dilate_pad(dy, g.input, g.kernel, g.stride, g.padding)?;
            let rotated = rotate_kernel(w);
            conv2d(grid.view(), rotated.view(), None, [1, 1], [0, 0])
        }
        InputGradMethod::Col2Im => col2im_input_grad(dy, w, g),
    }
}

/// Per chunk of images: `dcols (C·KH·KW x images·P) = Wᵀ · dY`, then col2im into the chunk's dx.
fn col2im_input_grad(
    dy: ArrayView4<'_, f32>,
    w: ArrayView4<'_, f32>,
    g: &Geometry,
) -> Result<Array4<f32>> {
    let dy = dy.as_standard_layout();
    let dy = contiguous(OP, &dy)?;
    let w = w.as_standard_layout();
    let wt = weight_matrix(OP, &w.view(), g)?.reversed_axes();
    let mut dx = Array4::<f32>::zeros(g.input_shape());
    for_each_chunk_mut(&mut dx, |images, dx| {
        let (rows, width) = (g.patch_len(), images.len() * g.out_plane());
        with_scratch(rows * width, |scratch| {
            let mut dcols =
                ArrayViewMut2::from_shape((rows, width), scratch).map_err(layout_error(OP))?;
            dcols_and_col2im(dy, &wt, g, images, &mut dcols, dx)
        })
    })?;
    Ok(dx)
}

/// One chunk of [`col2im_input_grad`]: `dcols = Wᵀ · dY` into the scratch `dcols`, then added
/// back onto the chunk's windows in `dx`.
fn dcols_and_col2im(
    dy: &[f32],
    wt: &ArrayView2<'_, f32>,
    g: &Geometry,
    images: std::ops::Range<usize>,
    dcols: &mut ArrayViewMut2<'_, f32>,
    mut dx: ArrayViewMut4<'_, f32>,
) -> Result<()> {
    let count = images.len();
    let plane = g.out_plane();
    let f = g.out_channels;
    if plane >= DIRECT_OUTPUT_PLANE {
        // Large planes: dY of each image is already an F x P matrix; no gathering.
        for (bi, n) in images.enumerate() {
            let dy_n = ArrayView2::from_shape((f, plane), &dy[n * f * plane..(n + 1) * f * plane])
                .map_err(layout_error(OP))?;
            let mut dcols_n = dcols.slice_mut(s![.., bi * plane..(bi + 1) * plane]);
            general_mat_mul(1.0, wt, &dy_n, 0.0, &mut dcols_n);
        }
    } else {
        let dyt = gather_dy(dy, g, images);
        general_mat_mul(1.0, wt, &dyt, 0.0, dcols);
    }
    let dcols = dcols.as_slice().ok_or(TensorError::InvalidArgument {
        op: OP,
        message: "internal error: the scratch columns are not contiguous".into(),
    })?;
    let dx = dx.as_slice_mut().ok_or(TensorError::InvalidArgument {
        op: OP,
        message: "internal error: a chunk of dx is not contiguous".into(),
    })?;
    add_columns(dcols, g, count, dx);
    Ok(())
}
