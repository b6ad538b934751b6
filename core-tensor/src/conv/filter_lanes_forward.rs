//! The forward pass of a stride-1 convolution vectorised over the filters, on the padded images
//! read in place: for layers with a few to a few dozen channels, where the window matrix of the
//! GEMM form is many times the input and laying it out and packing it costs more than its
//! product (for example 6 -> 16 channels, 5x5 kernel, 14x14 images).
//!
//! Each block computes `L` filters of one group (the vector lanes: 16, one AVX-512 register, or
//! 8, one AVX2 register) at `R` x 5 outputs (`R` output rows, 5 adjacent outputs along each; `R`
//! 5 with AVX-512, 2 with AVX2, so that the sums fill the registers): the `R·5` vectors of sums
//! stay in registers while the taps go by, each tap adding
//! `xp[c, oh + i·DH, ow + j·DW] · w[f..f + L, c, i, j]` (a broadcast input times a vector of
//! weights, laid out filters-last once per call by [`pack_weights`]). A group whose filters `L`
//! does not divide computes its last block with zero weights in the lanes past its last filter
//! and stores only its own.
//!
//! Like `conv/direct.rs`, the kernel is plain loops over fixed-size arrays compiled by
//! `multiversion`; it never fuses a multiply and an add, and each output's sum runs in the
//! direct kernels' order (bias, then channel, kernel row and column), so it gives their bits
//! whatever the lanes, the block and the thread count.

use ndarray::{ArrayView1, ArrayViewMut4};

use crate::conv::{Dims, MAX_KW, first};
use crate::error::{Result, not_contiguous};
use crate::geometry::Geometry;
use crate::scratch::with_scratch;

const OP: &str = "conv2d (filter-lane forward)";

/// The outputs along a row that one block computes. Other widths (4, 6, 7, 8) were tried:
/// the compiler then vectorises the sums along the row instead of over the filters, and the
/// kernel ran 20 to 40 times slower.
const WIDTH: usize = 5;

/// Whether the filter-lane forward kernel can compute this geometry at all: stride 1, a kernel
/// at most [`MAX_KW`] wide and output rows at least [`WIDTH`] wide (any dilation and groups).
pub(crate) fn supports(g: &Geometry) -> bool {
    g.stride == [1, 1] && g.kernel[1] <= MAX_KW && g.output[1] >= WIDTH
}

/// The filters per block on this CPU: 16 with AVX-512 (unless [`crate::simd::force_avx2`]), else
/// 8.
pub(crate) fn lanes() -> usize {
    #[cfg(target_arch = "x86_64")]
    if !crate::simd::avx2_forced() && std::arch::is_x86_feature_detected!("avx512f") {
        return WIDE;
    }
    NARROW
}

const WIDE: usize = 16;
const NARROW: usize = 8;

/// The weights (F, C/G, KH, KW) laid out for the kernel with `lanes` filters per block: per
/// group and block, (C/G·KH·KW, lanes), filters-last, the lanes past a group's last filter
/// zero.
pub(crate) fn pack_weights(w: &[f32], g: &Geometry, lanes: usize) -> Vec<f32> {
    let d = Dims::of(g);
    let taps = d.cg * d.kh * d.kw;
    let mut packed = vec![0.0_f32; d.groups * d.fg.div_ceil(lanes) * taps * lanes];
    for (f, wf) in w.chunks_exact(taps).enumerate() {
        let (block, lane) = block_and_lane(f, &d, lanes);
        let block = &mut packed[block * taps * lanes..];
        for (t, &v) in wf.iter().enumerate() {
            block[t * lanes + lane] = v;
        }
    }
    packed
}

/// Which block of `lanes` filters (counted over all groups) and which lane of it filter `f`
/// takes: each group's filters start a block.
fn block_and_lane(f: usize, d: &Dims, lanes: usize) -> (usize, usize) {
    let (group, fi) = (f / d.fg, f % d.fg);
    (group * d.fg.div_ceil(lanes) + fi / lanes, fi % lanes)
}

/// The forward pass of `count` images, padded in `xp` (as `direct::fill_padded` lays them out),
/// into `out` (their (count, F, OH, OW) output, standard layout), with the weights `packed` by
/// [`pack_weights`] for `lanes` filters per block.
pub(crate) fn forward_chunk(
    xp: &[f32],
    (packed, lanes): (&[f32], usize),
    b: Option<&ArrayView1<'_, f32>>,
    g: &Geometry,
    count: usize,
    mut out: ArrayViewMut4<'_, f32>,
) -> Result<()> {
    let out = out.as_slice_mut().ok_or_else(not_contiguous(OP))?;
    let d = Dims::of(g);
    // The bias per block of lanes, zero past each group's last filter.
    let blocks = d.fg.div_ceil(lanes);
    with_scratch(d.groups * blocks * lanes, |bias| {
        if let Some(b) = b {
            for (f, &v) in b.iter().enumerate() {
                let (block, lane) = block_and_lane(f, &d, lanes);
                bias[block * lanes + lane] = v;
            }
        }
        for n in 0..count {
            let image = &xp[n * d.c * d.hp * d.wp..][..d.c * d.hp * d.wp];
            let out = &mut out[n * d.f * d.oh * d.ow..][..d.f * d.oh * d.ow];
            if lanes == WIDE {
                wide_kernel(image, packed, bias, &d, out);
            } else {
                narrow_kernel(image, packed, bias, &d, out);
            }
        }
    });
    Ok(())
}

/// Calls `blocks_of_image` with `L` lanes, blocks of `R` rows by [`WIDTH`], and the kernel
/// width `KW` with the span of input a block row reads without dilation, `WIDTH + KW - 1`, as
/// constants.
macro_rules! dispatch {
    ($l:literal, $r:literal, $kw:expr, $args:tt) => {
        match $kw {
            1 => blocks_of_image::<$l, $r, 1, { WIDTH }>$args,
            2 => blocks_of_image::<$l, $r, 2, { WIDTH + 1 }>$args,
            3 => blocks_of_image::<$l, $r, 3, { WIDTH + 2 }>$args,
            4 => blocks_of_image::<$l, $r, 4, { WIDTH + 3 }>$args,
            5 => blocks_of_image::<$l, $r, 5, { WIDTH + 4 }>$args,
            6 => blocks_of_image::<$l, $r, 6, { WIDTH + 5 }>$args,
            7 => blocks_of_image::<$l, $r, 7, { WIDTH + 6 }>$args,
            _ => blocks_of_image::<$l, $r, 8, { WIDTH + 7 }>$args,
        }
    };
}

/// 16 lanes, blocks of 5 x 5 outputs (25 vectors of sums in AVX-512's 32 registers).
#[multiversion::multiversion(targets("x86_64+avx512f+avx2+avx"))]
fn wide_kernel(xp: &[f32], packed: &[f32], bias: &[f32], d: &Dims, out: &mut [f32]) {
    dispatch!(16, 5, d.kw, (xp, packed, bias, d, out));
}

/// 8 lanes, blocks of 2 x 5 outputs (10 vectors of sums in AVX2's 16 registers, beside a
/// vector of weights and a broadcast input).
#[multiversion::multiversion(targets("x86_64+avx2+avx"))]
fn narrow_kernel(xp: &[f32], packed: &[f32], bias: &[f32], d: &Dims, out: &mut [f32]) {
    dispatch!(8, 2, d.kw, (xp, packed, bias, d, out));
}

/// All filters of one image (padded in `xp`) by blocks of `L` filters and `R` x [`WIDTH`]
/// outputs, for a kernel `KW` wide. The last block of each row overlaps the one before, and the
/// last block of rows repeats the last row where the rows run out (both recompute the same
/// values). Without dilation along the rows, a block row reads `SPAN` (`WIDTH + KW - 1`)
/// adjacent inputs per kernel row, at constant offsets.
#[inline(always)]
fn blocks_of_image<const L: usize, const R: usize, const KW: usize, const SPAN: usize>(
    xp: &[f32],
    packed: &[f32],
    bias: &[f32],
    d: &Dims,
    out: &mut [f32],
) {
    let taps = d.cg * d.kh * KW;
    let blocks = d.fg.div_ceil(L);
    let plane = d.oh * d.ow;
    let span = WIDTH + (KW - 1) * d.dw;
    let dense = d.dw == 1;
    debug_assert!(
        !dense || span == SPAN,
        "a block row's span is WIDTH + KW - 1"
    );
    let last_col = d.ow - WIDTH;
    for group in 0..d.groups {
        let xg = &xp[group * d.cg * d.hp * d.wp..][..d.cg * d.hp * d.wp];
        for block in 0..blocks {
            let lanes_used = L.min(d.fg - block * L);
            let f0 = group * d.fg + block * L;
            let wb = &packed[(group * blocks + block) * taps * L..][..taps * L];
            let b0 = first::<L>(&bias[(group * blocks + block) * L..]);
            for rb in 0..d.oh.div_ceil(R) {
                let rows_out: [usize; R] = std::array::from_fn(|r| (rb * R + r).min(d.oh - 1));
                for cb in 0..d.ow.div_ceil(WIDTH) {
                    let ow0 = (cb * WIDTH).min(last_col);
                    let mut acc = [[*b0; WIDTH]; R];
                    for c in 0..d.cg {
                        for i in 0..d.kh {
                            let wt = &wb[(c * d.kh + i) * KW * L..][..KW * L];
                            let top = (c * d.hp + i * d.dh) * d.wp + ow0;
                            if dense {
                                let rows: [&[f32; SPAN]; R] =
                                    std::array::from_fn(|r| first(&xg[top + rows_out[r] * d.wp..]));
                                for j in 0..KW {
                                    let wv = first::<L>(&wt[j * L..]);
                                    for (acc_r, row) in acc.iter_mut().zip(&rows) {
                                        add_products(acc_r, first(&row[j..]), wv);
                                    }
                                }
                            } else {
                                let rows: [&[f32]; R] = std::array::from_fn(|r| {
                                    &xg[top + rows_out[r] * d.wp..][..span]
                                });
                                for j in 0..KW {
                                    let wv = first::<L>(&wt[j * L..]);
                                    for (acc_r, row) in acc.iter_mut().zip(&rows) {
                                        add_products(acc_r, first(&row[j * d.dw..]), wv);
                                    }
                                }
                            }
                        }
                    }
                    for (acc_r, &oh) in acc.iter().zip(&rows_out) {
                        for l in 0..lanes_used {
                            let dst = &mut out[(f0 + l) * plane + oh * d.ow + ow0..][..WIDTH];
                            for (o, a) in dst.iter_mut().zip(acc_r) {
                                *o = a[l];
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `acc[q] += xs[q] · wv` for each of a block row's `Q` outputs.
#[inline(always)]
fn add_products<const L: usize, const Q: usize>(
    acc: &mut [[f32; L]; Q],
    xs: &[f32; Q],
    wv: &[f32; L],
) {
    for (a, &xv) in acc.iter_mut().zip(xs) {
        for l in 0..L {
            a[l] += xv * wv[l];
        }
    }
}

#[cfg(test)]
mod tests {
    use ndarray::{Array1, Array4};

    use super::*;
    use crate::Conv2dParams;
    use crate::conv::direct;

    /// The forward of `x` (N, C, H, W data) through `kernel` on its padded images, as bits.
    fn bits(
        g: &Geometry,
        x: &[f32],
        kernel: impl Fn(&[f32], ArrayViewMut4<'_, f32>) -> Result<()>,
    ) -> Vec<u32> {
        let (rows, wp) = direct::padded_shape(g, g.batch);
        let mut xp = vec![0.0; rows * wp];
        direct::fill_padded(x, g, 0..g.batch, &mut xp);
        let mut y = Array4::<f32>::zeros(g.output_shape());
        kernel(&xp, y.view_mut()).unwrap();
        y.iter().map(|v| v.to_bits()).collect()
    }

    /// Both lane widths give the direct kernel's bits: groups of 5 and of 20 filters (a partial
    /// block of lanes), dilation along the columns (taps at run-time offsets) or the rows only,
    /// and outputs that the blocks do not divide.
    #[test]
    fn both_lane_widths_give_the_direct_kernels_bits() {
        for (filters, dilation) in [(10, [1, 2]), (40, [2, 1]), (32, [1, 1])] {
            let params = Conv2dParams::new()
                .padding([1, 2])
                .dilation(dilation)
                .groups(2);
            let g = Geometry::conv(OP, &[3, 6, 9, 17], &[filters, 3, 3, 3], &params).unwrap();
            assert!(supports(&g) && direct::supports(&g));
            let x: Vec<f32> = (0..3 * 6 * 9 * 17)
                .map(|i| ((i * 37 % 101) as f32 - 50.0) / 7.0)
                .collect();
            let w: Vec<f32> = (0..filters * 27)
                .map(|i| ((i * 13 % 17) as f32 - 8.0) / 3.0)
                .collect();
            let b = Array1::from_shape_fn(filters, |i| i as f32 * 0.3 - 1.0);
            let want = bits(&g, &x, |xp, y| {
                direct::forward_chunk(xp, &w, Some(&b.view()), &g, 3, y)
            });
            for lanes in [WIDE, NARROW] {
                let packed = pack_weights(&w, &g, lanes);
                let got = bits(&g, &x, |xp, y| {
                    forward_chunk(xp, (&packed, lanes), Some(&b.view()), &g, 3, y)
                });
                assert!(got == want, "{filters} filters, {lanes} lanes: bits differ");
            }
        }
    }
}
