//! Winograd's minimal filtering F(2x2, 3x3) for stride-1 3x3 convolutions.
//!
//! Each 2x2 block of outputs (a tile) of each filter is computed from the 4x4 input block under
//! it with 16 multiplications per channel instead of 36 (Lavin and Gray, "Fast Algorithms for
//! Convolutional Neural Networks", 2016):
//!
//! `Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A`
//!
//! with `g` the 3x3 kernel, `d` the 4x4 input block and
//! - `Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]` (input transform),
//! - `G = [1 0 0; ½ ½ ½; ½ -½ ½; 0 0 1]` (kernel transform),
//! - `Aᵀ = [1 1 1 0; 0 1 -1 -1]` (output transform).
//!
//! Summed over the channels, the element-wise products become 16 matrix products, one per
//! position ξ of the 4x4 transformed block: `M_ξ (F x tiles) = U_ξ (F x C) · V_ξ (C x tiles)`,
//! 2.25 times fewer multiply-adds than the window matrix's product, for the price of the three
//! transforms. Every constant is a power of two or a sum of them, so the transforms round no more
//! than the additions they are; the results stay within 1e-5 of the direct sum at the sizes of
//! the tests (and of PyTorch's vectors within their 1e-4).

use std::ops::Range;

use ndarray::{ArrayView1, ArrayView2, ArrayViewMut2};

use crate::conv::gemm::mat_mul;
use crate::error::{Result, layout_error, not_contiguous};
use crate::geometry::Geometry;
use crate::scratch::with_scratch_to_overwrite;
use crate::simd::simd_kernel;

const OP: &str = "conv2d (Winograd)";

/// The positions of a transformed 4x4 block.
const XI: usize = 16;

/// Whether F(2x2, 3x3) computes this geometry: a 3x3 kernel, stride 1, no dilation, one group
/// (any padding).
pub(crate) fn supports(g: &Geometry) -> bool {
    g.kernel == [3, 3] && g.stride == [1, 1] && g.dilation == [1, 1] && g.groups == 1
}

/// The transformed kernel `U_ξ = (G g Gᵀ)_ξ` of every filter and channel, as 16 matrices of
/// F x C (ξ-major), from the weight (F, C, 3, 3) in standard layout.
pub(crate) fn transform_weights(w: &[f32], g: &Geometry) -> Vec<f32> {
    let (f, c) = (g.out_channels, g.channels);
    let mut u = vec![0.0_f32; XI * f * c];
    for (fc, k) in w.chunks_exact(9).enumerate() {
        // G g: 4 x 3.
        let mut gg = [[0.0_f32; 3]; 4];
        for col in 0..3 {
            let (a, b, d) = (k[col], k[3 + col], k[6 + col]);
            gg[0][col] = a;
            gg[1][col] = 0.5 * (a + b + d);
            gg[2][col] = 0.5 * (a - b + d);
            gg[3][col] = d;
        }
        // (G g) Gᵀ: 4 x 4.
        for (row, r) in gg.iter().enumerate() {
            let t = [
                r[0],
                0.5 * (r[0] + r[1] + r[2]),
                0.5 * (r[0] - r[1] + r[2]),
                r[2],
            ];
            for (col, v) in t.into_iter().enumerate() {
                u[(row * 4 + col) * f * c + fc] = v;
            }
        }
    }
    u
}

/// The tiles (2x2 output blocks) of one image: (rows, columns).
fn tiles(g: &Geometry) -> [usize; 2] {
    [g.output[0].div_ceil(2), g.output[1].div_ceil(2)]
}

/// The forward pass of the images `images` of `x` (the whole batch's (N, C, H, W) data) into
/// `out` (their (count, F, OH, OW) data), with the kernel transformed by [`transform_weights`].
/// Images go an image at a time when each has at least 64 tiles, else together.
pub(crate) fn forward_chunk(
    x: &[f32],
    u: &[f32],
    b: Option<&ArrayView1<'_, f32>>,
    g: &Geometry,
    images: Range<usize>,
    out: &mut [f32],
) -> Result<()> {
    let [th, tw] = tiles(g);
    let per_image = th * tw;
    let step = if per_image >= 64 {
        1
    } else {
        images.len().max(1)
    };
    let (c, f) = (g.channels, g.out_channels);
    let out_image = f * g.out_plane();
    for (part, first) in images.clone().step_by(step).enumerate() {
        let part_images = first..(first + step).min(images.end);
        let t = part_images.len() * per_image;
        let out = &mut out[part * step * out_image..][..part_images.len() * out_image];
        with_scratch_to_overwrite(XI * (c + f) * t, |buf| {
            let (v, m) = buf.split_at_mut(XI * c * t);
            transform_input(x, g, part_images.clone(), v);
            for xi in 0..XI {
                let u_xi = ArrayView2::from_shape((f, c), &u[xi * f * c..][..f * c])
                    .map_err(layout_error(OP))?;
                let v_xi = ArrayView2::from_shape((c, t), &v[xi * c * t..][..c * t])
                    .map_err(layout_error(OP))?;
                let mut m_xi = ArrayViewMut2::from_shape((f, t), &mut m[xi * f * t..][..f * t])
                    .map_err(layout_error(OP))?;
                mat_mul(&u_xi, &v_xi, 0.0, &mut m_xi);
            }
            transform_output(m, b, g, part_images.len(), out)
        })?;
    }
    Ok(())
}

/// `V_ξ = (Bᵀ d B)_ξ` of every channel and tile of the images, as 16 matrices of C x tiles
/// (ξ-major); input outside the image (the padding, and past the last row or column when the
/// output size is odd) is zero. Each plane is first padded, then transformed a row of tiles at a
/// time: `Bᵀ d` on whole rows, then `· B` along them, so that the loops run over contiguous data.
fn transform_input(x: &[f32], g: &Geometry, images: Range<usize>, v: &mut [f32]) {
    transform_input_kernel(x, g, images.start, images.end, v);
}

simd_kernel! {
    fn transform_input_kernel(x: &[f32], g: &Geometry, start: usize, end: usize, v: &mut [f32]) {
    let images = start..end;
    let [h, w] = g.input;
    let [th, tw] = tiles(g);
    let [ph, pw] = g.padding;
    let c = g.channels;
    let t = images.len() * th * tw;
    // The padded plane covers every tile's 4x4 block: 2·tiles + 2 in each direction.
    let (hp, wp) = (2 * th + 2, 2 * tw + 2);
    let mut padded = vec![0.0_f32; hp * wp];
    let mut rows = [
        vec![0.0_f32; wp],
        vec![0.0_f32; wp],
        vec![0.0_f32; wp],
        vec![0.0_f32; wp],
    ];
    for (bi, n) in images.enumerate() {
        for ch in 0..c {
            let plane = &x[(n * c + ch) * h * w..][..h * w];
            for (y, src) in plane.chunks_exact(w).enumerate() {
                if y + ph < hp {
                    let len = w.min(wp - pw);
                    padded[(y + ph) * wp + pw..][..len].copy_from_slice(&src[..len]);
                }
            }
            for ty in 0..th {
                let d = |r: usize| &padded[(2 * ty + r) * wp..][..wp];
                let (d0, d1, d2, d3) = (d(0), d(1), d(2), d(3));
                // Bᵀ d on whole rows.
                for x in 0..wp {
                    rows[0][x] = d0[x] - d2[x];
                    rows[1][x] = d1[x] + d2[x];
                    rows[2][x] = d2[x] - d1[x];
                    rows[3][x] = d1[x] - d3[x];
                }
                // (Bᵀ d) B along the rows, a tile every two columns.
                let first = (bi * th + ty) * tw;
                for (r, row) in rows.iter().enumerate() {
                    let at = |col: usize| (r * 4 + col) * c * t + ch * t + first;
                    let [v0, v1, v2, v3] = four_mut(v, [at(0), at(1), at(2), at(3)], tw);
                    let row = &row[..2 * tw + 2];
                    for tx in 0..tw {
                        let (a, b, c, d) = (row[2 * tx], row[2 * tx + 1], row[2 * tx + 2], row[2 * tx + 3]);
                        v0[tx] = a - c;
                        v1[tx] = b + c;
                        v2[tx] = c - b;
                        v3[tx] = b - d;
                    }
                }
            }
        }
    }
    }
}

/// Four disjoint runs of `len` values of `v` starting at `starts` (increasing, `len` apart or
/// more), borrowed mutably together.
fn four_mut(v: &mut [f32], starts: [usize; 4], len: usize) -> [&mut [f32]; 4] {
    let (a, rest) = v[starts[0]..].split_at_mut(starts[1] - starts[0]);
    let (b, rest) = rest.split_at_mut(starts[2] - starts[1]);
    let (c, d) = rest.split_at_mut(starts[3] - starts[2]);
    [&mut a[..len], &mut b[..len], &mut c[..len], &mut d[..len]]
}

/// `Y = Aᵀ M A` plus the bias for every filter and tile, into `out` ((count, F, OH, OW) data),
/// dropping the outputs past the last row or column when the output size is odd.
fn transform_output(
    m: &[f32],
    b: Option<&ArrayView1<'_, f32>>,
    g: &Geometry,
    count: usize,
    out: &mut [f32],
) -> Result<()> {
    let [oh, ow] = g.output;
    let f = g.out_channels;
    if out.len() != count * f * oh * ow {
        return Err(not_contiguous(OP)());
    }
    let bias: Vec<f32> = match b {
        Some(b) => b.to_vec(),
        None => vec![0.0; f],
    };
    transform_output_kernel(m, &bias, g, count, out);
    Ok(())
}

simd_kernel! {
    fn transform_output_kernel(m: &[f32], bias: &[f32], g: &Geometry, count: usize, out: &mut [f32]) {
    let [oh, ow] = g.output;
    let [th, tw] = tiles(g);
    let f = g.out_channels;
    let t = count * th * tw;
    let mut y = [vec![0.0_f32; 2 * tw], vec![0.0_f32; 2 * tw]];
    // Aᵀ M, per column of the 4x4 block: its two rows, for a row of tiles.
    let mut am = [
        [
            vec![0.0_f32; tw],
            vec![0.0_f32; tw],
            vec![0.0_f32; tw],
            vec![0.0_f32; tw],
        ],
        [
            vec![0.0_f32; tw],
            vec![0.0_f32; tw],
            vec![0.0_f32; tw],
            vec![0.0_f32; tw],
        ],
    ];
    for bi in 0..count {
        for fi in 0..f {
            let bias = bias[fi];
            let plane = &mut out[(bi * f + fi) * oh * ow..][..oh * ow];
            for ty in 0..th {
                let first = (bi * th + ty) * tw;
                let mx = |xi: usize| &m[(xi * f + fi) * t + first..][..tw];
                for col in 0..4 {
                    let (m0, m1, m2, m3) = (mx(col), mx(4 + col), mx(8 + col), mx(12 + col));
                    let [top, bottom] = &mut am;
                    let (top, bottom) = (&mut top[col][..tw], &mut bottom[col][..tw]);
                    for tx in 0..tw {
                        top[tx] = m0[tx] + m1[tx] + m2[tx];
                        bottom[tx] = m1[tx] - m2[tx] - m3[tx];
                    }
                }
                // · A, each tile giving two neighbouring outputs of the row.
                for (yr, a) in y.iter_mut().zip(&am) {
                    let (a0, a1, a2, a3) = (&a[0][..tw], &a[1][..tw], &a[2][..tw], &a[3][..tw]);
                    let yr = &mut yr[..2 * tw];
                    for tx in 0..tw {
                        yr[2 * tx] = bias + (a0[tx] + a1[tx] + a2[tx]);
                        yr[2 * tx + 1] = bias + (a1[tx] - a2[tx] - a3[tx]);
                    }
                }
                for (r, yr) in y.iter().enumerate() {
                    let oy = 2 * ty + r;
                    if oy < oh {
                        plane[oy * ow..][..ow].copy_from_slice(&yr[..ow]);
                    }
                }
            }
        }
    }
    }
}
