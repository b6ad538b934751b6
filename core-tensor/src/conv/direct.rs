//! Direct convolution for stride-1 layers: the kernels read the padded input in place.
//!
//! Where each filter's window is small (a first layer with 1 to 3 channels, a depthwise layer)
//! the window matrix of the GEMM form is many times the size of the input, and laying it out and
//! packing it for the GEMM costs more than the multiply-adds. The direct form reads the padded
//! input in place: for each output row and each block of [`LANES`] outputs along it, it keeps up
//! to [`FILTERS`] filters' sums (of one group) in registers and walks the kernel taps, adding
//! `w[f, c, i, j] · xp[c, oh + i·DH, ow + j·DW .. + LANES]`. The weight gradient is the same walk
//! with the roles swapped: `dw[f, c, i, j] += Σ dy[f, oh, ow] · xp[c, oh + i·DH, ow + j·DW]`, a
//! kernel row's taps summed together per lane (each block of `dy` read once for all of them), the
//! lanes added up in order at the end. Groups and dilation only change which channels and which
//! input positions a filter reads.
//!
//! The kernels are plain loops over fixed-size arrays, compiled by `multiversion` for AVX-512 and
//! AVX2 as well as the baseline, the best picked at run time. They never fuse a multiply and an
//! add, and every sum has a fixed order (bias, then channel, row and column of the kernel; lanes
//! in order), so all versions give the same bits, on any thread count.

use std::ops::Range;

use ndarray::{Array2, ArrayView1, ArrayViewMut4};

use crate::conv::{Dims, MAX_KW, bias_grad_chunk, first, with_kernel_width};
use crate::error::{Result, layout_error, not_contiguous};
use crate::geometry::Geometry;
use crate::scratch::{reuse_or_zeros, with_scratch};
use crate::simd::simd_kernel;
use crate::window::copy_run;

const OP: &str = "conv2d (direct)";

/// Outputs along a row computed together (one AVX2 register of f32; 16 lanes were tried and were
/// slower).
pub(crate) const LANES: usize = 8;
/// Filters whose sums are kept in registers together.
const FILTERS: usize = 4;

/// Whether the direct kernels can compute this geometry at all: stride 1, a kernel at most
/// [`MAX_KW`] wide, and output rows of at least [`LANES`].
pub(crate) fn supports(g: &Geometry) -> bool {
    g.stride == [1, 1] && g.kernel[1] <= MAX_KW && g.output[1] >= LANES
}

/// The images `images` of `x` (standard layout, (N, C, H, W) data) zero-padded, as a
/// (count·C·(H + 2·PH)) x (W + 2·PW) matrix: what the direct and filter-lane kernels read, and
/// what a training step keeps for the weight gradient. `reuse`, a matrix this function returned
/// before for the same geometry and image count, is overwritten instead of allocating (its border
/// is still zero).
pub(crate) fn pad_images(
    x: &[f32],
    g: &Geometry,
    images: Range<usize>,
    reuse: Option<Array2<f32>>,
) -> Result<Array2<f32>> {
    let (rows, wp) = padded_shape(g, images.len());
    let mut xp = reuse_or_zeros(reuse, rows * wp);
    fill_padded(x, g, images, &mut xp);
    Array2::from_shape_vec((rows, wp), xp).map_err(layout_error(OP))
}

/// Writes the images `images` of `x` into `xp` (zeroed, or written before by this function for
/// the same geometry and count) with their padding, as [`pad_images`] lays them out.
pub(crate) fn fill_padded(x: &[f32], g: &Geometry, images: Range<usize>, xp: &mut [f32]) {
    let [h, w] = g.input;
    let [ph, pw] = g.padding;
    let c = g.channels;
    let (_, wp) = padded_shape(g, images.len());
    let hp = h + 2 * ph;
    for (bi, n) in images.enumerate() {
        for ch in 0..c {
            for y in 0..h {
                let src = &x[((n * c + ch) * h + y) * w..][..w];
                copy_run(&mut xp[((bi * c + ch) * hp + y + ph) * wp + pw..][..w], src);
            }
        }
    }
}

/// The shape of the matrix [`pad_images`] returns for `count` images.
pub(crate) fn padded_shape(g: &Geometry, count: usize) -> (usize, usize) {
    let d = Dims::of(g);
    (count * d.c * d.hp, d.wp)
}

/// The forward pass of `count` images, padded in `xp` by [`fill_padded`], into `out` (their
/// (count, F, OH, OW) output, standard layout).
pub(crate) fn forward_chunk(
    xp: &[f32],
    w: &[f32],
    b: Option<&ArrayView1<'_, f32>>,
    g: &Geometry,
    count: usize,
    mut out: ArrayViewMut4<'_, f32>,
) -> Result<()> {
    let out = out.as_slice_mut().ok_or_else(not_contiguous(OP))?;
    with_scratch(g.out_channels, |bias| {
        if let Some(b) = b {
            for (d, s) in bias.iter_mut().zip(b) {
                *d = *s;
            }
        }
        forward_kernel(xp, w, bias, &Dims::of(g), count, out);
    });
    Ok(())
}

/// dL/dw (as F x (C/G)·KH·KW) and dL/db of the images `images`, padded in `xp` by
/// [`pad_images`]: their partial sums, written over `dw` and `db`. `dy` is the whole batch's
/// (N, F, OH, OW) data.
pub(crate) fn param_grads_chunk(
    xp: &[f32],
    dy: &[f32],
    g: &Geometry,
    images: Range<usize>,
    dw: &mut [f32],
    db: &mut [f32],
) -> Result<()> {
    let d = Dims::of(g);
    let plane = g.out_plane();
    let dy_chunk = &dy[images.start * d.f * plane..images.end * d.f * plane];
    dw.fill(0.0);
    weight_grad_kernel(xp, dy_chunk, &d, images.len(), dw);
    bias_grad_chunk(dy, g, images, db);
    Ok(())
}

impl Dims {
    /// The starts of the blocks of `LANES` outputs covering a row: every `LANES`, and a last
    /// block ending at the row's end (overlapping the one before when `LANES` does not divide
    /// the row; it recomputes the same values).
    fn blocks(&self) -> impl Iterator<Item = usize> {
        let last = self.ow - LANES;
        (0..self.ow.div_ceil(LANES)).map(move |k| (k * LANES).min(last))
    }
}

simd_kernel! {
    fn forward_kernel(xp: &[f32], w: &[f32], bias: &[f32], d: &Dims, count: usize, out: &mut [f32]) {
        for bi in 0..count {
            let xp = &xp[bi * d.c * d.hp * d.wp..][..d.c * d.hp * d.wp];
            let out = &mut out[bi * d.f * d.oh * d.ow..][..d.f * d.oh * d.ow];
            if d.cg == 1 && d.ow >= ROW_LANES && d.oh >= ROWS {
                with_kernel_width!(d.kw, forward_one_channel(xp, w, bias, d, out));
                continue;
            }
            for group in 0..d.groups {
                // This group's channels and filters.
                let xg = &xp[group * d.cg * d.hp * d.wp..][..d.cg * d.hp * d.wp];
                let filters = group * d.fg..(group + 1) * d.fg;
                with_kernel_width!(d.kw, forward_group(xg, w, bias, d, filters, out));
            }
        }
    }
}

/// Outputs along a row that [`forward_one_channel`] keeps in registers together.
const ROW_LANES: usize = 16;
/// Output rows that [`forward_one_channel`] computes together.
const ROWS: usize = 4;

/// All filters of one image where each reads one channel (depthwise layers, with any channel
/// multiplier): blocks of [`ROWS`] rows by [`ROW_LANES`] outputs kept in registers while the
/// taps go by (`acc[r, ..] += w[i, j] · xp[oh + r + i·DH, ob + j·DW ..]`; the last block of a
/// row or of the rows overlapping the one before, recomputing the same values). Each output's
/// sum runs in the order of [`forward_filters`] (bias, then kernel row and column), so both give
/// the same bits. Needs output rows of at least [`ROW_LANES`] and at least [`ROWS`] rows.
#[inline(always)]
fn forward_one_channel<const KW: usize>(
    xp: &[f32],
    w: &[f32],
    bias: &[f32],
    d: &Dims,
    out: &mut [f32],
) {
    let taps = d.kh * KW;
    let span = (KW - 1) * d.dw + ROW_LANES;
    let plane = d.oh * d.ow;
    let (last_row, last_col) = (d.oh - ROWS, d.ow - ROW_LANES);
    for f in 0..d.f {
        // Filter f of group f / FG reads that group's one channel.
        let xc = &xp[f / d.fg * d.hp * d.wp..][..d.hp * d.wp];
        let wf = &w[f * taps..][..taps];
        let outf = &mut out[f * plane..][..plane];
        for k in 0..d.oh.div_ceil(ROWS) {
            let oh0 = (k * ROWS).min(last_row);
            for b in 0..d.ow.div_ceil(ROW_LANES) {
                let ob = (b * ROW_LANES).min(last_col);
                let mut acc = [[bias[f]; ROW_LANES]; ROWS];
                for i in 0..d.kh {
                    let wi: &[f32; KW] = first::<KW>(&wf[i * KW..]);
                    for (r, a) in acc.iter_mut().enumerate() {
                        let row = &xc[(oh0 + r + i * d.dh) * d.wp + ob..][..span];
                        for (j, &wv) in wi.iter().enumerate() {
                            let x = first::<ROW_LANES>(&row[j * d.dw..]);
                            for l in 0..ROW_LANES {
                                a[l] += wv * x[l];
                            }
                        }
                    }
                }
                for (r, a) in acc.iter().enumerate() {
                    outf[(oh0 + r) * d.ow + ob..][..ROW_LANES].copy_from_slice(a);
                }
            }
        }
    }
}

/// The filters `filters` of one group (whose channels `xp` holds) of one image, for a kernel
/// `KW` wide: blocks of [`FILTERS`] filters, the last block as wide as what is left; with few
/// filters, several output rows at once, so that enough independent sums are in flight.
#[inline(always)]
fn forward_group<const KW: usize>(
    xp: &[f32],
    w: &[f32],
    bias: &[f32],
    d: &Dims,
    filters: std::ops::Range<usize>,
    out: &mut [f32],
) {
    let mut f0 = filters.start;
    while f0 < filters.end {
        match (filters.end - f0, d.oh >= 4) {
            (1, true) => forward_filters::<1, 4, KW>(xp, w, bias, d, f0, out),
            (2, true) => forward_filters::<2, 2, KW>(xp, w, bias, d, f0, out),
            (3, true) => forward_filters::<3, 2, KW>(xp, w, bias, d, f0, out),
            (_, true) => forward_filters::<FILTERS, 2, KW>(xp, w, bias, d, f0, out),
            (1, false) => forward_filters::<1, 1, KW>(xp, w, bias, d, f0, out),
            (2, false) => forward_filters::<2, 1, KW>(xp, w, bias, d, f0, out),
            (3, false) => forward_filters::<3, 1, KW>(xp, w, bias, d, f0, out),
            (_, false) => forward_filters::<FILTERS, 1, KW>(xp, w, bias, d, f0, out),
        }
        f0 += FILTERS;
    }
}

/// Filters `f0 .. f0 + NF` (of one group, whose channels `xp` holds) of one image: `NR` output
/// rows at a time (the last group of rows overlapping the one before when `NR` does not divide
/// them; it recomputes the same values), `LANES` outputs along each, the `NF · NR` sums in
/// registers while the kernel taps go by. Each output's sum runs in the same order (bias, then
/// channel, kernel row and column) whatever `NF` and `NR`.
#[inline(always)]
fn forward_filters<const NF: usize, const NR: usize, const KW: usize>(
    xp: &[f32],
    w: &[f32],
    bias: &[f32],
    d: &Dims,
    f0: usize,
    out: &mut [f32],
) {
    let taps = d.cg * d.kh * d.kw;
    let w = &w[f0 * taps..][..NF * taps];
    let span = (d.kw - 1) * d.dw + LANES;
    debug_assert!(
        d.oh >= NR,
        "a direct kernel took more rows than the output has"
    );
    let last = d.oh.saturating_sub(NR);
    for k in 0..d.oh.div_ceil(NR) {
        let oh0 = (k * NR).min(last);
        for ob in d.blocks() {
            let mut acc = [[[0.0_f32; LANES]; NR]; NF];
            for (q, a) in acc.iter_mut().enumerate() {
                *a = [[bias[f0 + q]; LANES]; NR];
            }
            for c in 0..d.cg {
                for i in 0..d.kh {
                    let tap0 = (c * d.kh + i) * KW;
                    // This kernel row's weights of the NF filters.
                    let mut wr = [[0.0_f32; KW]; NF];
                    for (q, wq) in wr.iter_mut().enumerate() {
                        wq.copy_from_slice(&w[q * taps + tap0..][..KW]);
                    }
                    for r in 0..NR {
                        let row = &xp[(c * d.hp + oh0 + r + i * d.dh) * d.wp + ob..][..span];
                        for j in 0..KW {
                            let xv: &[f32; LANES] = lanes(&row[j * d.dw..]);
                            for (a, wq) in acc.iter_mut().zip(&wr) {
                                for l in 0..LANES {
                                    a[r][l] += wq[j] * xv[l];
                                }
                            }
                        }
                    }
                }
            }
            for (q, a) in acc.iter().enumerate() {
                for (r, a) in a.iter().enumerate() {
                    out[((f0 + q) * d.oh + oh0 + r) * d.ow + ob..][..LANES].copy_from_slice(a);
                }
            }
        }
    }
}

/// The first `LANES` values of `s` as a fixed-size array (which the compiler keeps in one
/// register).
#[inline(always)]
fn lanes(s: &[f32]) -> &[f32; LANES] {
    first::<LANES>(s)
}

simd_kernel! {
    fn weight_grad_kernel(xp: &[f32], dy: &[f32], d: &Dims, count: usize, dw: &mut [f32]) {
        for bi in 0..count {
            let xp = &xp[bi * d.c * d.hp * d.wp..][..d.c * d.hp * d.wp];
            let dy = &dy[bi * d.f * d.oh * d.ow..][..d.f * d.oh * d.ow];
            with_kernel_width!(d.kw, weight_grad_image(xp, dy, d, dw));
        }
    }
}

/// dL/dw from one image, for a kernel `KW` wide: per filter, channel of its group and kernel
/// row, the `KW` taps' sums kept per lane while the rows go by (each `dy` block read once for all
/// of them), then the lanes added in order.
#[inline(always)]
fn weight_grad_image<const KW: usize>(xp: &[f32], dy: &[f32], d: &Dims, dw: &mut [f32]) {
    let taps = d.cg * d.kh * KW;
    let full = d.ow / LANES * LANES;
    let plane = d.oh * d.ow;
    for f in 0..d.f {
        let dyf = &dy[f * plane..][..plane];
        let first_channel = f / d.fg * d.cg;
        for c in 0..d.cg {
            let channel = first_channel + c;
            for i in 0..d.kh {
                let mut acc = [[0.0_f32; LANES]; KW];
                for oh in 0..d.oh {
                    let xrow = &xp[(channel * d.hp + oh + i * d.dh) * d.wp..][..d.wp];
                    let grow = &dyf[oh * d.ow..][..d.ow];
                    for ob in (0..full).step_by(LANES) {
                        let g = lanes(&grow[ob..]);
                        for (j, a) in acc.iter_mut().enumerate() {
                            let x = lanes(&xrow[ob + j * d.dw..]);
                            for l in 0..LANES {
                                a[l] += g[l] * x[l];
                            }
                        }
                    }
                    if full < d.ow {
                        // The row's last LANES outputs, of which the first `skip` are counted
                        // already: those lanes add an exact zero (a select, not a product, so
                        // no 0 · inf).
                        let ob = d.ow - LANES;
                        let skip = full - ob;
                        let g = lanes(&grow[ob..]);
                        for (j, a) in acc.iter_mut().enumerate() {
                            let x = lanes(&xrow[ob + j * d.dw..]);
                            for l in 0..LANES {
                                let p = g[l] * x[l];
                                a[l] += if l >= skip { p } else { 0.0 };
                            }
                        }
                    }
                }
                for (j, a) in acc.iter().enumerate() {
                    dw[f * taps + (c * d.kh + i) * KW + j] += a.iter().fold(0.0_f32, |s, v| s + v);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Conv2dParams;

    /// The whole-row kernel of one-channel filters and the blocked kernel give the same bits.
    #[test]
    fn one_channel_rows_match_the_blocked_kernel_bit_for_bit() {
        // Depthwise with a channel multiplier of 2, dilation 2, odd sizes: 3 channels, 6 filters.
        let params = Conv2dParams::new()
            .padding([2, 1])
            .dilation([2, 1])
            .groups(3);
        let g = Geometry::conv(OP, &[2, 3, 9, 21], &[6, 1, 3, 3], &params).unwrap();
        let d = Dims::of(&g);
        assert!(d.cg == 1 && d.ow >= ROW_LANES && d.oh >= ROWS);
        let x: Vec<f32> = (0..2 * 3 * 9 * 21)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 7.0)
            .collect();
        let w: Vec<f32> = (0..6 * 9)
            .map(|i| ((i * 13 % 17) as f32 - 8.0) / 3.0)
            .collect();
        let bias: Vec<f32> = (0..6).map(|i| i as f32 * 0.3 - 1.0).collect();
        let (rows, wp) = padded_shape(&g, 2);
        let mut xp = vec![0.0; rows * wp];
        fill_padded(&x, &g, 0..2, &mut xp);
        let plane = d.f * d.oh * d.ow;
        let (mut rows_out, mut blocked) = (vec![0.0; 2 * plane], vec![0.0; 2 * plane]);
        for n in 0..2 {
            let xn = &xp[n * d.c * d.hp * d.wp..][..d.c * d.hp * d.wp];
            forward_one_channel::<3>(xn, &w, &bias, &d, &mut rows_out[n * plane..][..plane]);
            for group in 0..d.groups {
                let xg = &xn[group * d.hp * d.wp..][..d.hp * d.wp];
                let filters = group * d.fg..(group + 1) * d.fg;
                let out = &mut blocked[n * plane..][..plane];
                forward_group::<3>(xg, &w, &bias, &d, filters, out);
            }
        }
        assert_eq!(
            rows_out.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            blocked.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );
    }
}
