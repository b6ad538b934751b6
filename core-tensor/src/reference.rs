//! Naive direct-loop versions of every kernel: the ground truth for tests and benchmarks.
//!
//! Each function is the definition written as loops, with `f64` accumulators, and shares no code
//! with the fast kernels (not even the window reshaping), so that an error in one cannot hide in
//! the other. They check their arguments with the same [`Geometry`] rules and return the same
//! errors. They are slow on purpose: use them to check, not to train.

use ndarray::{Array1, Array4, Array6, ArrayView4};

use crate::conv::Conv2dParams;
use crate::error::Result;
use crate::geometry::Geometry;

/// Input index `o·stride + tap - pad`, or `None` when it falls in the padding.
fn input_index(o: usize, stride: usize, tap: usize, pad: usize, len: usize) -> Option<usize> {
    (o * stride + tap).checked_sub(pad).filter(|&i| i < len)
}

/// The windows (N, C, OH, OW, KH, KW) of `x` padded by `padding`, element by element.
///
/// # Errors
/// As [`crate::im2col`].
pub fn windows(
    x: ArrayView4<'_, f32>,
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
) -> Result<Array6<f32>> {
    let g = Geometry::windows("reference::windows", x.shape(), kernel, stride, padding)?;
    let [oh, ow] = g.output;
    let [kh, kw] = kernel;
    let mut out = Array6::zeros((g.batch, g.channels, oh, ow, kh, kw));
    for ((n, c, y, xx, i, j), v) in out.indexed_iter_mut() {
        if let (Some(iy), Some(ix)) = (
            input_index(y, stride[0], i, padding[0], g.input[0]),
            input_index(xx, stride[1], j, padding[1], g.input[1]),
        ) {
            *v = x[[n, c, iy, ix]];
        }
    }
    Ok(out)
}

/// The input index of output position `o` and tap `tap` of a convolution along one axis, or
/// `None` when it falls in the padding.
fn conv_index(o: usize, tap: usize, g: &Geometry, axis: usize) -> Option<usize> {
    input_index(
        o,
        g.stride[axis],
        tap * g.dilation[axis],
        g.padding[axis],
        g.input[axis],
    )
}

/// Convolution forward by its definition (with dilation and groups).
///
/// # Errors
/// As [`crate::conv2d`].
pub fn conv2d(
    x: ArrayView4<'_, f32>,
    w: ArrayView4<'_, f32>,
    b: Option<ndarray::ArrayView1<'_, f32>>,
    params: &Conv2dParams,
) -> Result<Array4<f32>> {
    let g = Geometry::conv("reference::conv2d", x.shape(), w.shape(), params)?;
    if let Some(b) = &b {
        Geometry::expect_shape("reference::conv2d", "bias", &[g.out_channels], b.shape())?;
    }
    let [kh, kw] = g.kernel;
    let mut y = Array4::zeros(g.output_shape());
    let (cg, fg) = (g.group_channels(), g.group_filters());
    for ((n, f, oy, ox), out) in y.indexed_iter_mut() {
        let mut acc = b.as_ref().map_or(0.0, |b| f64::from(b[f]));
        for c in 0..cg {
            for i in 0..kh {
                for j in 0..kw {
                    if let (Some(iy), Some(ix)) =
                        (conv_index(oy, i, &g, 0), conv_index(ox, j, &g, 1))
                    {
                        let channel = f / fg * cg + c;
                        acc += f64::from(x[[n, channel, iy, ix]]) * f64::from(w[[f, c, i, j]]);
                    }
                }
            }
        }
        *out = acc as f32;
    }
    Ok(y)
}

/// dL/dx of a convolution: every `dy` element scattered back through the weight.
///
/// # Errors
/// As [`crate::conv2d_backward`].
pub fn conv2d_input_grad(
    dy: ArrayView4<'_, f32>,
    w: ArrayView4<'_, f32>,
    input: [usize; 2],
    params: &Conv2dParams,
) -> Result<Array4<f32>> {
    const OP: &str = "reference::conv2d_input_grad";
    let c = w.shape().get(1).copied().unwrap_or(0) * params.groups;
    let x_shape = [dy.shape()[0], c, input[0], input[1]];
    let g = Geometry::conv(OP, &x_shape, w.shape(), params)?;
    Geometry::expect_shape(OP, "dy", &g.output_shape(), dy.shape())?;
    let [kh, kw] = g.kernel;
    let (cg, fg) = (g.group_channels(), g.group_filters());
    let mut dx = ndarray::Array4::<f64>::zeros(g.input_shape());
    for ((n, f, oy, ox), &d) in dy.indexed_iter() {
        for c in 0..cg {
            for i in 0..kh {
                for j in 0..kw {
                    if let (Some(iy), Some(ix)) =
                        (conv_index(oy, i, &g, 0), conv_index(ox, j, &g, 1))
                    {
                        let channel = f / fg * cg + c;
                        dx[[n, channel, iy, ix]] += f64::from(d) * f64::from(w[[f, c, i, j]]);
                    }
                }
            }
        }
    }
    Ok(dx.mapv(|v| v as f32))
}

/// dL/dw of a convolution by its definition.
///
/// # Errors
/// As [`crate::conv2d_backward`].
pub fn conv2d_weight_grad(
    x: ArrayView4<'_, f32>,
    dy: ArrayView4<'_, f32>,
    kernel: [usize; 2],
    params: &Conv2dParams,
) -> Result<Array4<f32>> {
    const OP: &str = "reference::conv2d_weight_grad";
    let groups = params.groups.max(1);
    let w_shape = [
        dy.shape()[1],
        x.shape().get(1).copied().unwrap_or(0) / groups,
        kernel[0],
        kernel[1],
    ];
    let g = Geometry::conv(OP, x.shape(), &w_shape, params)?;
    Geometry::expect_shape(OP, "dy", &g.output_shape(), dy.shape())?;
    let [oh, ow] = g.output;
    let (cg, fg) = (g.group_channels(), g.group_filters());
    let mut dw = Array4::zeros(w_shape);
    for ((f, c, i, j), out) in dw.indexed_iter_mut() {
        let channel = f / fg * cg + c;
        let mut acc = 0.0_f64;
        for n in 0..g.batch {
            for oy in 0..oh {
                for ox in 0..ow {
                    if let (Some(iy), Some(ix)) =
                        (conv_index(oy, i, &g, 0), conv_index(ox, j, &g, 1))
                    {
                        acc += f64::from(dy[[n, f, oy, ox]]) * f64::from(x[[n, channel, iy, ix]]);
                    }
                }
            }
        }
        *out = acc as f32;
    }
    Ok(dw)
}

/// dL/db of a convolution: `dy` summed over N, OH, OW.
pub fn conv2d_bias_grad(dy: ArrayView4<'_, f32>) -> Array1<f32> {
    let mut db = Array1::<f64>::zeros(dy.shape()[1]);
    for ((_, f, _, _), &d) in dy.indexed_iter() {
        db[f] += f64::from(d);
    }
    db.mapv(|v| v as f32)
}

/// Max pooling by its definition: the output and the dense 0/1 mask (N, C, OH, OW, KH, KW), the
/// first maximum in row-major order marked on ties.
///
/// # Errors
/// As [`crate::max_pool2d`].
pub fn max_pool2d(
    x: ArrayView4<'_, f32>,
    kernel: [usize; 2],
    stride: [usize; 2],
) -> Result<(Array4<f32>, Array6<f32>)> {
    let g = Geometry::windows("reference::max_pool2d", x.shape(), kernel, stride, [0, 0])?;
    let [oh, ow] = g.output;
    let [kh, kw] = kernel;
    let mut y = Array4::zeros(g.output_shape());
    let mut mask = Array6::zeros((g.batch, g.channels, oh, ow, kh, kw));
    for ((n, c, oy, ox), out) in y.indexed_iter_mut() {
        let mut best: Option<(f32, usize, usize)> = None;
        for i in 0..kh {
            for j in 0..kw {
                let v = x[[n, c, oy * stride[0] + i, ox * stride[1] + j]];
                let better = match best {
                    None => true,
                    Some((b, _, _)) => v > b || (v.is_nan() && !b.is_nan()),
                };
                if better {
                    best = Some((v, i, j));
                }
            }
        }
        if let Some((v, i, j)) = best {
            *out = v;
            mask[[n, c, oy, ox, i, j]] = 1.0;
        }
    }
    Ok((y, mask))
}

/// dL/dx of max pooling from the dense mask of [`max_pool2d`].
pub fn max_pool2d_backward(
    dy: ArrayView4<'_, f32>,
    mask: &Array6<f32>,
    input: [usize; 2],
    stride: [usize; 2],
) -> Array4<f32> {
    let (n, c, _, _) = dy.dim();
    let mut dx = Array4::<f64>::zeros((n, c, input[0], input[1]));
    for ((b, ch, oy, ox, i, j), &m) in mask.indexed_iter() {
        if m != 0.0 {
            dx[[b, ch, oy * stride[0] + i, ox * stride[1] + j]] += f64::from(dy[[b, ch, oy, ox]]);
        }
    }
    dx.mapv(|v| v as f32)
}

/// Average pooling by its definition.
///
/// # Errors
/// As [`crate::avg_pool2d`].
pub fn avg_pool2d(
    x: ArrayView4<'_, f32>,
    kernel: [usize; 2],
    stride: [usize; 2],
) -> Result<Array4<f32>> {
    let g = Geometry::windows("reference::avg_pool2d", x.shape(), kernel, stride, [0, 0])?;
    let [kh, kw] = kernel;
    let mut y = Array4::zeros(g.output_shape());
    for ((n, c, oy, ox), out) in y.indexed_iter_mut() {
        let mut acc = 0.0_f64;
        for i in 0..kh {
            for j in 0..kw {
                acc += f64::from(x[[n, c, oy * stride[0] + i, ox * stride[1] + j]]);
            }
        }
        *out = (acc / (kh * kw) as f64) as f32;
    }
    Ok(y)
}

/// dL/dx of average pooling by its definition.
///
/// # Errors
/// As [`crate::avg_pool2d_backward`].
pub fn avg_pool2d_backward(
    dy: ArrayView4<'_, f32>,
    input: [usize; 2],
    kernel: [usize; 2],
    stride: [usize; 2],
) -> Result<Array4<f32>> {
    let (n, c, _, _) = dy.dim();
    let g = Geometry::windows(
        "reference::avg_pool2d_backward",
        &[n, c, input[0], input[1]],
        kernel,
        stride,
        [0, 0],
    )?;
    Geometry::expect_shape(
        "reference::avg_pool2d_backward",
        "dy",
        &g.output_shape(),
        dy.shape(),
    )?;
    let [kh, kw] = kernel;
    let mut dx = Array4::<f64>::zeros(g.input_shape());
    for ((b, ch, oy, ox), &d) in dy.indexed_iter() {
        for i in 0..kh {
            for j in 0..kw {
                dx[[b, ch, oy * stride[0] + i, ox * stride[1] + j]] +=
                    f64::from(d) / (kh * kw) as f64;
            }
        }
    }
    Ok(dx.mapv(|v| v as f32))
}
