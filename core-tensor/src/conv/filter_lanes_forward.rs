//! The forward pass of a stride-1 convolution vectorised over the filters, on the padded images
//! read in place: for layers with a few to a few dozen channels, where the window matrix of the
//! GEMM form is many times the input and laying it out and packing it costs more than its
//! product (for example 6 -> 16 channels, 5x5 kernel, 14x14 images).
//!
//! Each block computes `L` filters of one group (the vector lanes: 16 where a group has more
//! than 8 filters, else 8) at `R` x `W` outputs (`R` output rows, `W` adjacent outputs along
//! each): the `R·W` vectors of sums stay in registers while the taps go by, each tap adding
//! `xp[c, oh + i·DH, ow + j·DW] · w[f..f + L, c, i, j]` (a broadcast input times a vector of
//! weights, laid out filters-last once per call by [`pack_weights`]). The block shapes
//! ([`Kernel`]) fill the registers: with AVX-512, 16 lanes in one register and blocks of 5 x 5
//! or 4 x 4; without it, 16 lanes in two AVX2 registers and blocks of 1 x 5 or 1 x 4 (of each
//! pair, whichever wastes less of the plane), or 8 lanes in one and blocks of 2 x 5. A group
//! whose filters `L` does not divide computes its last block with zero weights in the lanes
//! past its last filter and stores only its own.
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

/// The shortest output rows the kernel computes: each lane width has a block this wide or
/// narrower.
const MIN_ROW: usize = 5;

/// Whether the filter-lane forward kernel can compute this geometry at all: stride 1, a kernel
/// at most [`MAX_KW`] wide and output rows at least [`MIN_ROW`] wide (any dilation and groups).
pub(crate) fn supports(g: &Geometry) -> bool {
    g.stride == [1, 1] && g.kernel[1] <= MAX_KW && g.output[1] >= MIN_ROW
}

/// The filters per block for `g`: 16 where a group has more than 8 filters, else 8 (a group of
/// 6 filters fills 6 of 8 lanes, not 6 of 16).
pub(crate) fn lanes(g: &Geometry) -> usize {
    if g.group_filters() > NARROW {
        WIDE
    } else {
        NARROW
    }
}

const WIDE: usize = 16;
const NARROW: usize = 8;

/// A block of outputs whose sums stay in registers: `rows` output rows by `cols` adjacent
/// outputs along each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Block {
    rows: usize,
    cols: usize,
}

/// The block shapes compiled for 16 lanes in AVX-512's 32 registers (25 or 16 vectors of sums).
/// Others were measured and dropped: 6 x 4 was never the fastest, and with 6 or 8 columns the
/// compiler vectorises the sums along the row instead of over the filters (20-40 times slower).
const WIDE_BLOCKS: [Block; 2] = [Block { rows: 5, cols: 5 }, Block { rows: 4, cols: 4 }];

/// The blocks compiled for 16 lanes in AVX2's 16 registers: 5 or 4 outputs' sums in two
/// registers each, beside two vectors of weights and a broadcast input. Per tap a 1 x 5 block
/// loads two vectors of weights and five inputs for ten vector products, where 8 lanes in 2 x 5
/// blocks load one and ten; 1 x 4 blocks waste nothing of rows a multiple of 4 wide.
const TWO_REGISTER_BLOCKS: [Block; 2] = [Block { rows: 1, cols: 5 }, Block { rows: 1, cols: 4 }];

/// The block shape for 8 lanes: 10 vectors of sums in AVX2's 16 registers, beside a vector of
/// weights and a broadcast input (3 x 4 and 2 x 6 measured no faster).
const NARROW_BLOCK: Block = Block { rows: 2, cols: 5 };

/// What a block costs besides its multiply-adds, per tap, in multiply-adds: loading the
/// weights and the inputs' addresses.
const BLOCK_OVERHEAD: usize = 2;

/// Which compiled kernel computes a layer: its lanes and block of outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kernel {
    /// 16 lanes in one AVX-512 register, blocks of one of [`WIDE_BLOCKS`].
    Wide(Block),
    /// 16 lanes in two AVX2 registers, blocks of one of [`TWO_REGISTER_BLOCKS`].
    TwoRegisters(Block),
    /// 8 lanes in one AVX2 register, blocks of [`NARROW_BLOCK`].
    Narrow,
}

impl Kernel {
    /// The kernel for `lanes` lanes and an `oh` x `ow` output plane on this CPU: with AVX-512
    /// (unless [`crate::simd::force_avx2`]), 16 lanes take [`Kernel::Wide`].
    pub(crate) fn for_plane(lanes: usize, oh: usize, ow: usize) -> Self {
        match lanes {
            WIDE if crate::simd::avx512() => Self::Wide(block_for(&WIDE_BLOCKS, oh, ow)),
            WIDE => Self::TwoRegisters(block_for(&TWO_REGISTER_BLOCKS, oh, ow)),
            _ => Self::Narrow,
        }
    }

    /// The filters of a block.
    pub(crate) fn lanes(self) -> usize {
        match self {
            Self::Wide(_) | Self::TwoRegisters(_) => WIDE,
            Self::Narrow => NARROW,
        }
    }
}

/// The block shape for an `oh` x `ow` output plane: of `blocks` (the first on a tie), the one
/// that computes the plane in the fewest multiply-adds, counting the outputs that the
/// overlapping last blocks compute twice and [`BLOCK_OVERHEAD`] per block. Of
/// [`WIDE_BLOCKS`], 10 x 10 planes get 5 x 5 blocks, 16 x 16 and 28 x 28 ones 4 x 4, as measured
/// fastest.
pub(crate) fn block_for(blocks: &[Block; 2], oh: usize, ow: usize) -> Block {
    let cost =
        |b: &&Block| oh.div_ceil(b.rows) * ow.div_ceil(b.cols) * (b.rows * b.cols + BLOCK_OVERHEAD);
    let fitting = blocks.iter().filter(|b| b.cols <= ow);
    *fitting.min_by_key(cost).unwrap_or(&blocks[0])
}

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
    out: ArrayViewMut4<'_, f32>,
) -> Result<()> {
    let kernel = Kernel::for_plane(lanes, g.output[0], g.output[1]);
    forward_chunk_by(kernel, xp, packed, b, g, count, out)
}

/// [`forward_chunk`] by `kernel`, whose lanes the weights are `packed` for.
fn forward_chunk_by(
    kernel: Kernel,
    xp: &[f32],
    packed: &[f32],
    b: Option<&ArrayView1<'_, f32>>,
    g: &Geometry,
    count: usize,
    mut out: ArrayViewMut4<'_, f32>,
) -> Result<()> {
    let out = out.as_slice_mut().ok_or_else(not_contiguous(OP))?;
    let d = Dims::of(g);
    let lanes = kernel.lanes();
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
            match kernel {
                Kernel::Wide(block) => wide_kernel(block, image, packed, bias, &d, out),
                Kernel::TwoRegisters(_) | Kernel::Narrow => {
                    avx2_kernel(kernel, image, packed, bias, &d, out);
                }
            }
        }
    });
    Ok(())
}

/// Calls `blocks_of_image` with `L` lanes, blocks of `R` x `W` outputs, the kernel width `KW`,
/// the dilation along the rows `DW` (0: read at run time) and the span of input a block row
/// reads, `W + (KW - 1)·DW`, as constants. Dilations 1 and 2 are compiled as constants (the
/// taps' offsets then are too); others run with offsets known at run time, slower.
macro_rules! dispatch {
    ($l:literal, $r:literal, $w:literal, $d:expr, $args:tt) => {
        match ($d.kw, $d.dw) {
            (1, _) => blocks_of_image::<$l, $r, $w, 1, 1, { $w }>$args,
            (2, 1) => blocks_of_image::<$l, $r, $w, 2, 1, { $w + 1 }>$args,
            (3, 1) => blocks_of_image::<$l, $r, $w, 3, 1, { $w + 2 }>$args,
            (4, 1) => blocks_of_image::<$l, $r, $w, 4, 1, { $w + 3 }>$args,
            (5, 1) => blocks_of_image::<$l, $r, $w, 5, 1, { $w + 4 }>$args,
            (6, 1) => blocks_of_image::<$l, $r, $w, 6, 1, { $w + 5 }>$args,
            (7, 1) => blocks_of_image::<$l, $r, $w, 7, 1, { $w + 6 }>$args,
            (8, 1) => blocks_of_image::<$l, $r, $w, 8, 1, { $w + 7 }>$args,
            (2, 2) => blocks_of_image::<$l, $r, $w, 2, 2, { $w + 2 }>$args,
            (3, 2) => blocks_of_image::<$l, $r, $w, 3, 2, { $w + 4 }>$args,
            (4, 2) => blocks_of_image::<$l, $r, $w, 4, 2, { $w + 6 }>$args,
            (5, 2) => blocks_of_image::<$l, $r, $w, 5, 2, { $w + 8 }>$args,
            (2, _) => blocks_of_image::<$l, $r, $w, 2, 0, 0>$args,
            (3, _) => blocks_of_image::<$l, $r, $w, 3, 0, 0>$args,
            (4, _) => blocks_of_image::<$l, $r, $w, 4, 0, 0>$args,
            (5, _) => blocks_of_image::<$l, $r, $w, 5, 0, 0>$args,
            (6, _) => blocks_of_image::<$l, $r, $w, 6, 0, 0>$args,
            (7, _) => blocks_of_image::<$l, $r, $w, 7, 0, 0>$args,
            _ => blocks_of_image::<$l, $r, $w, 8, 0, 0>$args,
        }
    };
}

/// 16 lanes, blocks of `block` outputs (one of [`WIDE_BLOCKS`]).
#[multiversion::multiversion(targets("x86_64+avx512f+avx2+avx"))]
fn wide_kernel(block: Block, xp: &[f32], packed: &[f32], bias: &[f32], d: &Dims, out: &mut [f32]) {
    debug_assert!(WIDE_BLOCKS.contains(&block), "a compiled block shape");
    if block.rows == 4 {
        dispatch!(16, 4, 4, d, (xp, packed, bias, d, out));
    } else {
        dispatch!(16, 5, 5, d, (xp, packed, bias, d, out));
    }
}

/// 16 lanes in two registers with blocks of one of [`TWO_REGISTER_BLOCKS`], or 8 lanes with
/// blocks of [`NARROW_BLOCK`] outputs.
#[multiversion::multiversion(targets("x86_64+avx2+avx"))]
fn avx2_kernel(
    kernel: Kernel,
    xp: &[f32],
    packed: &[f32],
    bias: &[f32],
    d: &Dims,
    out: &mut [f32],
) {
    debug_assert!(
        matches!(kernel, Kernel::TwoRegisters(b) if TWO_REGISTER_BLOCKS.contains(&b))
            || kernel == Kernel::Narrow,
        "an AVX2 kernel with a compiled block shape"
    );
    // The literal shapes below are these constants'.
    const {
        let ([five, four], narrow) = (TWO_REGISTER_BLOCKS, NARROW_BLOCK);
        assert!(five.rows == 1 && five.cols == 5 && four.rows == 1 && four.cols == 4);
        assert!(narrow.rows == 2 && narrow.cols == 5);
    }
    match kernel {
        Kernel::TwoRegisters(block) if block.cols == 5 => {
            dispatch!(16, 1, 5, d, (xp, packed, bias, d, out))
        }
        Kernel::TwoRegisters(_) => dispatch!(16, 1, 4, d, (xp, packed, bias, d, out)),
        _ => dispatch!(8, 2, 5, d, (xp, packed, bias, d, out)),
    }
}

/// All filters of one image (padded in `xp`) by blocks of `L` filters and `R` x `W` outputs,
/// for a kernel `KW` wide with dilation `DW` along the rows (0: `d.dw`, read at run time). The
/// last block of each row overlaps the one before, and the last block of rows repeats the last
/// row where the rows run out (both recompute the same values).
#[inline(always)]
fn blocks_of_image<
    const L: usize,
    const R: usize,
    const W: usize,
    const KW: usize,
    const DW: usize,
    const SPAN: usize,
>(
    xp: &[f32],
    packed: &[f32],
    bias: &[f32],
    d: &Dims,
    out: &mut [f32],
) {
    debug_assert!(
        DW == 0 || (DW == d.dw || KW == 1) && SPAN == W + (KW - 1) * DW,
        "a block row's span is W + (KW - 1)·DW"
    );
    debug_assert!(d.ow >= W, "output rows at least a block wide");
    let taps = d.cg * d.kh * KW;
    let blocks = d.fg.div_ceil(L);
    let plane = d.oh * d.ow;
    let last_col = d.ow - W;
    for group in 0..d.groups {
        let xg = &xp[group * d.cg * d.hp * d.wp..][..d.cg * d.hp * d.wp];
        for block in 0..blocks {
            let lanes_used = L.min(d.fg - block * L);
            let f0 = group * d.fg + block * L;
            let wb = &packed[(group * blocks + block) * taps * L..][..taps * L];
            let b0 = first::<L>(&bias[(group * blocks + block) * L..]);
            for rb in 0..d.oh.div_ceil(R) {
                let rows_out: [usize; R] = std::array::from_fn(|r| (rb * R + r).min(d.oh - 1));
                for cb in 0..d.ow.div_ceil(W) {
                    let ow0 = (cb * W).min(last_col);
                    let starts: [usize; R] = std::array::from_fn(|r| rows_out[r] * d.wp + ow0);
                    let acc = block_sums::<L, R, W, KW, DW, SPAN>([[*b0; W]; R], xg, wb, d, starts);
                    for (acc_r, &oh) in acc.iter().zip(&rows_out) {
                        for l in 0..lanes_used {
                            let dst = &mut out[(f0 + l) * plane + oh * d.ow + ow0..][..W];
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

/// One block's sums: `acc` (the bias) plus every tap over the group's channels and kernel
/// rows, block row `r` reading its inputs from `xg[starts[r]..]` shifted by the tap.
#[inline(always)]
fn block_sums<
    const L: usize,
    const R: usize,
    const W: usize,
    const KW: usize,
    const DW: usize,
    const SPAN: usize,
>(
    mut acc: [[[f32; L]; W]; R],
    xg: &[f32],
    wb: &[f32],
    d: &Dims,
    starts: [usize; R],
) -> [[[f32; L]; W]; R] {
    let dw = if DW == 0 { d.dw } else { DW };
    let span = W + (KW - 1) * dw;
    for c in 0..d.cg {
        for i in 0..d.kh {
            let wt = &wb[(c * d.kh + i) * KW * L..][..KW * L];
            let top = (c * d.hp + i * d.dh) * d.wp;
            if DW == 0 {
                let rows: [&[f32]; R] = std::array::from_fn(|r| &xg[top + starts[r]..][..span]);
                for j in 0..KW {
                    let wv = first::<L>(&wt[j * L..]);
                    for (acc_r, row) in acc.iter_mut().zip(&rows) {
                        add_products(acc_r, first(&row[j * dw..]), wv);
                    }
                }
            } else {
                let rows: [&[f32; SPAN]; R] =
                    std::array::from_fn(|r| first(&xg[top + starts[r]..]));
                for j in 0..KW {
                    let wv = first::<L>(&wt[j * L..]);
                    for (acc_r, row) in acc.iter_mut().zip(&rows) {
                        add_products(acc_r, first(&row[j * DW..]), wv);
                    }
                }
            }
        }
    }
    acc
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

    /// The blocks of two AVX2 registers: 1 x 4 where it wastes less of the rows (16 wide: 4
    /// blocks of 4 against 4 of 5), else 1 x 5 (10 wide: 2 blocks of 5; 28 wide: a tie).
    #[test]
    fn two_register_blocks_fit_the_rows() {
        for (ow, cols) in [(5, 5), (10, 5), (16, 4), (28, 5), (32, 4)] {
            assert_eq!(
                block_for(&TWO_REGISTER_BLOCKS, 7, ow).cols,
                cols,
                "{ow} wide"
            );
        }
        assert_eq!(
            block_for(&TWO_REGISTER_BLOCKS, 4, 4).cols,
            4,
            "rows narrower than 5"
        );
    }

    /// Every kernel (both lane widths, each block shape) gives the direct kernel's bits, whatever
    /// this CPU (each runs its best compiled version here): groups of 5, 16 and 20 filters (a
    /// partial block of lanes), dilation along the columns of 2 (compiled in) and 3 (taps at
    /// run-time offsets) or along the rows only, and outputs that the blocks do not divide.
    #[test]
    fn every_lane_width_and_block_gives_the_direct_kernels_bits() {
        let cases = [
            (10, [1, 2], [9, 17], 5),
            (40, [2, 1], [9, 17], 4),
            (32, [1, 1], [9, 17], 5),
            (32, [1, 3], [16, 18], 4),
            (32, [2, 2], [16, 16], 4),
        ];
        for (filters, dilation, [h, w], block_rows) in cases {
            let params = Conv2dParams::new()
                .padding([1, 2])
                .dilation(dilation)
                .groups(2);
            let g = Geometry::conv(OP, &[3, 6, h, w], &[filters, 3, 3, 3], &params).unwrap();
            assert!(supports(&g) && direct::supports(&g));
            assert_eq!(
                block_for(&WIDE_BLOCKS, g.output[0], g.output[1]).rows,
                block_rows
            );
            let x: Vec<f32> = (0..3 * 6 * h * w)
                .map(|i| ((i * 37 % 101) as f32 - 50.0) / 7.0)
                .collect();
            let w: Vec<f32> = (0..filters * 27)
                .map(|i| ((i * 13 % 17) as f32 - 8.0) / 3.0)
                .collect();
            let b = Array1::from_shape_fn(filters, |i| i as f32 * 0.3 - 1.0);
            let want = bits(&g, &x, |xp, y| {
                direct::forward_chunk(xp, &w, Some(&b.view()), &g, 3, y)
            });
            let kernels = [
                Kernel::Wide(WIDE_BLOCKS[0]),
                Kernel::Wide(WIDE_BLOCKS[1]),
                Kernel::TwoRegisters(TWO_REGISTER_BLOCKS[0]),
                Kernel::TwoRegisters(TWO_REGISTER_BLOCKS[1]),
                Kernel::Narrow,
            ];
            for kernel in kernels {
                let packed = pack_weights(&w, &g, kernel.lanes());
                let got = bits(&g, &x, |xp, y| {
                    forward_chunk_by(kernel, xp, &packed, Some(&b.view()), &g, 3, y)
                });
                assert!(got == want, "{filters} filters, {kernel:?}: bits differ");
            }
        }
    }
}
