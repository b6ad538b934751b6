//! Winograd's minimal filtering F(2x2, 3x3) for stride-1 3x3 convolutions: the forward pass and
//! the weight gradient.
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
//!
//! The weight gradient runs the same algebra backwards: with `M = U ⊙ V` and `Y = Aᵀ M A`,
//! `dM = A dY Aᵀ` per tile, `dU_ξ (F x C) = Σ_tiles dM_ξ (F x tiles) · V_ξᵀ (tiles x C)` (16
//! matrix products whose inner dimension is the tiles), and `dg = Gᵀ dU G`.
//!
//! The matrix products and their chunking are shared by every algorithm over 2x2 output tiles
//! ([`Tiles`]); F(2x2, 5x5), with 6x6 blocks and 36 products, has its transforms in
//! `winograd_5x5.rs`.

use std::ops::Range;

use ndarray::{ArrayView1, ArrayView2, ArrayViewMut2};

use crate::conv::bias_grad_chunk;
use crate::conv::gemm::mat_mul;
use crate::conv::winograd_5x5::F2x2K5x5;
use crate::error::{Result, layout_error};
use crate::geometry::Geometry;
use crate::scratch::{with_scratch, with_scratch_to_overwrite};
use crate::simd::simd_kernel;

const OP: &str = "conv2d (Winograd)";

/// Whether Winograd computes this geometry: a 3x3 (F(2x2, 3x3)) or 5x5 (F(2x2, 5x5), in
/// `winograd_5x5.rs`) kernel, stride 1, no dilation, one group (any padding).
pub(crate) fn supports(g: &Geometry) -> bool {
    (g.kernel == [3, 3] || g.kernel == [5, 5])
        && g.stride == [1, 1]
        && g.dilation == [1, 1]
        && g.groups == 1
}

/// One of Winograd's algorithms over 2x2 output tiles: its transforms, each over all the tiles
/// of the images it is given. The matrix products between them are shared ([`forward_chunk`],
/// [`weight_grad_chunk`]).
pub(super) trait Tiles {
    /// The positions of a transformed block (n·n for n x n input blocks).
    const XI: usize;
    /// `U_ξ = (G g Gᵀ)_ξ` of every filter and channel, as `XI` matrices of F x C (ξ-major),
    /// from the weight (F, C, KH, KW) in standard layout.
    fn transform_weights(w: &[f32], g: &Geometry) -> Vec<f32>;
    /// `V_ξ = (Bᵀ d B)_ξ` of every channel and tile of the images `images` of `x`, as `XI`
    /// matrices of C x tiles; input outside the image is zero.
    fn transform_input(x: &[f32], g: &Geometry, images: Range<usize>, v: &mut [f32]);
    /// `Y = Aᵀ M A` plus `bias` for every filter and tile of `count` images into `out`, dropping
    /// outputs past the last row or column.
    fn transform_output(m: &[f32], bias: &[f32], g: &Geometry, count: usize, out: &mut [f32]);
    /// `dM = A dY Aᵀ` of every filter and tile of `count` images (`dy`), as `XI` matrices of
    /// F x tiles; outputs past the last row or column count as zero.
    fn transform_output_grad(dy: &[f32], g: &Geometry, count: usize, dm: &mut [f32]);
    /// `dg = Gᵀ dU G`: the (F, C, KH, KW) weight gradient from the `XI` matrices of F x C.
    fn kernel_grad(du: &[f32], g: &Geometry) -> Vec<f32>;
}

/// Winograd's F(2x2, 3x3).
struct F2x2K3x3;

/// The positions of a transformed 4x4 block.
const XI: usize = 16;

/// The transformed kernel `U_ξ = (G g Gᵀ)_ξ`, as [`Tiles::transform_weights`] or its 5x5
/// counterpart by the kernel's size.
pub(crate) fn transform_weights(w: &[f32], g: &Geometry) -> Vec<f32> {
    if g.kernel == [5, 5] {
        F2x2K5x5::transform_weights(w, g)
    } else {
        F2x2K3x3::transform_weights(w, g)
    }
}

impl Tiles for F2x2K3x3 {
    const XI: usize = XI;

    fn transform_weights(w: &[f32], g: &Geometry) -> Vec<f32> {
        transform_weights_3x3(w, g)
    }

    fn transform_input(x: &[f32], g: &Geometry, images: Range<usize>, v: &mut [f32]) {
        transform_input_kernel(x, g, images.start, images.end, v);
    }

    fn transform_output(m: &[f32], bias: &[f32], g: &Geometry, count: usize, out: &mut [f32]) {
        transform_output_kernel(m, bias, g, count, out);
    }

    fn transform_output_grad(dy: &[f32], g: &Geometry, count: usize, dm: &mut [f32]) {
        transform_output_grad_kernel(dy, g, count, dm);
    }

    fn kernel_grad(du: &[f32], g: &Geometry) -> Vec<f32> {
        kernel_grad(du, g)
    }
}

/// [`Tiles::transform_weights`] of F(2x2, 3x3): `G` is exact in binary, so `f32` suffices.
fn transform_weights_3x3(w: &[f32], g: &Geometry) -> Vec<f32> {
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
pub(super) fn tiles(g: &Geometry) -> [usize; 2] {
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
    if g.kernel == [5, 5] {
        forward::<F2x2K5x5>(x, u, b, g, images, out)
    } else {
        forward::<F2x2K3x3>(x, u, b, g, images, out)
    }
}

fn forward<A: Tiles>(
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
    let bias: Vec<f32> = match b {
        Some(b) => b.to_vec(),
        None => vec![0.0; f],
    };
    for (part, first) in images.clone().step_by(step).enumerate() {
        let part_images = first..(first + step).min(images.end);
        let t = part_images.len() * per_image;
        let out = &mut out[part * step * out_image..][..part_images.len() * out_image];
        with_scratch_to_overwrite(A::XI * (c + f) * t, |buf| {
            let (v, m) = buf.split_at_mut(A::XI * c * t);
            A::transform_input(x, g, part_images.clone(), v);
            for xi in 0..A::XI {
                let (u_xi, v_xi) = (at_position(u, xi, (f, c))?, at_position(v, xi, (c, t))?);
                mat_mul(&u_xi, &v_xi, 0.0, &mut at_position_mut(m, xi, (f, t))?);
            }
            A::transform_output(m, &bias, g, part_images.len(), out);
            Ok(())
        })?;
    }
    Ok(())
}

/// The matrix of position `xi` in `data`, matrices of `shape` one after the other.
fn at_position(data: &[f32], xi: usize, shape: (usize, usize)) -> Result<ArrayView2<'_, f32>> {
    let len = shape.0 * shape.1;
    ArrayView2::from_shape(shape, &data[xi * len..][..len]).map_err(layout_error(OP))
}

/// [`at_position`], mutably.
fn at_position_mut(
    data: &mut [f32],
    xi: usize,
    shape: (usize, usize),
) -> Result<ArrayViewMut2<'_, f32>> {
    let len = shape.0 * shape.1;
    ArrayViewMut2::from_shape(shape, &mut data[xi * len..][..len]).map_err(layout_error(OP))
}

/// Tiles at least this many per product of the weight gradient (its inner dimension): images
/// are transformed together until they have as many.
const WEIGHT_GRAD_MIN_TILES: usize = 256;

/// dL/dw (as F x C·KH·KW) and dL/db of the images `images`, whose input `x` holds (their
/// (count, C, H, W) data, standard layout): their partial sums, written over `dw` and `db`.
/// `dy` is the whole batch's (N, F, OH, OW) data.
pub(crate) fn weight_grad_chunk(
    x: &[f32],
    dy: &[f32],
    g: &Geometry,
    images: Range<usize>,
    dw: &mut [f32],
    db: &mut [f32],
) -> Result<()> {
    if g.kernel == [5, 5] {
        weight_grad::<F2x2K5x5>(x, dy, g, images.clone(), dw)?;
    } else {
        weight_grad::<F2x2K3x3>(x, dy, g, images.clone(), dw)?;
    }
    bias_grad_chunk(dy, g, images, db);
    Ok(())
}

fn weight_grad<A: Tiles>(
    x: &[f32],
    dy: &[f32],
    g: &Geometry,
    images: Range<usize>,
    dw: &mut [f32],
) -> Result<()> {
    let [th, tw] = tiles(g);
    let per_image = th * tw;
    let step = WEIGHT_GRAD_MIN_TILES.div_ceil(per_image.max(1)).max(1);
    let (c, f) = (g.channels, g.out_channels);
    let out_image = f * g.out_plane();
    with_scratch(A::XI * f * c, |du| {
        for first in (0..images.len()).step_by(step) {
            let part = first..(first + step).min(images.len());
            let t = part.len() * per_image;
            let dy_part = &dy[(images.start + part.start) * out_image..][..part.len() * out_image];
            with_scratch_to_overwrite(A::XI * (c + f) * t, |buf| {
                let (v, dm) = buf.split_at_mut(A::XI * c * t);
                A::transform_input(x, g, part.clone(), v);
                A::transform_output_grad(dy_part, g, part.len(), dm);
                for xi in 0..A::XI {
                    let (dm_xi, v_xi) = (at_position(dm, xi, (f, t))?, at_position(v, xi, (c, t))?);
                    mat_mul(
                        &dm_xi,
                        &v_xi.t(),
                        1.0,
                        &mut at_position_mut(du, xi, (f, c))?,
                    );
                }
                Ok::<_, crate::error::TensorError>(())
            })?;
        }
        dw.copy_from_slice(&A::kernel_grad(du, g));
        Ok(())
    })
}

simd_kernel! {
    /// [`Tiles::transform_output_grad`] of F(2x2, 3x3).
    fn transform_output_grad_kernel(dy: &[f32], g: &Geometry, count: usize, dm: &mut [f32]) {
    let [oh, ow] = g.output;
    let [th, tw] = tiles(g);
    let f = g.out_channels;
    let t = count * th * tw;
    // A row of tiles' two output rows, zero past the output's last column (and row).
    let mut rows = [vec![0.0_f32; 2 * tw], vec![0.0_f32; 2 * tw]];
    for bi in 0..count {
        for fi in 0..f {
            let plane = &dy[(bi * f + fi) * oh * ow..][..oh * ow];
            for ty in 0..th {
                for (r, row) in rows.iter_mut().enumerate() {
                    let oy = 2 * ty + r;
                    if oy < oh {
                        row[..ow].copy_from_slice(&plane[oy * ow..][..ow]);
                    } else {
                        row[..ow].fill(0.0);
                    }
                }
                let first = (bi * th + ty) * tw;
                let (top, bottom) = (&rows[0][..2 * tw], &rows[1][..2 * tw]);
                let at = |k: usize| {
                    let at = |col: usize| ((k * 4 + col) * f + fi) * t + first;
                    [at(0), at(1), at(2), at(3)]
                };
                grad_row::<0>(top, bottom, runs_mut(dm, at(0), tw));
                grad_row::<1>(top, bottom, runs_mut(dm, at(1), tw));
                grad_row::<2>(top, bottom, runs_mut(dm, at(2), tw));
                grad_row::<3>(top, bottom, runs_mut(dm, at(3), tw));
            }
        }
    }
    }
}

/// Row `K` of `A dY Aᵀ` for a row of tiles, from their two output rows: row `K` of `A dY` is
/// `(a, b)`, `(a + c, b + d)`, `(a - c, b - d)` or `(-c, -d)` for the tile `[a b; c d]`, and
/// `· Aᵀ` makes `(p, q)` into `(p, p + q, p - q, -q)`.
#[inline(always)]
fn grad_row<const K: usize>(top: &[f32], bottom: &[f32], m: [&mut [f32]; 4]) {
    let [m0, m1, m2, m3] = m;
    for tx in 0..m0.len() {
        let (a, b) = (top[2 * tx], top[2 * tx + 1]);
        let (c, d) = (bottom[2 * tx], bottom[2 * tx + 1]);
        let (p, q) = match K {
            0 => (a, b),
            1 => (a + c, b + d),
            2 => (a - c, b - d),
            _ => (-c, -d),
        };
        m0[tx] = p;
        m1[tx] = p + q;
        m2[tx] = p - q;
        m3[tx] = -q;
    }
}

/// [`Tiles::kernel_grad`] of F(2x2, 3x3).
fn kernel_grad(du: &[f32], g: &Geometry) -> Vec<f32> {
    let fc = g.out_channels * g.channels;
    let mut dw = vec![0.0_f32; fc * 9];
    for (k, dg) in dw.chunks_exact_mut(9).enumerate() {
        let u = |row: usize, col: usize| du[(row * 4 + col) * fc + k];
        // Gᵀ dU: 3 x 4, from the rows u0..u3 as (u0 + ½u1 + ½u2, ½u1 - ½u2, ½u1 + ½u2 + u3).
        let t: [[f32; 4]; 3] = [
            std::array::from_fn(|col| u(0, col) + 0.5 * (u(1, col) + u(2, col))),
            std::array::from_fn(|col| 0.5 * (u(1, col) - u(2, col))),
            std::array::from_fn(|col| 0.5 * (u(1, col) + u(2, col)) + u(3, col)),
        ];
        // (Gᵀ dU) G: the same along each row.
        for (row, r) in t.iter().enumerate() {
            dg[row * 3] = r[0] + 0.5 * (r[1] + r[2]);
            dg[row * 3 + 1] = 0.5 * (r[1] - r[2]);
            dg[row * 3 + 2] = 0.5 * (r[1] + r[2]) + r[3];
        }
    }
    dw
}

simd_kernel! {
    /// [`Tiles::transform_input`] of F(2x2, 3x3). Each plane is first padded, then transformed
    /// a row of tiles at a time: `Bᵀ d` on whole rows, then `· B` along them, so that the loops
    /// run over contiguous data.
    fn transform_input_kernel(x: &[f32], g: &Geometry, start: usize, end: usize, v: &mut [f32]) {
    let images = start..end;
    let [h, w] = g.input;
    let [th, tw] = tiles(g);
    let [ph, pw] = g.padding;
    let c = g.channels;
    let t = images.len() * th * tw;
    // The padded plane covers every tile's 4x4 block: 2·tiles + 2 in each direction. Each of
    // its rows is stored deinterleaved, its even columns then its odd ones, so that the tiles'
    // columns (0, 1, 2, 3 at 2·tx) are contiguous runs at tx and tx + 1 of each half.
    let (hp, wp) = (2 * th + 2, 2 * tw + 2);
    let half = wp / 2;
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
            pad_deinterleaved(plane, [h, w], [ph, pw], [hp, wp], &mut padded);
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
                    let [v0, v1, v2, v3] = runs_mut(v, [at(0), at(1), at(2), at(3)], tw);
                    let (even, odd) = row[..wp].split_at(half);
                    // Blocks of TILE_BLOCK tiles as fixed-size arrays (vectorised whatever the
                    // register width), then the rest one at a time.
                    let full = tw / TILE_BLOCK * TILE_BLOCK;
                    for tx in (0..full).step_by(TILE_BLOCK) {
                        // Copies in registers: the products below then cannot alias `v`.
                        let (a, c) = (block(&even[tx..]), block(&even[tx + 1..]));
                        let (b, d) = (block(&odd[tx..]), block(&odd[tx + 1..]));
                        let out: [[f32; TILE_BLOCK]; 4] = [
                            std::array::from_fn(|k| a[k] - c[k]),
                            std::array::from_fn(|k| b[k] + c[k]),
                            std::array::from_fn(|k| c[k] - b[k]),
                            std::array::from_fn(|k| b[k] - d[k]),
                        ];
                        for (dst, src) in [&mut *v0, &mut *v1, &mut *v2, &mut *v3].into_iter().zip(&out) {
                            dst[tx..tx + TILE_BLOCK].copy_from_slice(src);
                        }
                    }
                    for tx in full..tw {
                        let (a, b, c, d) = (even[tx], odd[tx], even[tx + 1], odd[tx + 1]);
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

/// Copies the `h x w` plane into `padded` (`hp x wp`, `wp` even, zero where the plane does not
/// reach), at row `ph` and column `pw`, each row stored deinterleaved: its even columns, then
/// its odd ones, so that the columns `2·tx + k` of a tile's block are the contiguous runs at
/// `tx + k / 2` of each half. What lies past `hp` or `wp` is dropped.
#[inline(always)]
pub(super) fn pad_deinterleaved(
    plane: &[f32],
    [h, w]: [usize; 2],
    [ph, pw]: [usize; 2],
    [hp, wp]: [usize; 2],
    padded: &mut [f32],
) {
    let half = wp / 2;
    for (y, src) in plane.chunks_exact(w).take(h).enumerate() {
        if y + ph < hp {
            let (even, odd) = padded[(y + ph) * wp..][..wp].split_at_mut(half);
            // Image column x lands at column x + pw: src[2k] in one half from pw / 2 on,
            // src[2k + 1] in the other from (pw + 1) / 2 on.
            let (first, second) = if pw % 2 == 0 {
                (even, odd)
            } else {
                (odd, even)
            };
            let first = &mut first[pw / 2..];
            let second = &mut second[pw.div_ceil(2)..];
            let src = &src[..w.min(wp.saturating_sub(pw))];
            let pairs = src.chunks_exact(2);
            let tail = pairs.remainder();
            for ((pair, a), b) in pairs.zip(first.iter_mut()).zip(second.iter_mut()) {
                *a = pair[0];
                *b = pair[1];
            }
            if let [last] = tail {
                first[src.len() / 2] = *last;
            }
        }
    }
}

/// Tiles transformed together along a row: one AVX2 register of each result.
pub(super) const TILE_BLOCK: usize = 8;

/// The first [`TILE_BLOCK`] values of `s`, copied. Callers slice `s` to at least that many; a
/// shorter one is a bug, caught in debug builds.
#[inline(always)]
pub(super) fn block(s: &[f32]) -> [f32; TILE_BLOCK] {
    debug_assert!(s.len() >= TILE_BLOCK, "a transform read past its row");
    s.first_chunk::<TILE_BLOCK>()
        .copied()
        .unwrap_or([0.0; TILE_BLOCK])
}

/// `K` disjoint runs of `len` values of `v` starting at `starts` (increasing, `len` apart or
/// more), borrowed mutably together.
pub(super) fn runs_mut<const K: usize>(
    v: &mut [f32],
    starts: [usize; K],
    len: usize,
) -> [&mut [f32]; K] {
    let mut runs: [&mut [f32]; K] = std::array::from_fn(|_| <&mut [f32]>::default());
    let mut rest = v;
    let mut at = 0;
    for (run, &start) in runs.iter_mut().zip(&starts) {
        let (_, tail) = std::mem::take(&mut rest).split_at_mut(start - at);
        let (head, tail) = tail.split_at_mut(len);
        *run = head;
        rest = tail;
        at = start + len;
    }
    runs
}

simd_kernel! {
    /// [`Tiles::transform_output`] of F(2x2, 3x3).
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
