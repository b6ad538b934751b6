//! Max pooling with the 0/1 mask of the maxima.

use ndarray::{Array4, Array6, ArrayView4};
use rayon::prelude::*;

use crate::error::{Result, layout_error};
use crate::geometry::Geometry;
use crate::pool::{Planes, to_array4};
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
    let [_, w] = g.input;
    let ow = g.output[1];
    let [kh, kw] = kernel;
    let [sh, sw] = stride;
    let in_plane = planes.input_plane();
    let out_plane = g.out_plane();
    let total = g.batch * g.channels * out_plane;
    let mut y = vec![0.0_f32; total];
    let mut argmax = vec![0_u32; total];
    if out_plane > 0 {
        y.par_chunks_mut(out_plane)
            .zip(argmax.par_chunks_mut(out_plane))
            .enumerate()
            .for_each(|(p, (y, am))| {
                let src = &data[p * in_plane..(p + 1) * in_plane];
                // Row by row, tap by tap (row-major, so the first maximum wins ties), all output
                // columns at once: a tight loop of selects that the compiler vectorises.
                for ((oy, y_row), am_row) in y
                    .chunks_exact_mut(ow)
                    .enumerate()
                    .zip(am.chunks_exact_mut(ow))
                {
                    let top = &src[oy * sh * w..];
                    for i in 0..kh {
                        for j in 0..kw {
                            let k = (i * kw + j) as u32;
                            let taps = top[i * w + j..].iter().step_by(sw);
                            for ((best, arg), &v) in
                                y_row.iter_mut().zip(am_row.iter_mut()).zip(taps)
                            {
                                // The first tap always takes; later ones only when strictly greater
                                // (or NaN, which propagates as in PyTorch).
                                let take = (k == 0) | (v > *best) | (v.is_nan() & !best.is_nan());
                                // The comparison is unpredictable on real data: ask for a conditional move,
                                // since a mispredicted branch costs more than the select.
                                // (On the bits: LLVM turns a float select back into a branch.)
                                *best = f32::from_bits(std::hint::select_unpredictable(
                                    take,
                                    v.to_bits(),
                                    best.to_bits(),
                                ));
                                *arg = std::hint::select_unpredictable(take, k, *arg);
                            }
                        }
                    }
                }
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
        dx.par_chunks_mut(in_plane).enumerate().for_each(|(p, dx)| {
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
