//! dL/dw and dL/db of a convolution.
//!
//! `dw[f, c, i, j] = Σ_{n, oh, ow} dy[n, f, oh, ow] · xp[n, c, oh·SH + i, ow·SW + j]`: the padded input
//! convolved (per channel, stride 1) with `dy` dilated by the stride as the kernel, summed over the
//! batch. Reading the padded input at stride-spaced positions is exactly what the window reshaping
//! does, so for a chunk of images it is one GEMM: `dW_chunk = dY_chunk (F x images·P) · colsᵀ
//! (images·P x C·KH·KW)`. `db[f] = Σ_{n, oh, ow} dy[n, f, oh, ow]`. Two layer shapes take kernels
//! that read the padded images instead of the windows: those of the direct forward
//! (`conv/direct.rs`) and those with 16 or 32 filters and output planes of 64 or more
//! (`conv/filter_lanes.rs`), where the GEMM has too few rows to make
//! up for laying out and packing the windows.
//!
//! Per-chunk partial sums are added in chunk order, so the result does not depend on the thread
//! count (see [`crate::parallel`]).

use std::borrow::Cow;
use std::ops::Range;

use ndarray::{Array1, Array2, Array4, ArrayView2, ArrayView4, linalg::general_mat_mul, s};

use crate::conv::forward::{Columns, DIRECT_OUTPUT_PLANE};
use crate::conv::{Form, direct, filter_lanes};
use crate::conv::{bias_grad_chunk, gather_dy};
use crate::error::{Result, TensorError, layout_error};
use crate::geometry::Geometry;
use crate::parallel::{BATCH_CHUNK, batch_chunks, map_chunks};

const OP: &str = "conv2d_weight_grad";
use crate::window::{columns, contiguous};

/// dL/dw and dL/db of `conv2d(x, w, b, stride, padding)` for the upstream gradient `dy`, in one
/// pass over the batch (the layers use this; the input's windows are built once for both).
///
/// PyTorch equivalent: `torch.nn.grad.conv2d_weight(x, w.shape, dy, stride, padding)` and
/// `dy.sum((0, 2, 3))`.
///
/// # Shapes
/// - `x`: (N, C, H, W)
/// - `dy`: (N, F, OH, OW)
/// - returns dw (F, C, KH, KW) and db (F)
///
/// # Errors
/// Non-4-D inputs, a zero stride or kernel, a kernel larger than the padded input, or a `dy` whose
/// shape is not the convolution's output shape.
pub fn conv2d_param_grads(
    x: ArrayView4<'_, f32>,
    dy: ArrayView4<'_, f32>,
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
) -> Result<(Array4<f32>, Array1<f32>)> {
    let f = dy.shape().get(1).copied().unwrap_or(0);
    let c = x.shape().get(1).copied().unwrap_or(0);
    let w_shape = [f, c, kernel[0], kernel[1]];
    let g = Geometry::conv(OP, x.shape(), &w_shape, stride, padding)?;
    Geometry::expect_shape(OP, "dy", &g.output_shape(), dy.shape())?;
    let x = x.as_standard_layout();
    let x = contiguous(OP, &x)?;
    let form = Form::of(&g);
    if form.reads_padded_images() {
        return param_grads(&g, dy, form, |images| {
            Ok(Cow::Owned(direct::pad_images(x, &g, images, None)?))
        });
    }
    param_grads(&g, dy, form, |images| {
        Ok(Cow::Owned(columns(x, &g, images, None)?))
    })
}

/// [`conv2d_param_grads`] from the window [`Columns`] the forward pass kept
/// ([`conv2d_keep_columns`](crate::conv2d_keep_columns)): the same result, bit for bit, without
/// laying the input out again.
///
/// # Errors
/// A `dy` whose shape is not the convolution's output shape, or columns that were not built whole.
pub fn conv2d_param_grads_with_columns(
    columns: &Columns,
    dy: ArrayView4<'_, f32>,
) -> Result<(Array4<f32>, Array1<f32>)> {
    let g = columns.geometry;
    Geometry::expect_shape(OP, "dy", &g.output_shape(), dy.shape())?;
    let chunks = batch_chunks(g.batch);
    let form = Form::of(&g);
    let kept_dim = |images: usize| {
        if form.reads_padded_images() {
            direct::padded_shape(&g, images)
        } else {
            (g.patch_len(), images * g.out_plane())
        }
    };
    let complete = columns.chunks.len() == chunks.len()
        && columns
            .chunks
            .iter()
            .zip(&chunks)
            .all(|(c, r)| c.dim() == kept_dim(r.len()));
    if !complete {
        return Err(TensorError::InvalidArgument {
            op: OP,
            message: "the kept columns do not cover the batch; run conv2d_keep_columns again"
                .into(),
        });
    }
    param_grads(&g, dy, form, |images| {
        Ok(Cow::Borrowed(&columns.chunks[images.start / BATCH_CHUNK]))
    })
}

/// Per chunk: `dW = dY · colsᵀ`, `db = Σ dY` (or the direct or filter-lane kernel on the padded
/// images, as `form` says); partial sums added in chunk order. `kept_for` gives a chunk's window
/// matrix or padded images.
fn param_grads<'c>(
    g: &Geometry,
    dy: ArrayView4<'_, f32>,
    form: Form,
    kept_for: impl Fn(Range<usize>) -> Result<Cow<'c, Array2<f32>>> + Sync + Send,
) -> Result<(Array4<f32>, Array1<f32>)> {
    let dy = dy.as_standard_layout();
    let dy = contiguous(OP, &dy)?;
    let f = g.out_channels;
    let plane = g.out_plane();
    let partials = map_chunks(g.batch, |images| {
        let cols = kept_for(images.clone())?;
        match form {
            Form::Direct => return direct::param_grads_chunk(&cols, dy, g, images),
            Form::FilterLanes => return filter_lanes::param_grads_chunk(&cols, dy, g, images),
            Form::Gemm => {}
        }
        let mut dw = Array2::<f32>::zeros((f, g.patch_len()));
        if plane >= DIRECT_OUTPUT_PLANE {
            // Large planes: dY of each image is already an F x P matrix; no gathering.
            for (bi, n) in images.clone().enumerate() {
                let dy_n =
                    ArrayView2::from_shape((f, plane), &dy[n * f * plane..(n + 1) * f * plane])
                        .map_err(layout_error(OP))?;
                let cols_n = cols.slice(s![.., bi * plane..(bi + 1) * plane]);
                general_mat_mul(1.0, &dy_n, &cols_n.t(), 1.0, &mut dw);
            }
            let db = bias_grad_chunk(dy, g, images);
            return Ok::<_, TensorError>((dw, db));
        }
        let dyt = gather_dy(dy, g, images.clone());
        general_mat_mul(1.0, &dyt, &cols.t(), 0.0, &mut dw);
        let db = bias_grad_chunk(dy, g, images);
        Ok::<_, TensorError>((dw, db))
    })?;

    let mut dw = Array2::<f32>::zeros((f, g.patch_len()));
    let mut db = Array1::<f32>::zeros(f);
    for (pw, pb) in &partials {
        dw += pw;
        db += pb;
    }
    let dw = dw
        .into_shape_with_order(g.weight_shape())
        .map_err(layout_error(OP))?;
    Ok((dw, db))
}

/// dL/dw of `conv2d(x, w, _, stride, padding)` for the upstream gradient `dy`; see
/// [`conv2d_param_grads`] for the formula and shapes.
///
/// PyTorch equivalent: `torch.nn.grad.conv2d_weight(x, w.shape, dy, stride, padding)`.
///
/// # Errors
/// As [`conv2d_param_grads`].
///
/// # Example
/// ```
/// use ndarray::Array4;
/// let x = Array4::<f32>::ones((2, 1, 3, 3));
/// let dy = Array4::<f32>::ones((2, 1, 2, 2));
/// let dw = core_tensor::conv2d_weight_grad(x.view(), dy.view(), [2, 2], [1, 1], [0, 0]).unwrap();
/// assert_eq!(dw.shape(), &[1, 1, 2, 2]);
/// assert!(dw.iter().all(|&v| v == 8.0)); // 2 images x 4 windows
/// ```
pub fn conv2d_weight_grad(
    x: ArrayView4<'_, f32>,
    dy: ArrayView4<'_, f32>,
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
) -> Result<Array4<f32>> {
    conv2d_param_grads(x, dy, kernel, stride, padding).map(|(dw, _)| dw)
}

/// dL/db of a convolution: `dy` (N, F, OH, OW) summed over N, OH and OW, giving (F).
///
/// Summed in the same order as [`conv2d_param_grads`], so both give the same bits.
///
/// PyTorch equivalent: `dy.sum((0, 2, 3))`.
///
/// # Errors
/// A `dy` that is not 4-D.
///
/// ```
/// use ndarray::Array4;
/// let dy = Array4::<f32>::ones((3, 2, 4, 4));
/// let db = core_tensor::conv2d_bias_grad(dy.view()).unwrap();
/// assert_eq!(db.to_vec(), vec![48.0, 48.0]);
/// ```
pub fn conv2d_bias_grad(dy: ArrayView4<'_, f32>) -> Result<Array1<f32>> {
    const OP: &str = "conv2d_bias_grad";
    let (n, f, oh, ow) = dy.dim();
    let g = Geometry {
        batch: n,
        channels: f,
        input: [oh, ow],
        out_channels: f,
        kernel: [1, 1],
        stride: [1, 1],
        padding: [0, 0],
        output: [oh, ow],
    };
    let dy = dy.as_standard_layout();
    let dy = contiguous(OP, &dy)?;
    let partials = map_chunks(g.batch, |images| {
        Ok::<_, TensorError>(bias_grad_chunk(dy, &g, images))
    })?;
    let mut db = Array1::<f32>::zeros(f);
    for pb in &partials {
        db += pb;
    }
    Ok(db)
}
