//! Window reshaping, the method the whole conv stack rests on.
//!
//! An input (N, C, H, W) is zero-padded by (PH, PW) and seen as the windows every kernel position
//! covers, (N, C, OH, OW, KH, KW): element `[n, c, oh, ow, i, j]` is
//! `padded[n, c, oh*SH + i, ow*SW + j]`. [`windows`] gives that 6-D array as a zero-copy strided view
//! of the padded input (NumPy's `as_strided`, as the seed did). Flattened, the windows are a GEMM
//! operand: [`im2col`] lays them out as an (N·OH·OW) x (C·KH·KW) matrix, one row per window, so that a
//! convolution is one matrix product with the (F) x (C·KH·KW) weight.

use std::ops::Range;

use ndarray::{
    Array2, Array4, ArrayBase, ArrayView4, ArrayView6, Data, Dimension, ShapeBuilder, s,
};

use crate::error::{Result, TensorError, layout_error};
use crate::geometry::{Geometry, padded_size};
use crate::limits::working_elements;
use crate::scratch::reuse_or_zeros;
use crate::simd::simd_kernel;

/// Zero-pads an (N, C, H, W) array by `padding` = (PH, PW) on each side: (N, C, H+2PH, W+2PW).
///
/// ```
/// use ndarray::Array4;
/// let x = Array4::<f32>::ones((1, 1, 2, 2));
/// let p = core_tensor::pad(x.view(), [1, 0]).unwrap();
/// assert_eq!(p.shape(), &[1, 1, 4, 2]);
/// assert_eq!(p.sum(), 4.0);
/// ```
///
/// # Errors
/// A padded shape whose size overflows.
pub fn pad(x: ArrayView4<'_, f32>, padding: [usize; 2]) -> Result<Array4<f32>> {
    const OP: &str = "pad";
    let (n, c, h, w) = x.dim();
    let [ph, pw] = padding;
    let (Some(hp), Some(wp)) = (padded_size(h, ph), padded_size(w, pw)) else {
        return Err(TensorError::TooLarge {
            op: OP,
            what: "padded input",
            shape: x.shape().to_vec(),
            limit: usize::MAX,
        });
    };
    working_elements(OP, "padded input", &[n, c, hp, wp])?;
    let mut out = Array4::zeros((n, c, hp, wp));
    out.slice_mut(s![.., .., ph..ph + h, pw..pw + w]).assign(&x);
    Ok(out)
}

/// The windows of an already padded input as a zero-copy (N, C, OH, OW, KH, KW) view.
///
/// `padded` must be in standard (C-contiguous) layout, as [`pad`] returns it.
///
/// # Errors
/// A zero stride or kernel, a kernel larger than the input, or an input not in standard layout.
///
/// # Example
/// The seed's picture: a 3x3 image, 2x2 kernel, stride 1, gives 2x2 windows.
/// ```
/// use ndarray::Array;
/// let x = Array::from_iter((1..=9).map(|v| v as f32)).into_shape_with_order((1, 1, 3, 3)).unwrap();
/// let w = core_tensor::windows(x.view(), [2, 2], [1, 1]).unwrap();
/// assert_eq!(w.shape(), &[1, 1, 2, 2, 2, 2]);
/// assert_eq!(w.slice(ndarray::s![0, 0, 0, 1, .., ..]), ndarray::arr2(&[[2.0, 3.0], [5.0, 6.0]]));
/// ```
pub fn windows<'a>(
    padded: ArrayView4<'a, f32>,
    kernel: [usize; 2],
    stride: [usize; 2],
) -> Result<ArrayView6<'a, f32>> {
    const OP: &str = "windows";
    let g = Geometry::windows(OP, padded.shape(), kernel, stride, [0, 0])?;
    let [n, c, h, w] = g.input_shape();
    let [oh, ow] = g.output;
    let [kh, kw] = kernel;
    let [sh, sw] = stride;
    let not_standard = || {
        TensorError::InvalidArgument {
        op: OP,
        message: "the padded input must be in standard (C-contiguous) layout; call .as_standard_layout() first".into(),
    }
    };
    let data = padded.to_slice().ok_or_else(not_standard)?;
    let shape = (n, c, oh, ow, kh, kw).strides((c * h * w, h * w, sh * w, sw, w, 1));
    ArrayView6::from_shape(shape, data).map_err(|e| TensorError::InvalidArgument {
        op: OP,
        message: format!("cannot view the windows: {e}"),
    })
}

/// The windows of `x` (N, C, H, W) laid out as the GEMM operand: an (N·OH·OW) x (C·KH·KW) matrix
/// whose row `(n, oh, ow)` is the flattened window `(c, i, j)` at that position, padding included.
///
/// The matrix comes back in column-major (Fortran) order: that is the layout the conv kernels fill
/// (one long contiguous run per kernel tap), and this function shares their code.
///
/// # Errors
/// As [`Geometry::windows`].
///
/// ```
/// use ndarray::Array4;
/// let x = Array4::<f32>::ones((2, 3, 5, 5));
/// let m = core_tensor::im2col(x.view(), [3, 3], [2, 2], [1, 1]).unwrap();
/// assert_eq!(m.shape(), &[2 * 3 * 3, 3 * 3 * 3]); // (N·OH·OW, C·KH·KW)
/// ```
pub fn im2col(
    x: ArrayView4<'_, f32>,
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
) -> Result<Array2<f32>> {
    let g = Geometry::windows("im2col", x.shape(), kernel, stride, padding)?;
    let x = x.as_standard_layout();
    let cols = columns(contiguous("im2col", &x)?, &g, 0..g.batch, None)?;
    Ok(cols.reversed_axes())
}

/// The windows of images `images` of `x` as a (C·KH·KW) x (len·OH·OW) row-major matrix (group
/// `g`'s rows are the block `g·(C/G)·KH·KW ..`): the
/// transpose of the [`im2col`] rows for those images. Row `(c, i, j)` holds, for every image and
/// output position in order, the input element under kernel tap `(i, j)` of channel `c` (zero in
/// the padding). `x` is the whole input's data in standard layout.
///
/// `reuse`, a matrix this function returned before for the same geometry and image count, is
/// overwritten instead of allocating (every entry, the padding's with zero).
pub(crate) fn columns(
    x: &[f32],
    g: &Geometry,
    images: Range<usize>,
    reuse: Option<Array2<f32>>,
) -> Result<Array2<f32>> {
    let rows = g.column_rows();
    let cols_per_row = images.len() * g.out_plane();
    let mut data = reuse_or_zeros(reuse, rows * cols_per_row);
    fill_columns(x, g, images, &mut data);
    Array2::from_shape_vec((rows, cols_per_row), data).map_err(layout_error("im2col"))
}

/// Fills `out` (`column_rows * images.len() * out_plane` long, whatever it holds) as [`columns`]
/// describes: every entry is written, the ones under padding with zero, so `out` may be scratch
/// memory that is not zeroed first.
pub(crate) fn fill_columns(x: &[f32], g: &Geometry, images: Range<usize>, out: &mut [f32]) {
    fill_columns_kernel(x, g, images, out);
}

simd_kernel! {
    fn fill_columns_kernel(x: &[f32], g: &Geometry, images: Range<usize>, out: &mut [f32]) {
        let [ow, sw] = [g.output[1], g.stride[1]];
        for_each_tap_row(g, images, |start, run| {
            let Some(dst) = out.get_mut(start..start + ow) else {
                debug_assert!(false, "the columns buffer is too short");
                return;
            };
            let Some(run) = run else {
                dst.fill(0.0);
                return;
            };
            let (lo, hi) = (run.column - start, run.column - start + run.len);
            dst[..lo].fill(0.0);
            dst[hi..].fill(0.0);
            let dst = &mut dst[lo..hi];
            if sw == 1 {
                copy_run(dst, &x[run.input..run.input + run.len]);
            } else {
                for (d, s) in dst.iter_mut().zip(x[run.input..].iter().step_by(sw)) {
                    *d = *s;
                }
            }
        });
    }
}

/// Copies `src` into `dst` (same length) inline. A run is one output row of one kernel tap: a
/// few to a few dozen floats, and a training step copies some 10^5 of them, too many for a call
/// to `memcpy` each. Runs of 8 to 32 floats go in up to four blocks of 8 written out one by one
/// (a loop of them would be turned back into a `memcpy` call by the compiler), the last block
/// ending at the run's end; longer runs go to `memcpy`.
#[inline]
pub(crate) fn copy_run(dst: &mut [f32], src: &[f32]) {
    let n = dst.len().min(src.len());
    let (dst, src) = (&mut dst[..n], &src[..n]);
    let mut block = |at: usize| dst[at..at + 8].copy_from_slice(&src[at..at + 8]);
    match n {
        0..4 => {
            for (d, s) in dst.iter_mut().zip(src) {
                *d = *s;
            }
        }
        4..8 => {
            dst[..4].copy_from_slice(&src[..4]);
            dst[n - 4..].copy_from_slice(&src[n - 4..]);
        }
        8..=32 => {
            block(0);
            if n > 16 {
                block(8);
            }
            if n > 24 {
                block(16);
            }
            block(n - 8);
        }
        _ => dst.copy_from_slice(src),
    }
}

/// The adjoint of [`columns`] (col2im): adds every entry of `cols`, a (C·KH·KW) x (count·OH·OW)
/// matrix laid out as [`columns`] lays it out, onto the input element it was read from. `dx` is the
/// (count, C, H, W) data of those images in standard layout; entries that fall in the padding are
/// dropped. Entries are added in a fixed order (tap by tap), so the result is deterministic.
pub(crate) fn add_columns(cols: &[f32], g: &Geometry, count: usize, dx: &mut [f32]) {
    add_columns_kernel(cols, g, count, dx);
}

simd_kernel! {
    fn add_columns_kernel(cols: &[f32], g: &Geometry, count: usize, dx: &mut [f32]) {
        let sw = g.stride[1];
        for_each_run(g, 0..count, |run| {
            let src = &cols[run.column..run.column + run.len];
            if sw == 1 {
                for (d, s) in dx[run.input..run.input + run.len].iter_mut().zip(src) {
                    *d += *s;
                }
            } else {
                for (d, s) in dx[run.input..].iter_mut().step_by(sw).zip(src) {
                    *d += *s;
                }
            }
        });
    }
}

/// A run of the columns matrix: `len` consecutive entries from `column`, which belong to the input
/// elements `input`, `input + SW`, `input + 2·SW` ... (one kernel tap along one output row).
struct Run {
    column: usize,
    input: usize,
    len: usize,
}

/// Calls `f` for every run of the columns of `images` (the traversal of [`add_columns`]): the
/// runs of [`for_each_tap_row`], the rows that read only padding skipped.
fn for_each_run(g: &Geometry, images: Range<usize>, mut f: impl FnMut(Run)) {
    for_each_tap_row(g, images, |_, run| {
        if let Some(run) = run {
            f(run);
        }
    });
}

/// Calls `f(start, run)` for every output row of every kernel tap of `images`, row `(c, i, j)` of
/// the columns by row, image by image, output row by output row: `start` is where that output
/// row begins in the columns, `run` the positions along it that read the input (`None` where the
/// tap reads only padding there). Input offsets count images from `images.start`. Tap `(i, j)`
/// reads the input `(i·DH, j·DW)` after the window's corner (the dilation).
fn for_each_tap_row(g: &Geometry, images: Range<usize>, mut f: impl FnMut(usize, Option<Run>)) {
    let [h, w] = g.input;
    let [kh, kw] = g.kernel;
    let [sh, sw] = g.stride;
    let [ph, pw] = g.padding;
    let [dh, dw] = g.dilation;
    let [oh, ow] = g.output;
    let plane = oh * ow;
    let row_len = images.len() * plane;
    for c in 0..g.channels {
        for i in 0..kh {
            // Output rows oy whose input row oy*sh + i*dh - ph lies inside the image.
            let (oy_lo, oy_hi) = valid_range(h, oh, i * dh, sh, ph);
            for j in 0..kw {
                let (ox_lo, ox_hi) = valid_range(w, ow, j * dw, sw, pw);
                let row = (c * kh + i) * kw + j;
                for (bi, n) in images.clone().enumerate() {
                    for oy in 0..oh {
                        let start = row * row_len + bi * plane + oy * ow;
                        let inside = (oy_lo..oy_hi).contains(&oy) && ox_lo < ox_hi;
                        let run = inside.then(|| {
                            let iy = oy * sh + i * dh - ph;
                            Run {
                                column: start + ox_lo,
                                input: ((n * g.channels + c) * h + iy) * w + ox_lo * sw + j * dw
                                    - pw,
                                len: ox_hi - ox_lo,
                            }
                        });
                        f(start, run);
                    }
                }
            }
        }
    }
}

/// The data of `a` as one slice in standard (C-contiguous) order.
///
/// # Errors
/// `a` is not in standard layout (callers pass the result of `as_standard_layout`).
pub(crate) fn contiguous<'a, A, S, D>(op: &'static str, a: &'a ArrayBase<S, D>) -> Result<&'a [A]>
where
    S: Data<Elem = A>,
    D: Dimension,
{
    a.as_slice().ok_or_else(|| TensorError::InvalidArgument {
        op,
        message: "internal error: expected a standard-layout array".into(),
    })
}

/// The output positions `o` in `[lo, hi)` for which the input index `o*stride + tap - pad` lies in
/// `[0, input)`; the others read padding (zero).
fn valid_range(
    input: usize,
    output: usize,
    tap: usize,
    stride: usize,
    pad: usize,
) -> (usize, usize) {
    // o*stride + tap >= pad  <=>  o >= ceil((pad - tap) / stride)
    let lo = if pad > tap {
        (pad - tap).div_ceil(stride)
    } else {
        0
    };
    // o*stride + tap - pad <= input - 1  <=>  o <= (input - 1 + pad - tap) / stride
    let hi = if input + pad > tap {
        ((input - 1 + pad - tap) / stride + 1).min(output)
    } else {
        0
    };
    (lo.min(hi), hi)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array;

    fn ramp(shape: (usize, usize, usize, usize)) -> Array4<f32> {
        let len = shape.0 * shape.1 * shape.2 * shape.3;
        Array::from_iter((0..len).map(|v| v as f32 + 1.0))
            .into_shape_with_order(shape)
            .unwrap()
    }

    #[test]
    fn columns_written_over_any_contents_hold_the_zeros_of_the_padding() {
        let x = ramp((3, 2, 6, 5));
        let params = crate::Conv2dParams::new()
            .stride([2, 1])
            .padding([2, 3])
            .dilation([1, 2]);
        let g = Geometry::conv("test", x.shape(), &[4, 2, 3, 3], &params).unwrap();
        let data = x.as_slice().unwrap();
        let zeroed = columns(data, &g, 1..3, None).unwrap();
        let mut dirty = vec![f32::NAN; zeroed.len()];
        fill_columns(data, &g, 1..3, &mut dirty);
        assert!(zeroed.iter().any(|&v| v == 0.0));
        let bits = |v: &[f32]| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&dirty), bits(zeroed.as_slice().unwrap()));
    }

    #[test]
    fn im2col_rows_are_the_flattened_windows() {
        let x = ramp((2, 2, 5, 4));
        let (k, st, p) = ([3, 2], [2, 1], [1, 0]);
        let xp = pad(x.view(), p).unwrap();
        let win = windows(xp.view(), k, st).unwrap();
        let m = im2col(x.view(), k, st, p).unwrap();
        let (n, c, oh, ow, kh, kw) = win.dim();
        for b in 0..n {
            for y in 0..oh {
                for xx in 0..ow {
                    for ch in 0..c {
                        for i in 0..kh {
                            for j in 0..kw {
                                let row = (b * oh + y) * ow + xx;
                                let col = (ch * kh + i) * kw + j;
                                assert_eq!(m[[row, col]], win[[b, ch, y, xx, i, j]]);
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn windows_reject_a_non_standard_layout() {
        let x = ramp((1, 1, 4, 3));
        let t = x.view().permuted_axes([0, 1, 3, 2]);
        assert!(windows(t, [2, 2], [1, 1]).is_err());
    }

    #[test]
    fn valid_range_matches_brute_force() {
        for input in 1..7 {
            for tap in 0..4 {
                for stride in 1..4 {
                    for pad in 0..3 {
                        let Some(out) = crate::output_size(input, tap + 1, stride, pad) else {
                            continue;
                        };
                        let inside: Vec<usize> = (0..out)
                            .filter(|o| {
                                let i = (o * stride + tap) as isize - pad as isize;
                                i >= 0 && (i as usize) < input
                            })
                            .collect();
                        let (lo, hi) = valid_range(input, out, tap, stride, pad);
                        assert_eq!((lo..hi).collect::<Vec<_>>(), inside);
                    }
                }
            }
        }
    }
}
