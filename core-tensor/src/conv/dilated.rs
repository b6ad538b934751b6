//! dL/dx of a convolution by the stride-dilated convolution (the method of the seed report).
//!
//! With `y = conv2d(x, w)` and upstream gradient `dy = dL/dy`,
//! `dx[n, c, h, w] = Σ dy[n, f, oh, ow] · w[f, c, i, j]` over the `(f, oh, ow, i, j)` with
//! `oh·SH + i·DH - PH = h` and `ow·SW + j·DW - PW = w` (and `f` in `c`'s group). That sum is
//! itself a stride-1 convolution: spread `dy` out by inserting `SH-1` (`SW-1`) zeros between its
//! rows (columns), pad it by `EH-1-PH` (`EW-1-PW`) on each side, where `E = DH·(KH-1)+1` is the
//! kernel's span (cropping where that is negative, and adding the rows and columns the forward
//! pass dropped when the stride does not divide), and convolve it, with the same dilation and
//! groups, with the kernel rotated by 180° and with its in/out channels swapped within each
//! group. [`dilate_pad`] is the first step and [`rotate_kernel`] the second.
//!
//! Most of the spread-out grid is zeros whenever the output is small next to the input; the
//! plan then takes col2im ([`InputGradKernel::Col2Im`](crate::InputGradKernel)), the same sum
//! without those products.

use ndarray::{Array4, ArrayView4, ArrayViewMut4};

use crate::conv::{Conv2dParams, Conv2dPlan};
use crate::error::Result;
use crate::geometry::Geometry;

/// Spreads `dy` (N, F, OH, OW) into the (N, F, H+EH-1, W+EW-1) grid that a stride-1 convolution
/// with the kernel (dilated to span EH x EW) maps back onto the input's (H, W).
///
/// `dy[n, f, oh, ow]` lands at row `oh·SH + EH-1-PH` and column `ow·SW + EW-1-PW`; everything else
/// is zero. Positions outside the grid (when `PH > EH-1`) are cropped: they belonged to windows
/// that lay wholly in the padding and contribute nothing to dx. `params.groups` plays no part.
///
/// # Shapes
/// - `dy`: (N, F, OH, OW), the output of a convolution of an (N, C, H, W) input with a `kernel`
///   (KH, KW) and `params`
/// - `input`: (H, W)
/// - returns (N, F, H + EH - 1, W + EW - 1)
///
/// # Errors
/// A zero stride, dilation or kernel, a kernel larger than the padded input, or a `dy` whose
/// (OH, OW) is not the one that geometry gives.
///
/// # Example
/// The seed report's picture: a 2x2 gradient, stride 2, 3x3 kernel, 5x5 input, no padding, gives a
/// 7x7 grid with the four values at rows and columns 2 and 4.
/// ```
/// use core_tensor::Conv2dParams;
/// use ndarray::Array4;
/// let dy = Array4::from_shape_vec((1, 1, 2, 2), vec![1.0_f32, 2.0, 3.0, 4.0]).unwrap();
/// let params = Conv2dParams::new().stride([2, 2]);
/// let d = core_tensor::dilate_pad(dy.view(), [5, 5], [3, 3], &params).unwrap();
/// assert_eq!(d.shape(), &[1, 1, 7, 7]);
/// assert_eq!((d[[0, 0, 2, 2]], d[[0, 0, 2, 4]], d[[0, 0, 4, 2]], d[[0, 0, 4, 4]]), (1.0, 2.0, 3.0, 4.0));
/// assert_eq!(d.sum(), 10.0);
/// ```
pub fn dilate_pad(
    dy: ArrayView4<'_, f32>,
    input: [usize; 2],
    kernel: [usize; 2],
    params: &Conv2dParams,
) -> Result<Array4<f32>> {
    const OP: &str = "dilate_pad";
    let (n, f, _, _) = dy.dim();
    let params = Conv2dParams {
        groups: 1,
        ..*params
    };
    let w_shape = [f, f, kernel[0], kernel[1]];
    let g = Geometry::conv(OP, &[n, f, input[0], input[1]], &w_shape, &params)?;
    Geometry::expect_shape(OP, "dy", &g.output_shape(), dy.shape())?;
    let mut out = Array4::<f32>::zeros(grid_shape(&g));
    spread_into(dy, &g, out.view_mut());
    Ok(out)
}

/// The shape (N, F, H+EH-1, W+EW-1) of [`dilate_pad`]'s grid for `g`.
fn grid_shape(g: &Geometry) -> [usize; 4] {
    let [eh, ew] = g.extent();
    [
        g.batch,
        g.out_channels,
        g.input[0] + eh - 1,
        g.input[1] + ew - 1,
    ]
}

/// Writes `dy` into its places in `grid` ([`dilate_pad`]); the other places keep what they hold,
/// zeros in a grid that only ever receives `dy`s of `g`.
fn spread_into(dy: ArrayView4<'_, f32>, g: &Geometry, mut grid: ArrayViewMut4<'_, f32>) {
    let [eh, ew] = g.extent();
    let [_, _, gh, gw] = grid_shape(g);
    let [sh, sw] = g.stride;
    let [ph, pw] = g.padding;
    // Row oh lands at oh·SH + EH-1-PH; keep the rows that land inside [0, gh).
    let place = |o: usize, s: usize, e: usize, p: usize, len: usize| {
        (o * s + e - 1).checked_sub(p).filter(|&r| r < len)
    };
    for (mut dst, src) in grid.outer_iter_mut().zip(dy.outer_iter()) {
        for (mut dst, src) in dst.outer_iter_mut().zip(src.outer_iter()) {
            for (oh, src_row) in src.outer_iter().enumerate() {
                let Some(r) = place(oh, sh, eh, ph, gh) else {
                    continue;
                };
                for (ow, v) in src_row.iter().enumerate() {
                    if let Some(c) = place(ow, sw, ew, pw, gw) {
                        dst[[r, c]] = *v;
                    }
                }
            }
        }
    }
}

/// The kernel (F, C/G, KH, KW) of a convolution with `groups` groups rotated by 180° in (KH, KW)
/// with its channel axes swapped within each group: (C, F/G, KH, KW) with
/// `out[g·C/G + c, f, i, j] = w[g·F/G + f, c, KH-1-i, KW-1-j]`.
///
/// # Errors
/// A `groups` of zero or one that does not divide F.
///
/// ```
/// use ndarray::Array4;
/// let w = Array4::from_shape_vec((1, 2, 1, 2), vec![1.0_f32, 2.0, 3.0, 4.0]).unwrap();
/// let r = core_tensor::rotate_kernel(w.view(), 1).unwrap();
/// assert_eq!(r.shape(), &[2, 1, 1, 2]);
/// assert_eq!(r.iter().copied().collect::<Vec<_>>(), vec![2.0, 1.0, 4.0, 3.0]);
/// ```
pub fn rotate_kernel(w: ArrayView4<'_, f32>, groups: usize) -> Result<Array4<f32>> {
    const OP: &str = "rotate_kernel";
    let (f, cg, kh, kw) = w.dim();
    if groups == 0 || !f.is_multiple_of(groups) {
        return Err(crate::TensorError::InvalidArgument {
            op: OP,
            message: format!("groups must be at least 1 and divide the {f} filters, got {groups}"),
        });
    }
    let mut r = Array4::zeros((groups * cg, f / groups, kh, kw));
    rotate_into(w, groups, r.view_mut());
    Ok(r)
}

/// Writes [`rotate_kernel`] of `w` into `r` (C, F/G, KH, KW), overwriting every value.
fn rotate_into(w: ArrayView4<'_, f32>, groups: usize, mut r: ArrayViewMut4<'_, f32>) {
    let (f, cg, kh, kw) = w.dim();
    debug_assert_eq!(
        r.dim(),
        (groups * cg, f / groups, kh, kw),
        "rotated kernel shape"
    );
    let fg = f / groups;
    for ((gc, fi, i, j), v) in r.indexed_iter_mut() {
        let (grp, c) = (gc / cg, gc % cg);
        *v = w[[grp * fg + fi, c, kh - 1 - i, kw - 1 - j]];
    }
}

/// The geometry of the stride-1 convolution that gives dL/dx for `g`: the spread-out gradient
/// (N, F, H+EH-1, W+EW-1) with the rotated kernel (C, F/G, KH, KW), `g`'s dilation and groups.
/// `None` when that is too large to address.
pub(crate) fn inner_geometry(g: &Geometry) -> Option<Geometry> {
    let params = Conv2dParams::new().dilation(g.dilation).groups(g.groups);
    Geometry::conv(
        "conv2d (dilated)",
        &grid_shape(g),
        &rotated_shape(g),
        &params,
    )
    .ok()
}

/// The shape (C, F/G, KH, KW) of [`rotate_kernel`]'s result for `g`.
fn rotated_shape(g: &Geometry) -> [usize; 4] {
    [g.channels, g.group_filters(), g.kernel[0], g.kernel[1]]
}

/// dL/dx by the stride-dilated convolution: [`dilate_pad`], then the planned stride-1 convolution
/// with [`rotate_kernel`]. With stride 1 and padding within the kernel's span nothing is spread
/// out, and the grid is `dy` padded by `E-1-P`: the convolution pads it itself.
///
/// Built once for a geometry, it keeps the inner convolution's plan, the rotated kernel and the
/// grid, and reuses them every step (the grid's zeros stay where they are: only `dy`'s places
/// are written).
#[derive(Debug, Clone)]
pub(crate) struct Adjoint {
    plan: Conv2dPlan,
    rotated: Array4<f32>,
    /// The spread-out grid, when `dy` has to be spread out; empty otherwise.
    grid: Array4<f32>,
    spreads: bool,
}

impl Adjoint {
    /// The adjoint of convolutions of geometry `g` (any batch size).
    pub(crate) fn new(g: &Geometry) -> Result<Self> {
        let [eh, ew] = g.extent();
        let spreads = !(g.stride == [1, 1] && g.padding[0] < eh && g.padding[1] < ew);
        let params = Conv2dParams::new().dilation(g.dilation).groups(g.groups);
        let params = if spreads {
            params
        } else {
            params.padding([eh - 1 - g.padding[0], ew - 1 - g.padding[1]])
        };
        let input = if spreads {
            grid_shape(g)
        } else {
            g.output_shape()
        };
        let rotated = rotated_shape(g);
        Ok(Self {
            plan: Conv2dPlan::new(&input, &rotated, params)?,
            rotated: Array4::zeros(rotated),
            grid: Array4::zeros([0, 0, 0, 0]),
            spreads,
        })
    }

    /// dL/dx into `dx` (N, C, H, W) for `dy` (N, F, OH, OW) and `w` of geometry `g` (whose shapes
    /// the caller has checked); `dx`'s values are overwritten.
    pub(crate) fn input_grad_into(
        &mut self,
        dy: ArrayView4<'_, f32>,
        w: ArrayView4<'_, f32>,
        g: &Geometry,
        dx: ArrayViewMut4<'_, f32>,
    ) -> Result<()> {
        rotate_into(w, g.groups, self.rotated.view_mut());
        if !self.spreads {
            return self.plan.forward_into(dy, self.rotated.view(), None, dx);
        }
        let shape = grid_shape(g);
        if self.grid.shape() != shape {
            self.grid = Array4::zeros(shape);
        }
        spread_into(dy, g, self.grid.view_mut());
        self.plan
            .forward_into(self.grid.view(), self.rotated.view(), None, dx)
    }
}
