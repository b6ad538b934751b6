//! The weight gradient of a convolution vectorised over the filters, for layers with few filters
//! and many windows (for example 6 -> 16 channels, 5x5 kernel, 10x10 outputs).
//!
//! `dw = dY · colsᵀ` in the GEMM form has only 16 rows (the filters) to reuse each packed window
//! on, and the windows are first laid out (25 times the input) and then packed again: on two
//! threads most of its time goes to moving memory. Here the padded image is read in place and the
//! filters are the vector lanes: per channel and kernel row, the sums of a kernel row's taps for
//! [`FILTERS`] filters stay in registers while the image's outputs go by in row-major order, each
//! output adding `xp[c, oh + i, ow + j] · dyt[oh, ow, f..f + FILTERS]` (a broadcast times the
//! output's gradient transposed to filters-last). The forward pass over the filters is
//! `filter_lanes_forward.rs`, which keeps a block of outputs' sums per filter block instead.
//!
//! Like `conv/direct.rs` the kernel is plain loops over fixed-size arrays, compiled by
//! `multiversion` for AVX-512 and AVX2 as well as the baseline; it never fuses a multiply and an
//! add and every sum has one fixed order, so all versions give the same bits on any thread count.

use std::ops::Range;

use crate::conv::{Dims, MAX_KW, bias_grad_chunk, first, with_kernel_width};
use crate::error::Result;
use crate::geometry::Geometry;
use crate::scratch::{with_scratch, with_scratch_to_overwrite};
use crate::simd::simd_kernel;

/// Filters computed together: the vector lanes (one AVX-512 register, two AVX2 ones).
pub(crate) const FILTERS: usize = 16;

/// Whether the filter-lane weight gradient can compute this geometry at all: one group, a
/// multiple of [`FILTERS`] filters, a kernel at most [`MAX_KW`] wide (any stride and dilation).
pub(crate) fn supports(g: &Geometry) -> bool {
    g.groups == 1 && g.out_channels.is_multiple_of(FILTERS) && g.kernel[1] <= MAX_KW
}

/// dL/dw (as F x C·KH·KW) and dL/db of the images `images`, padded in `xp`: their partial sums,
/// written over `dw` and `db`. `dy` is the whole batch's (N, F, OH, OW) data.
pub(crate) fn param_grads_chunk(
    xp: &[f32],
    dy: &[f32],
    g: &Geometry,
    images: Range<usize>,
    dw: &mut [f32],
    db: &mut [f32],
) -> Result<()> {
    let d = Dims::of(g);
    let taps = g.patch_len();
    let plane = d.oh * d.ow;
    with_scratch(taps * d.f, |dwt| {
        with_scratch_to_overwrite(plane * d.f, |dyt| {
            for (bi, n) in images.clone().enumerate() {
                // This image's dy as (OH·OW, F): the filters along the lanes.
                for (fi, src) in dy[n * d.f * plane..][..d.f * plane]
                    .chunks_exact(plane)
                    .enumerate()
                {
                    for (p, &v) in src.iter().enumerate() {
                        dyt[p * d.f + fi] = v;
                    }
                }
                let image = &xp[bi * d.c * d.hp * d.wp..][..d.c * d.hp * d.wp];
                weight_grad_kernel(image, dyt, &d, dwt);
            }
        });
        for (t, row) in dwt.chunks_exact(d.f).enumerate() {
            for (fi, &v) in row.iter().enumerate() {
                dw[fi * taps + t] = v;
            }
        }
    });
    bias_grad_chunk(dy, g, images, db);
    Ok(())
}

simd_kernel! {
    fn weight_grad_kernel(xp: &[f32], dyt: &[f32], d: &Dims, dwt: &mut [f32]) {
        with_kernel_width!(d.kw, weight_grad_image(xp, dyt, d, dwt));
    }
}

/// dL/dw (transposed, (C·KH·KW, F)) from one image, for a kernel `KW` wide: per block of filters,
/// channel and kernel row, the `KW` taps' sums kept while the outputs go by in row-major order,
/// then added to `dwt`.
#[inline(always)]
fn weight_grad_image<const KW: usize>(xp: &[f32], dyt: &[f32], d: &Dims, dwt: &mut [f32]) {
    for f0 in (0..d.f).step_by(FILTERS) {
        for c in 0..d.c {
            for i in 0..d.kh {
                let mut acc = [[0.0_f32; FILTERS]; KW];
                for oh in 0..d.oh {
                    let row = &xp[(c * d.hp + oh * d.sh + i * d.dh) * d.wp..][..d.wp];
                    for ow in 0..d.ow {
                        let g = filters(&dyt[(oh * d.ow + ow) * d.f + f0..]);
                        for (j, a) in acc.iter_mut().enumerate() {
                            let xv = row[ow * d.sw + j * d.dw];
                            for l in 0..FILTERS {
                                a[l] += xv * g[l];
                            }
                        }
                    }
                }
                for (j, a) in acc.iter().enumerate() {
                    let dst = &mut dwt[((c * d.kh + i) * KW + j) * d.f + f0..][..FILTERS];
                    for (s, v) in dst.iter_mut().zip(a) {
                        *s += v;
                    }
                }
            }
        }
    }
}

/// The first [`FILTERS`] values of `s` as a fixed-size array (which the compiler keeps in
/// registers).
#[inline(always)]
fn filters(s: &[f32]) -> &[f32; FILTERS] {
    first::<FILTERS>(s)
}
