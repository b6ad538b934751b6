//! Max pooling with the 0/1 mask of the maxima.

use ndarray::{Array4, Array6, ArrayView4};
use rayon::prelude::*;

use crate::error::{Result, layout_error};
use crate::geometry::Geometry;
use crate::pool::{LANES, PlaneDims, Planes, planes_per_task, to_array4};
use crate::simd::simd_kernel;
use crate::window::contiguous;

/// What max pooling's forward pass keeps for the backward pass: the 0/1 mask of the maxima over the
/// window reshaping (N, C, OH, OW, KH, KW), with exactly one 1 per window.
///
/// Stored compactly as the position of that 1 inside each window (`i·KW + j`); [`to_dense`]
/// expands it. On ties the first maximum in row-major order holds the 1, as in PyTorch; a NaN in a
/// window is its maximum (NaN propagates, as in PyTorch).
///
/// [`to_dense`]: MaxPoolMask::to_dense
#[derive(Debug, Clone, PartialEq)]
pub struct MaxPoolMask {
    argmax: ndarray::Array4<u32>,
    geometry: Geometry,
}

impl MaxPoolMask {
    /// The position `i·KW + j` of the maximum inside each window, (N, C, OH, OW).
    pub fn argmax(&self) -> ndarray::ArrayView4<'_, u32> {
        self.argmax.view()
    }

    /// The forward input's shape (N, C, H, W).
    pub fn input_shape(&self) -> [usize; 4] {
        self.geometry.input_shape()
    }

    /// The output's shape (N, C, OH, OW), the shape `dy` must have.
    pub fn output_shape(&self) -> [usize; 4] {
        self.geometry.output_shape()
    }

    /// The mask as a dense (N, C, OH, OW, KH, KW) array of 0.0 and 1.0.
    pub fn to_dense(&self) -> Array6<f32> {
        let [n, c, oh, ow] = self.output_shape();
        let [kh, kw] = self.geometry.kernel;
        let mut dense = Array6::<f32>::zeros((n, c, oh, ow, kh, kw));
        for ((a, b, y, x), &k) in self.argmax.indexed_iter() {
            let k = k as usize;
            dense[[a, b, y, x, k / kw, k % kw]] = 1.0;
        }
        dense
    }
}

/// Max pooling: `y[n, c, oh, ow] = max_{i,j} x[n, c, oh·SH + i, ow·SW + j]`, with the mask of the
/// maxima for [`max_pool2d_backward`].
///
/// PyTorch equivalent: `torch.nn.functional.max_pool2d(x, kernel, stride, return_indices=True)`.
///
/// # Shapes
/// - `x`: (N, C, H, W)
/// - returns y (N, C, OH, OW) with `OH = (H - KH) / SH + 1`, `OW` likewise, and the mask
///
/// # Errors
/// A non-4-D input, a zero kernel or stride, or a kernel larger than the input.
///
/// # Example
/// ```
/// use ndarray::Array4;
/// let x = Array4::from_shape_vec((1, 1, 2, 2), vec![1.0_f32, 3.0, 3.0, 2.0]).unwrap();
/// let (y, mask) = core_tensor::max_pool2d(x.view(), [2, 2], [2, 2]).unwrap();
/// assert_eq!(y[[0, 0, 0, 0]], 3.0);
/// assert_eq!(mask.argmax()[[0, 0, 0, 0]], 1); // the first 3 in row-major order
/// ```
pub fn max_pool2d(
    x: ArrayView4<'_, f32>,
    kernel: [usize; 2],
    stride: [usize; 2],
) -> Result<(Array4<f32>, MaxPoolMask)> {
    const OP: &str = "max_pool2d";
    let planes = Planes::new(OP, x, kernel, stride)?;
    let g = planes.geometry;
    let data = planes.data(OP)?;
    let dims = PlaneDims::new(&g);
    let (in_plane, out_plane) = (dims.in_plane, dims.out_plane);
    let total = g.batch * g.channels * out_plane;
    let mut y = vec![0.0_f32; total];
    let mut argmax = vec![0_u32; total];
    if out_plane > 0 {
        let per_task = planes_per_task(out_plane);
        y.par_chunks_mut(out_plane * per_task)
            .zip(argmax.par_chunks_mut(out_plane * per_task))
            .enumerate()
            .for_each(|(t, (y, am))| {
                max_planes(&data[t * per_task * in_plane..], y, am, &dims);
            });
    }
    let shape = g.output_shape();
    let y = to_array4(OP, shape, y)?;
    let argmax = ndarray::Array4::from_shape_vec(shape, argmax).map_err(layout_error(OP))?;
    Ok((
        y,
        MaxPoolMask {
            argmax,
            geometry: g,
        },
    ))
}

/// dL/dx of max pooling: each `dy` element goes to the one input element its window's mask marks;
/// where windows overlap, the contributions add up.
///
/// # Shapes
/// - `dy`: (N, C, OH, OW), the mask's output shape
/// - returns (N, C, H, W), the mask's input shape
///
/// # Errors
/// A `dy` of another shape than the mask's output.
///
/// ```
/// use ndarray::Array4;
/// let x = Array4::from_shape_vec((1, 1, 2, 2), vec![1.0_f32, 3.0, 3.0, 2.0]).unwrap();
/// let (_, mask) = core_tensor::max_pool2d(x.view(), [2, 2], [2, 2]).unwrap();
/// let dy = Array4::from_elem((1, 1, 1, 1), 5.0_f32);
/// let dx = core_tensor::max_pool2d_backward(dy.view(), &mask).unwrap();
/// assert_eq!(dx.into_raw_vec_and_offset().0, vec![0.0, 5.0, 0.0, 0.0]);
/// ```
pub fn max_pool2d_backward(dy: ArrayView4<'_, f32>, mask: &MaxPoolMask) -> Result<Array4<f32>> {
    const OP: &str = "max_pool2d_backward";
    let g = mask.geometry;
    Geometry::expect_shape(OP, "dy", &g.output_shape(), dy.shape())?;
    let dy = dy.as_standard_layout();
    let dy = contiguous(OP, &dy)?;
    let argmax = contiguous(OP, &mask.argmax)?;
    let [_, w] = g.input;
    let [_, ow] = g.output;
    let [_, kw] = g.kernel;
    let [sh, sw] = g.stride;
    let in_plane = g.input[0] * g.input[1];
    let out_plane = g.out_plane();
    let mut dx = vec![0.0_f32; g.batch * g.channels * in_plane];
    if in_plane > 0 {
        let tasks = dx.par_chunks_mut(in_plane).enumerate();
        tasks
            .with_min_len(planes_per_task(out_plane))
            .for_each(|(p, dx)| {
                let dy = &dy[p * out_plane..(p + 1) * out_plane];
                let am = &argmax[p * out_plane..(p + 1) * out_plane];
                for (o, (&g, &k)) in dy.iter().zip(am).enumerate() {
                    let (oy, ox) = (o / ow, o % ow);
                    let k = k as usize;
                    dx[(oy * sh + k / kw) * w + ox * sw + k % kw] += g;
                }
            });
    }
    to_array4(OP, g.input_shape(), dx)
}

simd_kernel! {
    /// The maxima of whole planes and their positions: `src` holds the planes' inputs (and maybe
    /// more after), `y` and `argmax` their outputs.
    fn max_planes(src: &[f32], y: &mut [f32], argmax: &mut [u32], d: &PlaneDims) {
        let planes = y.chunks_exact_mut(d.out_plane).zip(argmax.chunks_exact_mut(d.out_plane));
        for (p, (y, am)) in planes.enumerate() {
            max_plane(&src[p * d.in_plane..(p + 1) * d.in_plane], y, am, d);
        }
    }
}

/// One plane's maxima, row by row, each window's taps in row-major order (so the first maximum
/// wins ties). Rows at least [`LANES`] wide go by blocks of that many windows kept in registers
/// (the last block shifted back to end at the row's end: its overlap is computed twice, to the
/// same values); narrower rows tap by tap across the row.
#[inline(always)]
fn max_plane(src: &[f32], y: &mut [f32], argmax: &mut [u32], d: &PlaneDims) {
    let (w, ow, [kh, kw], [sh, sw]) = (d.width, d.out_width, d.kernel, d.stride);
    let rows = y.chunks_exact_mut(ow).zip(argmax.chunks_exact_mut(ow));
    for (oy, (y_row, am_row)) in rows.enumerate() {
        let top = &src[oy * sh * w..];
        if ow < LANES {
            // Tap by tap over the whole row: loops too short to vectorise, but no dependency
            // from one window to the next.
            for i in 0..kh {
                for j in 0..kw {
                    let k = (i * kw + j) as u32;
                    let taps = top[i * w + j..].iter().step_by(sw);
                    let windows = y_row.iter_mut().zip(am_row.iter_mut());
                    for ((best, at), &v) in windows.zip(taps) {
                        take_if_greater(best, at, v, k);
                    }
                }
            }
            continue;
        }
        let mut start = 0;
        while start < ow {
            let first = start.min(ow - LANES);
            let (mut best, mut at) = ([0.0; LANES], [0; LANES]);
            for i in 0..kh {
                for j in 0..kw {
                    let taps = &top[i * w + first * sw + j..];
                    let k = (i * kw + j) as u32;
                    match sw {
                        1 => max_lanes::<1>(&mut best, &mut at, taps, k),
                        2 => max_lanes::<2>(&mut best, &mut at, taps, k),
                        _ => max_lanes_by(&mut best, &mut at, taps, k, sw),
                    }
                }
            }
            y_row[first..first + LANES].copy_from_slice(&best);
            am_row[first..first + LANES].copy_from_slice(&at);
            start = first + LANES;
        }
    }
}

/// Tap `k` of a window: it takes `v` if it is the first tap, greater than the best so far, or
/// NaN where the best is not (NaN propagates, as in PyTorch).
#[inline(always)]
fn take_if_greater(best: &mut f32, at: &mut u32, v: f32, k: u32) {
    let take = (k == 0) | (v > *best) | (v.is_nan() & !best.is_nan());
    // The comparison is unpredictable on real data: a select, not a branch.
    *best = f32::from_bits(std::hint::select_unpredictable(
        take,
        v.to_bits(),
        best.to_bits(),
    ));
    *at = std::hint::select_unpredictable(take, k, *at);
}

/// Tap `k` of the [`LANES`] windows of a block, `S` apart (a constant, so that the loads
/// vectorise).
#[inline(always)]
fn max_lanes<const S: usize>(best: &mut [f32; LANES], at: &mut [u32; LANES], row: &[f32], k: u32) {
    let row = &row[..(LANES - 1) * S + 1];
    for (l, (best, at)) in best.iter_mut().zip(at.iter_mut()).enumerate() {
        take_if_greater(best, at, row[l * S], k);
    }
}

/// [`max_lanes`] for any stride.
fn max_lanes_by(
    best: &mut [f32; LANES],
    at: &mut [u32; LANES],
    row: &[f32],
    k: u32,
    stride: usize,
) {
    let taps = row.iter().step_by(stride);
    for ((best, at), &v) in best.iter_mut().zip(at.iter_mut()).zip(taps) {
        take_if_greater(best, at, v, k);
    }
}
