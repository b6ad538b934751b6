//! Average pooling.

use ndarray::{Array4, ArrayView4, ArrayViewMut4};
use rayon::prelude::*;

use crate::error::{Result, output_slice};
use crate::geometry::Geometry;
use crate::pool::{LANES, PlaneDims, Planes, planes_per_task};
use crate::simd::simd_kernel;
use crate::window::contiguous;

/// Average pooling: `y[n, c, oh, ow] = (1 / (KH·KW)) Σ_{i,j} x[n, c, oh·SH + i, ow·SW + j]`.
///
/// PyTorch equivalent: `torch.nn.functional.avg_pool2d(x, kernel, stride)`.
///
/// # Shapes
/// - `x`: (N, C, H, W)
/// - returns (N, C, OH, OW) with `OH = (H - KH) / SH + 1`, `OW` likewise
///
/// # Errors
/// A non-4-D input, a zero kernel or stride, or a kernel larger than the input.
///
/// ```
/// use ndarray::Array4;
/// let x = Array4::from_shape_vec((1, 1, 2, 2), vec![1.0_f32, 2.0, 3.0, 6.0]).unwrap();
/// let y = core_tensor::avg_pool2d(x.view(), [2, 2], [2, 2]).unwrap();
/// assert_eq!(y[[0, 0, 0, 0]], 3.0);
/// ```
pub fn avg_pool2d(
    x: ArrayView4<'_, f32>,
    kernel: [usize; 2],
    stride: [usize; 2],
) -> Result<Array4<f32>> {
    let g = Planes::new("avg_pool2d", x, kernel, stride)?.geometry;
    let mut y = Array4::zeros(g.output_shape());
    avg_pool2d_into(x, kernel, stride, y.view_mut())?;
    Ok(y)
}

/// [`avg_pool2d`] into `y` (N, C, OH, OW, standard layout), whose values are overwritten.
///
/// # Errors
/// As [`avg_pool2d`], and a `y` of another shape or layout.
pub fn avg_pool2d_into(
    x: ArrayView4<'_, f32>,
    kernel: [usize; 2],
    stride: [usize; 2],
    mut y: ArrayViewMut4<'_, f32>,
) -> Result<()> {
    const OP: &str = "avg_pool2d";
    let planes = Planes::new(OP, x, kernel, stride)?;
    let g = planes.geometry;
    Geometry::expect_shape(OP, "y", &g.output_shape(), y.shape())?;
    let y = output_slice(OP, "y", &mut y)?;
    let data = planes.data(OP)?;
    let dims = PlaneDims::new(&g);
    let (in_plane, out_plane) = (dims.in_plane, dims.out_plane);
    if out_plane > 0 {
        let per_task = planes_per_task(out_plane);
        y.par_chunks_mut(out_plane * per_task)
            .enumerate()
            .for_each(|(t, y)| {
                let first = t * per_task;
                average_planes(&data[first * in_plane..], y, &dims);
            });
    }
    Ok(())
}

/// dL/dx of average pooling: each `dy` element spread as `dy / (KH·KW)` over its window; where
/// windows overlap, the contributions add up.
///
/// # Shapes
/// - `dy`: (N, C, OH, OW)
/// - `input`: (H, W) of the forward input
/// - returns (N, C, H, W)
///
/// # Errors
/// A zero kernel or stride, a kernel larger than the input, or a `dy` whose (OH, OW) does not
/// follow from `input`, `kernel` and `stride`.
///
/// ```
/// use ndarray::Array4;
/// let dy = Array4::from_elem((1, 1, 1, 1), 4.0_f32);
/// let dx = core_tensor::avg_pool2d_backward(dy.view(), [2, 2], [2, 2], [2, 2]).unwrap();
/// assert!(dx.iter().all(|&v| v == 1.0));
/// ```
pub fn avg_pool2d_backward(
    dy: ArrayView4<'_, f32>,
    input: [usize; 2],
    kernel: [usize; 2],
    stride: [usize; 2],
) -> Result<Array4<f32>> {
    let (n, c, _, _) = dy.dim();
    let mut dx = Array4::zeros((n, c, input[0], input[1]));
    avg_pool2d_backward_into(dy, input, kernel, stride, dx.view_mut())?;
    Ok(dx)
}

/// [`avg_pool2d_backward`] into `dx` (N, C, H, W, standard layout), whose values are
/// overwritten.
///
/// # Errors
/// As [`avg_pool2d_backward`], and a `dx` of another shape or layout.
pub fn avg_pool2d_backward_into(
    dy: ArrayView4<'_, f32>,
    input: [usize; 2],
    kernel: [usize; 2],
    stride: [usize; 2],
    mut dx: ArrayViewMut4<'_, f32>,
) -> Result<()> {
    const OP: &str = "avg_pool2d_backward";
    let (n, c, _, _) = dy.dim();
    let g = Geometry::windows(OP, &[n, c, input[0], input[1]], kernel, stride, [0, 0])?;
    Geometry::expect_shape(OP, "dy", &g.output_shape(), dy.shape())?;
    Geometry::expect_shape(OP, "dx", &g.input_shape(), dx.shape())?;
    let dx = output_slice(OP, "dx", &mut dx)?;
    let dy = dy.as_standard_layout();
    let dy = contiguous(OP, &dy)?;
    let dims = PlaneDims::new(&g);
    let (in_plane, out_plane) = (dims.in_plane, dims.out_plane);
    if in_plane > 0 {
        let per_task = planes_per_task(out_plane);
        dx.par_chunks_mut(in_plane * per_task)
            .enumerate()
            .for_each(|(t, dx)| {
                let first = t * per_task;
                spread_planes(&dy[first * out_plane..], dx, &dims);
            });
    }
    Ok(())
}

simd_kernel! {
    /// The averages of whole planes: `src` holds their inputs (and maybe more after), `y` their
    /// outputs. Common kernel widths get a loop of their own.
    fn average_planes(src: &[f32], y: &mut [f32], d: &PlaneDims) {
        for (p, y) in y.chunks_exact_mut(d.out_plane).enumerate() {
            let src = &src[p * d.in_plane..(p + 1) * d.in_plane];
            match d.kernel[1] {
                2 => average_plane::<2>(src, y, d),
                3 => average_plane::<3>(src, y, d),
                _ => average_plane::<0>(src, y, d),
            }
        }
    }
}

/// One plane's averages, row by row, for windows `KW` wide (0: `d.kernel[1]`, read at run time).
/// Each window's taps are added in row-major order onto 0, then scaled. Rows at least
/// [`LANES`] wide go by blocks of that many windows, summed in registers (the last block shifted
/// back to end at the row's end: its overlap is computed twice, to the same values); narrower
/// rows window by window.
#[inline(always)]
fn average_plane<const KW: usize>(src: &[f32], y: &mut [f32], d: &PlaneDims) {
    let kw = if KW == 0 { d.kernel[1] } else { KW };
    let (w, ow, kh, [sh, sw], scale) = (d.width, d.out_width, d.kernel[0], d.stride, d.scale);
    for (oy, y_row) in y.chunks_exact_mut(ow).enumerate() {
        let top = &src[oy * sh * w..];
        if ow < LANES {
            for (ox, out) in y_row.iter_mut().enumerate() {
                let mut acc = 0.0;
                for i in 0..kh {
                    for &v in &top[i * w + ox * sw..][..kw] {
                        acc += v;
                    }
                }
                *out = acc * scale;
            }
            continue;
        }
        let mut start = 0;
        while start < ow {
            let first = start.min(ow - LANES);
            let mut acc = [0.0; LANES];
            for i in 0..kh {
                for j in 0..kw {
                    let taps = &top[i * w + first * sw + j..];
                    match sw {
                        1 => add_lanes::<1>(&mut acc, taps),
                        2 => add_lanes::<2>(&mut acc, taps),
                        _ => add_lanes_by(&mut acc, taps, sw),
                    }
                }
            }
            for (out, a) in y_row[first..first + LANES].iter_mut().zip(acc) {
                *out = a * scale;
            }
            start = first + LANES;
        }
    }
}

/// `acc[k] += row[k·S]` for the [`LANES`] windows of a block, `S` apart (a constant, so that
/// the indices are too and the loads vectorise).
#[inline(always)]
fn add_lanes<const S: usize>(acc: &mut [f32; LANES], row: &[f32]) {
    let row = &row[..(LANES - 1) * S + 1];
    for (k, a) in acc.iter_mut().enumerate() {
        *a += row[k * S];
    }
}

/// [`add_lanes`] for any stride.
fn add_lanes_by(acc: &mut [f32; LANES], row: &[f32], stride: usize) {
    for (a, &v) in acc.iter_mut().zip(row.iter().step_by(stride)) {
        *a += v;
    }
}

simd_kernel! {
    /// The input gradients of whole planes onto zeros: `dy` holds their output gradients (and
    /// maybe more after), `dx` their input gradients. Each input gets `dy · scale` from every
    /// window it lies in, added in the order [`average_plane`] reads the taps.
    fn spread_planes(dy: &[f32], dx: &mut [f32], d: &PlaneDims) {
        for (p, dx) in dx.chunks_exact_mut(d.in_plane).enumerate() {
            let dy = &dy[p * d.out_plane..(p + 1) * d.out_plane];
            dx.fill(0.0);
            if d.overlapping() {
                spread_plane_overlapping(dy, dx, d);
            } else if d.kernel[1] == d.stride[1] {
                match d.kernel[1] {
                    2 => spread_plane_side_by_side::<2>(dy, dx, d),
                    _ => spread_plane_side_by_side::<0>(dy, dx, d),
                }
            } else {
                spread_plane_apart(dy, dx, d);
            }
        }
    }
}

/// One plane's input gradient where windows neither overlap nor leave gaps along rows (stride
/// = kernel width `KW`, 0: read at run time): each input of a window is set to `0 + dy·scale`
/// (the sum onto zeros that the general case computes).
#[inline(always)]
fn spread_plane_side_by_side<const KW: usize>(dy: &[f32], dx: &mut [f32], d: &PlaneDims) {
    let kw = if KW == 0 { d.kernel[1] } else { KW };
    let (w, ow, kh, sh, scale) = (d.width, d.out_width, d.kernel[0], d.stride[0], d.scale);
    for (oy, dy_row) in dy.chunks_exact(ow).enumerate() {
        for i in 0..kh {
            let row = &mut dx[(oy * sh + i) * w..][..ow * kw];
            for (window, &g) in row.chunks_exact_mut(kw).zip(dy_row) {
                window.fill(0.0 + g * scale);
            }
        }
    }
}

/// One plane's input gradient where windows do not overlap (each input in one window at most).
fn spread_plane_apart(dy: &[f32], dx: &mut [f32], d: &PlaneDims) {
    let (w, ow, [kh, kw], [sh, sw], scale) = (d.width, d.out_width, d.kernel, d.stride, d.scale);
    for (oy, dy_row) in dy.chunks_exact(ow).enumerate() {
        for i in 0..kh {
            let row = &mut dx[(oy * sh + i) * w..];
            for (ox, &g) in dy_row.iter().enumerate() {
                row[ox * sw..][..kw].fill(0.0 + g * scale);
            }
        }
    }
}

/// One plane's input gradient where windows overlap: tap by tap, each added onto what the
/// windows before left.
fn spread_plane_overlapping(dy: &[f32], dx: &mut [f32], d: &PlaneDims) {
    let (w, ow, [kh, kw], [sh, sw], scale) = (d.width, d.out_width, d.kernel, d.stride, d.scale);
    for (oy, dy_row) in dy.chunks_exact(ow).enumerate() {
        let top = &mut dx[oy * sh * w..];
        for i in 0..kh {
            for j in 0..kw {
                let row = &mut top[i * w + j..];
                for (d, &g) in row.iter_mut().step_by(sw).zip(dy_row) {
                    *d += g * scale;
                }
            }
        }
    }
}
