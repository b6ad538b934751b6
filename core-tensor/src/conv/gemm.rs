//! The GEMM form: any geometry, through the window matrix.
//!
//! For a chunk of images the windows are laid out as a (C·KH·KW) x (images·OH·OW) matrix
//! ([`crate::window`]; group `g`'s rows are the block `g·(C/G)·KH·KW ..`), and each group is one
//! matrix product with its block of the weight seen as an F x (C/G)·KH·KW matrix:
//! - forward: `Y_g = W_g · cols_g`;
//! - weight gradient: `dW_g = dY_g · cols_gᵀ`, `db = Σ dY`;
//! - input gradient (col2im): `dcols_g = W_gᵀ · dY_g`, then each column added back onto the
//!   input window it came from.

use std::ops::Range;

use ndarray::{ArrayView1, ArrayView2, ArrayView4, ArrayViewMut2, ArrayViewMut4, s};

use crate::conv::choice::GEMM_PER_IMAGE_PLANE;
use crate::conv::{bias_grad_chunk, gather_dy};
use crate::error::{Result, TensorError, layout_error, not_contiguous};
use crate::geometry::Geometry;
use crate::scratch::with_scratch_to_overwrite;
use crate::window::add_columns;

/// `c = a · b + beta · c`: every matrix product of the convolutions goes through here, to the
/// `gemm` family's f32 kernel (`gemm-f32`, the kernel of the `gemm` crate without its f64,
/// complex and f16 siblings, which cost a cold build minutes) on one thread (the chunks of
/// images are the parallelism). It measured faster than `matrixmultiply` at every convolution
/// shape and several times faster on matrices of few rows.
///
/// `beta` is 0 (overwrite `c`) or 1 (add to it). Shapes that do not chain are a bug of this
/// crate, caught in debug builds; `gemm` is then not called.
pub(crate) fn mat_mul(
    a: &ArrayView2<'_, f32>,
    b: &ArrayView2<'_, f32>,
    beta: f32,
    c: &mut ArrayViewMut2<'_, f32>,
) {
    let (m, k) = a.dim();
    let n = b.ncols();
    let chained = b.nrows() == k && c.dim() == (m, n);
    debug_assert!(
        chained,
        "mat_mul of {:?} x {:?} into {:?}",
        a.dim(),
        b.dim(),
        c.dim()
    );
    debug_assert!(beta == 0.0 || beta == 1.0);
    if !chained || m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if beta == 0.0 {
            c.fill(0.0);
        }
        return;
    }
    let strides = [a.strides(), b.strides(), c.strides()];
    if strides.iter().flat_map(|s| s.iter()).any(|&s| s < 0) {
        // Never built by this crate (its views run forwards); ndarray's product takes them.
        ndarray::linalg::general_mat_mul(1.0, a, b, beta, c);
        return;
    }
    let [a_rs, a_cs] = [a.strides()[0], a.strides()[1]];
    let [b_rs, b_cs] = [b.strides()[0], b.strides()[1]];
    let [c_rs, c_cs] = [c.strides()[0], c.strides()[1]];
    let (a_ptr, b_ptr, c_ptr) = (a.as_ptr(), b.as_ptr(), c.as_mut_ptr());
    // The kernel prefers a destination stored by columns: a row-major product is computed as
    // its transpose, cᵀ = bᵀ · aᵀ (what the `gemm` crate's own entry point does first).
    let (m, n, lhs, [l_rs, l_cs], rhs, [r_rs, r_cs], [d_rs, d_cs]) = if c_cs.abs() < c_rs.abs() {
        (n, m, b_ptr, [b_cs, b_rs], a_ptr, [a_cs, a_rs], [c_cs, c_rs])
    } else {
        (m, n, a_ptr, [a_rs, a_cs], b_ptr, [b_rs, b_cs], [c_rs, c_cs])
    };
    #[allow(unsafe_code)]
    // SAFETY: `a`, `b` and `c` are ndarray views of (m, k), (k, n) and (m, n) elements with
    // non-negative strides: for every index in those ranges, the pointer plus index times stride
    // lies in the view's memory, which is all the kernel reads (a, b) and writes (c); swapping
    // the operands and their strides (the transpose) keeps that so. `c` is borrowed mutably, so
    // it overlaps neither `a` nor `b`.
    unsafe {
        gemm_f32::gemm::f32::get_gemm_fn()(
            m,
            n,
            k,
            c_ptr,
            d_cs,
            d_rs,
            beta != 0.0,
            lhs,
            l_cs,
            l_rs,
            rhs,
            r_cs,
            r_rs,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm_common::Parallelism::None,
        );
    }
}

/// Whether the window matrix of `g` is its input itself: a 1x1 kernel, stride 1, no padding.
pub(crate) fn is_pointwise(g: &Geometry) -> bool {
    g.kernel == [1, 1] && g.stride == [1, 1] && g.padding == [0, 0]
}

/// The rows of group `group` in a matrix of blocks of `per_group` rows.
fn group_rows(group: usize, per_group: usize) -> Range<usize> {
    group * per_group..(group + 1) * per_group
}

/// The weight (F, C/G, KH, KW), standard layout, seen as the F x (C/G)·KH·KW GEMM operand.
pub(crate) fn weight_matrix<'a>(
    op: &'static str,
    w: ArrayView4<'a, f32>,
    g: &Geometry,
) -> Result<ArrayView2<'a, f32>> {
    w.into_shape_with_order((g.out_channels, g.patch_len()))
        .map_err(layout_error(op))
}

/// One chunk's forward: `Y_g = W_g · cols_g` per group plus the bias, written into the chunk's
/// (images, F, OH, OW) output.
pub(crate) fn forward_chunk(
    w: &ArrayView2<'_, f32>,
    b: Option<&ArrayView1<'_, f32>>,
    g: &Geometry,
    cols: ArrayView2<'_, f32>,
    mut out: ArrayViewMut4<'_, f32>,
) -> Result<()> {
    const OP: &str = "conv2d (GEMM)";
    let (f, fg, patch) = (g.out_channels, g.group_filters(), g.patch_len());
    let plane = g.out_plane();
    let per_group = |y: &mut ArrayViewMut2<'_, f32>, columns: Range<usize>| {
        for group in 0..g.groups {
            let wg = w.slice(s![group_rows(group, fg), ..]);
            let cg = cols.slice(s![group_rows(group, patch), columns.clone()]);
            let mut yg = y.slice_mut(s![group_rows(group, fg), ..]);
            mat_mul(&wg, &cg, 1.0, &mut yg);
        }
    };
    if plane >= GEMM_PER_IMAGE_PLANE {
        // Large output planes: one GEMM per image and group straight into its output.
        for (bi, mut image) in out.outer_iter_mut().enumerate() {
            let mut y = image
                .view_mut()
                .into_shape_with_order((f, plane))
                .map_err(layout_error(OP))?;
            fill_bias(&mut y, b);
            per_group(&mut y, bi * plane..(bi + 1) * plane);
        }
        Ok(())
    } else {
        // Small planes: one GEMM per group for the chunk, then scatter (F, image, P).
        // Every entry is written by `fill_bias` before the products add to it.
        with_scratch_to_overwrite(f * cols.ncols(), |buf| {
            let mut y =
                ArrayViewMut2::from_shape((f, cols.ncols()), buf).map_err(layout_error(OP))?;
            fill_bias(&mut y, b);
            per_group(&mut y, 0..cols.ncols());
            for (bi, mut image) in out.outer_iter_mut().enumerate() {
                for (mut dst, src) in image.outer_iter_mut().zip(y.outer_iter()) {
                    let src = src.slice(s![bi * plane..(bi + 1) * plane]);
                    let src = src
                        .into_shape_with_order(dst.raw_dim())
                        .map_err(layout_error(OP))?;
                    dst.assign(&src);
                }
            }
            Ok(())
        })
    }
}

/// Sets every row `f` of `y` (F x columns) to the bias `b[f]`, or zero without a bias.
fn fill_bias(y: &mut ArrayViewMut2<'_, f32>, b: Option<&ArrayView1<'_, f32>>) {
    for (f, mut row) in y.outer_iter_mut().enumerate() {
        row.fill(b.map_or(0.0, |b| b[f]));
    }
}

/// dL/dw (F x (C/G)·KH·KW) and dL/db of the images `images` from their window matrix `cols`:
/// their partial sums, written over `dw` and `db`. `dy` is the whole batch's (N, F, OH, OW) data.
pub(crate) fn weight_grad_chunk(
    cols: &ArrayView2<'_, f32>,
    dy: &[f32],
    g: &Geometry,
    images: Range<usize>,
    dw: &mut [f32],
    db: &mut [f32],
) -> Result<()> {
    const OP: &str = "conv2d weight gradient (GEMM)";
    let (f, fg, patch) = (g.out_channels, g.group_filters(), g.patch_len());
    let plane = g.out_plane();
    dw.fill(0.0);
    let mut dw = ArrayViewMut2::from_shape((f, patch), dw).map_err(layout_error(OP))?;
    let per_group =
        |dw: &mut ArrayViewMut2<'_, f32>, dy: &ArrayView2<'_, f32>, columns: Range<usize>| {
            for group in 0..g.groups {
                let dyg = dy.slice(s![group_rows(group, fg), ..]);
                let cg = cols.slice(s![group_rows(group, patch), columns.clone()]);
                let mut dwg = dw.slice_mut(s![group_rows(group, fg), ..]);
                mat_mul(&dyg, &cg.t(), 1.0, &mut dwg);
            }
        };
    if plane >= GEMM_PER_IMAGE_PLANE {
        // Large planes: dY of each image is already an F x P matrix; no gathering.
        for (bi, n) in images.clone().enumerate() {
            let dy_n = ArrayView2::from_shape((f, plane), &dy[n * f * plane..(n + 1) * f * plane])
                .map_err(layout_error(OP))?;
            per_group(&mut dw, &dy_n, bi * plane..(bi + 1) * plane);
        }
    } else {
        let width = cols.ncols();
        with_scratch_to_overwrite(f * width, |dyt| {
            gather_dy(dy, g, images.clone(), dyt);
            let dyt = ArrayView2::from_shape((f, width), &*dyt).map_err(layout_error(OP))?;
            per_group(&mut dw, &dyt, 0..width);
            Ok::<_, TensorError>(())
        })?;
    }
    bias_grad_chunk(dy, g, images, db);
    Ok(())
}

/// One chunk of dL/dx by col2im: `dcols_g = W_gᵀ · dY_g` per group into scratch memory, then added
/// back onto the chunk's windows in `dx` (its (images, C, H, W) part, zeroed).
pub(crate) fn col2im_chunk(
    dy: &[f32],
    w: &ArrayView2<'_, f32>,
    g: &Geometry,
    images: Range<usize>,
    mut dx: ArrayViewMut4<'_, f32>,
) -> Result<()> {
    const OP: &str = "conv2d input gradient (col2im)";
    let count = images.len();
    let (f, fg, patch) = (g.out_channels, g.group_filters(), g.patch_len());
    let plane = g.out_plane();
    let (rows, width) = (g.column_rows(), count * plane);
    let dx = dx.as_slice_mut().ok_or_else(not_contiguous(OP))?;
    if is_pointwise(g) {
        // The window matrix of a 1x1 layer is the image itself: dX_n = Wᵀ · dY_n in place.
        for (bi, n) in images.enumerate() {
            let dy_n = ArrayView2::from_shape((f, plane), &dy[n * f * plane..(n + 1) * f * plane])
                .map_err(layout_error(OP))?;
            let dx_n = &mut dx[bi * rows * plane..(bi + 1) * rows * plane];
            let mut dx_n =
                ArrayViewMut2::from_shape((rows, plane), dx_n).map_err(layout_error(OP))?;
            for group in 0..g.groups {
                let wg = w.slice(s![group_rows(group, fg), ..]);
                let dyg = dy_n.slice(s![group_rows(group, fg), ..]);
                let mut dg = dx_n.slice_mut(s![group_rows(group, patch), ..]);
                mat_mul(&wg.t(), &dyg, 0.0, &mut dg);
            }
        }
        return Ok(());
    }
    // Every entry of the scratch columns is written by the products (beta 0) before it is read.
    with_scratch_to_overwrite(rows * width, |scratch| {
        let mut dcols =
            ArrayViewMut2::from_shape((rows, width), &mut *scratch).map_err(layout_error(OP))?;
        let per_group = |dcols: &mut ArrayViewMut2<'_, f32>,
                         dy: &ArrayView2<'_, f32>,
                         columns: Range<usize>| {
            for group in 0..g.groups {
                let wg = w.slice(s![group_rows(group, fg), ..]);
                let dyg = dy.slice(s![group_rows(group, fg), ..]);
                let mut dg = dcols.slice_mut(s![group_rows(group, patch), columns.clone()]);
                mat_mul(&wg.t(), &dyg, 0.0, &mut dg);
            }
        };
        if plane >= GEMM_PER_IMAGE_PLANE {
            for (bi, n) in images.clone().enumerate() {
                let dy_n =
                    ArrayView2::from_shape((f, plane), &dy[n * f * plane..(n + 1) * f * plane])
                        .map_err(layout_error(OP))?;
                per_group(&mut dcols, &dy_n, bi * plane..(bi + 1) * plane);
            }
        } else {
            with_scratch_to_overwrite(f * width, |dyt| {
                gather_dy(dy, g, images.clone(), dyt);
                let dyt = ArrayView2::from_shape((f, width), &*dyt).map_err(layout_error(OP))?;
                per_group(&mut dcols, &dyt, 0..width);
                Ok::<_, TensorError>(())
            })?;
        }
        add_columns(scratch, g, count, dx);
        Ok::<_, TensorError>(())
    })
}
