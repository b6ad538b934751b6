//! Average pooling.

use ndarray::{Array4, ArrayView4, ArrayViewMut4};
use rayon::prelude::*;

use crate::error::{Result, output_slice};
use crate::geometry::Geometry;
use crate::pool::Planes;
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
    y.fill(0.0);
    let data = planes.data(OP)?;
    let [_, w] = g.input;
    let ow = g.output[1];
    let [kh, kw] = kernel;
    let [sh, sw] = stride;
    let scale = 1.0 / (kh * kw) as f32;
    let in_plane = planes.input_plane();
    let out_plane = g.out_plane();
    if out_plane > 0 {
        y.par_chunks_mut(out_plane).enumerate().for_each(|(p, y)| {
            let src = &data[p * in_plane..(p + 1) * in_plane];
            // Row by row, tap by tap, all output columns at once (a loop the compiler vectorises);
            // each window's taps are still added in row-major order.
            for (oy, y_row) in y.chunks_exact_mut(ow).enumerate() {
                let top = &src[oy * sh * w..];
                for i in 0..kh {
                    if sw == kw {
                        // Windows side by side: each is a contiguous run of the row.
                        let row = &top[i * w..i * w + ow * kw];
                        for (acc, window) in y_row.iter_mut().zip(row.chunks_exact(kw)) {
                            for &v in window {
                                *acc += v;
                            }
                        }
                        continue;
                    }
                    for j in 0..kw {
                        let taps = top[i * w + j..].iter().step_by(sw);
                        for (acc, &v) in y_row.iter_mut().zip(taps) {
                            *acc += v;
                        }
                    }
                }
                for v in y_row.iter_mut() {
                    *v *= scale;
                }
            }
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
    dx.fill(0.0);
    let dy = dy.as_standard_layout();
    let dy = contiguous(OP, &dy)?;
    let [_, w] = input;
    let ow = g.output[1];
    let [kh, kw] = kernel;
    let [sh, sw] = stride;
    let scale = 1.0 / (kh * kw) as f32;
    let in_plane = input[0] * input[1];
    let out_plane = g.out_plane();
    if in_plane > 0 {
        dx.par_chunks_mut(in_plane).enumerate().for_each(|(p, dx)| {
            let dy = &dy[p * out_plane..(p + 1) * out_plane];
            for (oy, dy_row) in dy.chunks_exact(ow).enumerate() {
                let top = &mut dx[oy * sh * w..];
                for i in 0..kh {
                    if sw == kw {
                        let row = &mut top[i * w..i * w + ow * kw];
                        for (window, &g) in row.chunks_exact_mut(kw).zip(dy_row) {
                            let share = g * scale;
                            for d in window {
                                *d += share;
                            }
                        }
                        continue;
                    }
                    for j in 0..kw {
                        let taps = top[i * w + j..].iter_mut().step_by(sw);
                        for (d, &g) in taps.zip(dy_row) {
                            *d += g * scale;
                        }
                    }
                }
            }
        });
    }
    Ok(())
}
