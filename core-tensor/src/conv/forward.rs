//! Convolution forward pass.

use ndarray::{
    Array2, Array4, ArrayView1, ArrayView2, ArrayView4, ArrayViewMut4, linalg::general_mat_mul, s,
};

use std::sync::Mutex;

use crate::conv::{Form, direct};
use crate::error::{Result, layout_error};
use crate::geometry::Geometry;
use crate::parallel::{BATCH_CHUNK, map_chunks_mut};
use crate::scratch::with_scratch;
use crate::window::{columns, contiguous, fill_columns};

/// 2-D convolution: `y[n, f, oh, ow] = b[f] + Σ_{c,i,j} w[f, c, i, j] · xp[n, c, oh·SH + i, ow·SW + j]`
/// where `xp` is `x` zero-padded by `padding`.
///
/// PyTorch equivalent: `torch.nn.functional.conv2d(x, w, b, stride, padding)`.
///
/// # Shapes
/// - `x`: (N, C, H, W)
/// - `w`: (F, C, KH, KW)
/// - `b`: (F), optional
/// - returns (N, F, OH, OW) with `OH = (H + 2·PH - KH) / SH + 1`, `OW` likewise.
///
/// # Method
/// For each chunk of images the windows are laid out as a (C·KH·KW) x (images·OH·OW) matrix and
/// multiplied by the weight seen as an F x (C·KH·KW) matrix: one GEMM per chunk, chunks in parallel.
/// Stride-1 layers with windows of at most 32 values and output rows of 16 or more use direct
/// kernels on the padded images instead (`conv/direct.rs`): the window matrix
/// would be many times the input and cost more to lay out than to multiply.
///
/// # Errors
/// Non-4-D inputs, a zero stride, a kernel larger than the padded input, a channel mismatch between
/// `x` and `w`, or a bias whose length is not F.
///
/// # Example
/// ```
/// use ndarray::{Array1, Array4};
/// let x = Array4::<f32>::ones((1, 1, 3, 3));
/// let w = Array4::<f32>::ones((2, 1, 2, 2));
/// let b = Array1::from(vec![0.0, 1.0]);
/// let y = core_tensor::conv2d(x.view(), w.view(), Some(b.view()), [1, 1], [0, 0]).unwrap();
/// assert_eq!(y.shape(), &[1, 2, 2, 2]);
/// assert_eq!(y[[0, 0, 0, 0]], 4.0);
/// assert_eq!(y[[0, 1, 1, 1]], 5.0);
/// ```
pub fn conv2d(
    x: ArrayView4<'_, f32>,
    w: ArrayView4<'_, f32>,
    b: Option<ArrayView1<'_, f32>>,
    stride: [usize; 2],
    padding: [usize; 2],
) -> Result<Array4<f32>> {
    forward(x, w, b, stride, padding, false, None).map(|(y, _, _)| y)
}

/// What a forward pass keeps for the weight gradient
/// ([`conv2d_param_grads_with_columns`](crate::conv2d_param_grads_with_columns)) so that the
/// backward pass need not lay the input out again: per chunk of
/// [`BATCH_CHUNK`](crate::parallel::BATCH_CHUNK) images, the (C·KH·KW) x (images·OH·OW) window
/// matrix of the GEMM form, or the zero-padded images where the kernels that read them apply: the
/// direct kernels (stride 1, windows of at most 32 values, output rows of 16 or more) and the
/// weight gradient vectorised over the filters (16 or 32 filters, output planes of 64 or more).
#[derive(Debug, Clone, PartialEq)]
pub struct Columns {
    pub(crate) geometry: Geometry,
    pub(crate) chunks: Vec<Array2<f32>>,
}

impl Columns {
    /// The geometry of the convolution that built them.
    pub fn geometry(&self) -> &Geometry {
        &self.geometry
    }

    /// Bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.chunks
            .iter()
            .map(|c| c.len() * std::mem::size_of::<f32>())
            .sum()
    }
}

/// [`conv2d`] that also returns the window [`Columns`] it built, for a training step's backward
/// pass. Same result, bit for bit, as [`conv2d`].
///
/// # Errors
/// As [`conv2d`].
pub fn conv2d_keep_columns(
    x: ArrayView4<'_, f32>,
    w: ArrayView4<'_, f32>,
    b: Option<ArrayView1<'_, f32>>,
    stride: [usize; 2],
    padding: [usize; 2],
) -> Result<(Array4<f32>, Columns)> {
    let (y, geometry, chunks) = forward(x, w, b, stride, padding, true, None)?;
    Ok((y, Columns { geometry, chunks }))
}

/// [`conv2d_keep_columns`] that writes the windows into the buffers of `previous` (the columns of
/// the last training step) when the geometry is the same, instead of allocating new ones: a
/// training loop lays out megabytes of windows per step, and fresh memory costs page faults.
/// Same result, bit for bit; with another geometry (a shorter last batch) it allocates.
///
/// # Errors
/// As [`conv2d`].
pub fn conv2d_reuse_columns(
    x: ArrayView4<'_, f32>,
    w: ArrayView4<'_, f32>,
    b: Option<ArrayView1<'_, f32>>,
    stride: [usize; 2],
    padding: [usize; 2],
    previous: Columns,
) -> Result<(Array4<f32>, Columns)> {
    let (y, geometry, chunks) = forward(x, w, b, stride, padding, true, Some(previous))?;
    Ok((y, Columns { geometry, chunks }))
}

const OP: &str = "conv2d";

fn forward(
    x: ArrayView4<'_, f32>,
    w: ArrayView4<'_, f32>,
    b: Option<ArrayView1<'_, f32>>,
    stride: [usize; 2],
    padding: [usize; 2],
    keep: bool,
    reuse: Option<Columns>,
) -> Result<(Array4<f32>, Geometry, Vec<Array2<f32>>)> {
    let g = Geometry::conv(OP, x.shape(), w.shape(), stride, padding)?;
    // Buffers of the same geometry, one per chunk, each taken by its chunk's worker only.
    let spare: Vec<Mutex<Option<Array2<f32>>>> = reuse
        .filter(|r| r.geometry == g)
        .map(|r| r.chunks.into_iter().map(|c| Mutex::new(Some(c))).collect())
        .unwrap_or_default();
    let spare_for = |images: &std::ops::Range<usize>| {
        spare
            .get(images.start / BATCH_CHUNK)
            .and_then(|slot| slot.lock().ok().and_then(|mut b| b.take()))
    };
    if let Some(b) = &b {
        Geometry::expect_shape(OP, "bias", &[g.out_channels], b.shape())?;
    }
    let x = x.as_standard_layout();
    let x = contiguous(OP, &x)?;
    let w = w.as_standard_layout();
    let w_data = contiguous(OP, &w)?;
    let w = weight_matrix(OP, &w.view(), &g)?;
    let plane = g.out_plane();

    let mut out = Array4::<f32>::zeros(g.output_shape());
    let form = Form::of(&g);
    let kept = map_chunks_mut(&mut out, |images, out| {
        let spare = spare_for(&images);
        match form {
            Form::Direct => {
                // Small windows, wide rows: convolve the padded images in place (see `direct`);
                // a training step keeps them for the weight gradient.
                let count = images.len();
                let xp = direct::pad_images(x, &g, images, spare)?;
                direct::forward_chunk(&xp, w_data, b.as_ref(), &g, count, out)?;
                Ok(keep.then_some(xp))
            }
            Form::Gemm if keep => {
                let cols = columns(x, &g, images, spare)?;
                chunk_forward(&w, b.as_ref(), &g, cols.view(), out)?;
                Ok(Some(cols))
            }
            Form::Gemm | Form::FilterLanes => {
                // The windows are needed for this chunk only: lay them out in scratch. The
                // filter-lane weight gradient reads the padded images, which a training step
                // keeps instead.
                let kept = if keep && form == Form::FilterLanes {
                    Some(direct::pad_images(x, &g, images.clone(), spare)?)
                } else {
                    None
                };
                let (rows, width) = (g.patch_len(), images.len() * plane);
                with_scratch(rows * width, |buf| {
                    fill_columns(x, &g, images, buf);
                    let cols =
                        ArrayView2::from_shape((rows, width), &*buf).map_err(layout_error(OP))?;
                    chunk_forward(&w, b.as_ref(), &g, cols, out)
                })?;
                Ok(kept)
            }
        }
    })?;
    Ok((out, g, kept.into_iter().flatten().collect()))
}

/// One chunk: `Y_chunk (F x images·P) = W (F x CKK) · cols (CKK x images·P)` plus the bias,
/// written into the chunk's (images, F, OH, OW) output.
fn chunk_forward(
    w: &ArrayView2<'_, f32>,
    b: Option<&ArrayView1<'_, f32>>,
    g: &Geometry,
    cols: ArrayView2<'_, f32>,
    mut out: ArrayViewMut4<'_, f32>,
) -> Result<()> {
    let f = g.out_channels;
    let plane = g.out_plane();
    if plane >= DIRECT_OUTPUT_PLANE {
        // Large output planes: one GEMM per image straight into its (F, OH·OW) output.
        for (bi, mut image) in out.outer_iter_mut().enumerate() {
            let mut y = image
                .view_mut()
                .into_shape_with_order((f, plane))
                .map_err(layout_error(OP))?;
            fill_bias(&mut y, b);
            let cols_n = cols.slice(s![.., bi * plane..(bi + 1) * plane]);
            general_mat_mul(1.0, w, &cols_n, 1.0, &mut y);
        }
    } else {
        // Small planes: one GEMM for the chunk, then scatter (F, image, P) into the output.
        let mut y = Array2::<f32>::zeros((f, cols.ncols()));
        fill_bias(&mut y.view_mut(), b);
        general_mat_mul(1.0, w, &cols, 1.0, &mut y);
        for (bi, mut image) in out.outer_iter_mut().enumerate() {
            for (mut dst, src) in image.outer_iter_mut().zip(y.outer_iter()) {
                let src = src.slice(s![bi * plane..(bi + 1) * plane]);
                let src = src
                    .into_shape_with_order(dst.raw_dim())
                    .map_err(layout_error(OP))?;
                dst.assign(&src);
            }
        }
    }
    Ok(())
}

/// Output planes (OH·OW) at least this large get one GEMM per image, written in place; smaller
/// ones share a GEMM per chunk (a GEMM with a handful of columns is mostly overhead).
pub(crate) const DIRECT_OUTPUT_PLANE: usize = 64;

/// Sets every row `f` of `y` (F x columns) to the bias `b[f]`, or zero without a bias.
fn fill_bias(y: &mut ndarray::ArrayViewMut2<'_, f32>, b: Option<&ArrayView1<'_, f32>>) {
    for (f, mut row) in y.outer_iter_mut().enumerate() {
        row.fill(b.map_or(0.0, |b| b[f]));
    }
}

/// The weight (F, C, KH, KW) seen as the F x (C·KH·KW) GEMM operand.
pub(crate) fn weight_matrix<'a>(
    op: &'static str,
    w: &ArrayView4<'a, f32>,
    g: &Geometry,
) -> Result<ndarray::ArrayView2<'a, f32>> {
    (*w).into_shape_with_order((g.out_channels, g.patch_len()))
        .map_err(layout_error(op))
}
