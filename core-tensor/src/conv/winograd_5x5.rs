//! Winograd's minimal filtering F(2x2, 5x5) for stride-1 5x5 convolutions: the transforms that
//! `winograd.rs` runs its matrix products between.
//!
//! Each 2x2 block of outputs is computed from the 6x6 input block under it with 36
//! multiplications per channel instead of 100 (2.78 times fewer), `Y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A`,
//! with the interpolation points 0, 1, -1, 2, -2 and ∞:
//! - `Bᵀ` (6x6), rows `[4 0 -5 0 1 0]`, `[0 -4 -4 1 1 0]`, `[0 4 -4 -1 1 0]`, `[0 -2 -1 2 1 0]`,
//!   `[0 2 -1 -2 1 0]`, `[0 4 0 -5 0 1]` (integers: the input transform rounds no more than its
//!   additions);
//! - `G` (6x5), rows `[1/4 0 0 0 0]`, `-1/6 [1 1 1 1 1]`, `-1/6 [1 -1 1 -1 1]`,
//!   `[1/24 1/12 1/6 1/3 2/3]`, `[1/24 -1/12 1/6 -1/3 2/3]`, `[0 0 0 0 1]` (applied in `f64`
//!   and rounded once);
//! - `Aᵀ` (2x6), rows `[1 1 1 1 1 0]` and `[0 1 -1 2 -2 1]`.
//!
//! The results stay within 1e-5 of the direct sum, relative to the outputs' size, at the sizes of
//! the tests.

use std::ops::Range;

use crate::conv::winograd::{TILE_BLOCK, Tiles, block, pad_deinterleaved, runs_mut, tiles};
use crate::geometry::Geometry;
use crate::simd::simd_kernel;
use crate::window::copy_run;

/// Winograd's F(2x2, 5x5).
pub(super) struct F2x2K5x5;

/// The side of a transformed block.
const N: usize = 6;

/// The kernel side.
const R: usize = 5;

/// `G`, 6x5.
const G: [[f64; R]; N] = [
    [0.25, 0.0, 0.0, 0.0, 0.0],
    [-1.0 / 6.0; R],
    [-1.0 / 6.0, 1.0 / 6.0, -1.0 / 6.0, 1.0 / 6.0, -1.0 / 6.0],
    [1.0 / 24.0, 1.0 / 12.0, 1.0 / 6.0, 1.0 / 3.0, 2.0 / 3.0],
    [1.0 / 24.0, -1.0 / 12.0, 1.0 / 6.0, -1.0 / 3.0, 2.0 / 3.0],
    [0.0, 0.0, 0.0, 0.0, 1.0],
];

impl Tiles for F2x2K5x5 {
    const XI: usize = N * N;

    fn transform_weights(w: &[f32], g: &Geometry) -> Vec<f32> {
        let fc = g.out_channels * g.channels;
        let mut u = vec![0.0_f32; N * N * fc];
        for (k, kernel) in w.chunks_exact(R * R).enumerate() {
            // G g: 6 x 5, then (G g) Gᵀ: 6 x 6.
            let mut gg = [[0.0_f64; R]; N];
            for (row, gi) in gg.iter_mut().zip(&G) {
                for (r, &gir) in gi.iter().enumerate() {
                    for (s, &v) in row.iter_mut().zip(&kernel[r * R..][..R]) {
                        *s += gir * f64::from(v);
                    }
                }
            }
            for (i, row) in gg.iter().enumerate() {
                for (j, gj) in G.iter().enumerate() {
                    let mut v = 0.0_f64;
                    for (a, b) in row.iter().zip(gj) {
                        v += a * b;
                    }
                    u[(i * N + j) * fc + k] = v as f32;
                }
            }
        }
        u
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
        let fc = g.out_channels * g.channels;
        let mut dw = vec![0.0_f32; fc * R * R];
        for (k, dg) in dw.chunks_exact_mut(R * R).enumerate() {
            let u = |i: usize, j: usize| f64::from(du[(i * N + j) * fc + k]);
            // Gᵀ dU: 5 x 6, then (Gᵀ dU) G: 5 x 5.
            let t: [[f64; N]; R] = std::array::from_fn(|r| {
                std::array::from_fn(|j| (0..N).fold(0.0, |s, i| s + G[i][r] * u(i, j)))
            });
            for (r, row) in t.iter().enumerate() {
                for col in 0..R {
                    let v = (0..N).fold(0.0, |s, j| s + row[j] * G[j][col]);
                    dg[r * R + col] = v as f32;
                }
            }
        }
        dw
    }
}

/// `Bᵀ d` of six values per lane.
#[inline(always)]
fn bt<const L: usize>(d: [[f32; L]; N]) -> [[f32; L]; N] {
    let [d0, d1, d2, d3, d4, d5] = d;
    let mut r = [[0.0_f32; L]; N];
    for k in 0..L {
        r[0][k] = (4.0 * d0[k] - 5.0 * d2[k]) + d4[k];
        r[1][k] = (d3[k] + d4[k]) - 4.0 * (d1[k] + d2[k]);
        r[2][k] = (d4[k] - d3[k]) + 4.0 * (d1[k] - d2[k]);
        r[3][k] = (d4[k] - d2[k]) + 2.0 * (d3[k] - d1[k]);
        r[4][k] = (d4[k] - d2[k]) - 2.0 * (d3[k] - d1[k]);
        r[5][k] = (4.0 * d1[k] - 5.0 * d3[k]) + d5[k];
    }
    r
}

/// `Aᵀ m` of six values: its two rows.
#[inline(always)]
fn at(m: [f32; N]) -> [f32; 2] {
    let [m0, m1, m2, m3, m4, m5] = m;
    [m0 + m1 + m2 + m3 + m4, (m1 - m2) + 2.0 * (m3 - m4) + m5]
}

/// `A (p, q)` (`A` = `Aᵀ` transposed): six values.
#[inline(always)]
fn a(p: f32, q: f32) -> [f32; N] {
    [p, p + q, p - q, p + 2.0 * q, p - 2.0 * q, q]
}

/// `Bᵀ` applied down six flat runs of `len` values, into six others, a block of
/// [`TILE_BLOCK`] lanes at a time.
#[inline(always)]
fn bt_runs(src: [&[f32]; N], dst: &mut [&mut [f32]; N], len: usize) {
    let full = len / TILE_BLOCK * TILE_BLOCK;
    for k in (0..full).step_by(TILE_BLOCK) {
        let out = bt(std::array::from_fn(|r| block(&src[r][k..])));
        for (d, o) in dst.iter_mut().zip(&out) {
            d[k..k + TILE_BLOCK].copy_from_slice(o);
        }
    }
    for k in full..len {
        let out = bt([
            [src[0][k]],
            [src[1][k]],
            [src[2][k]],
            [src[3][k]],
            [src[4][k]],
            [src[5][k]],
        ]);
        for (d, [o]) in dst.iter_mut().zip(out) {
            d[k] = o;
        }
    }
}

simd_kernel! {
    /// [`Tiles::transform_input`] of F(2x2, 5x5), a plane at a time: padded (its rows
    /// deinterleaved), `Bᵀ d` down the columns of every row of tiles, then for each row `i` of
    /// the blocks, the six columns of every tile gathered into flat runs over the plane's tiles
    /// and `· B` applied across them.
    fn transform_input_kernel(x: &[f32], g: &Geometry, start: usize, end: usize, v: &mut [f32]) {
        let [h, w] = g.input;
        let [th, tw] = tiles(g);
        let c = g.channels;
        let t = (end - start) * th * tw;
        let plane_tiles = th * tw;
        let (hp, wp) = (2 * th + N - 2, 2 * tw + N - 2);
        let half = wp / 2;
        let mut padded = vec![0.0_f32; hp * wp];
        // Bᵀ d for every row of tiles: row i of tile row ty at (i · th + ty) · wp.
        let mut btd = vec![0.0_f32; N * th * wp];
        // The six columns of row i of every tile's block, flat over the plane's tiles.
        let mut cols = vec![0.0_f32; N * plane_tiles];
        for (bi, n) in (start..end).enumerate() {
            for ch in 0..c {
                let plane = &x[(n * c + ch) * h * w..][..h * w];
                pad_deinterleaved(plane, [h, w], g.padding, [hp, wp], &mut padded);
                for ty in 0..th {
                    let src: [&[f32]; N] = [0, 1, 2, 3, 4, 5].map(|r| &padded[(2 * ty + r) * wp..][..wp]);
                    let mut dst: [&mut [f32]; N] =
                        runs_mut(&mut btd, [0, 1, 2, 3, 4, 5].map(|i| (i * th + ty) * wp), wp);
                    bt_runs(src, &mut dst, wp);
                }
                for i in 0..N {
                    for ty in 0..th {
                        let row = &btd[(i * th + ty) * wp..][..wp];
                        let (even, odd) = row.split_at(half);
                        for col in 0..N {
                            let run = if col % 2 == 0 { even } else { odd };
                            copy_run(
                                &mut cols[col * plane_tiles + ty * tw..][..tw],
                                &run[col / 2..][..tw],
                            );
                        }
                    }
                    let src: [&[f32]; N] = [0, 1, 2, 3, 4, 5].map(|col| &cols[col * plane_tiles..][..plane_tiles]);
                    let first = bi * plane_tiles;
                    let starts = [0, 1, 2, 3, 4, 5].map(|j| ((i * N + j) * c + ch) * t + first);
                    let mut dst: [&mut [f32]; N] = runs_mut(v, starts, plane_tiles);
                    bt_runs(src, &mut dst, plane_tiles);
                }
            }
        }
    }
}

simd_kernel! {
    /// [`Tiles::transform_output`] of F(2x2, 5x5), a plane of tiles at a time (the ξ-matrices
    /// hold each image's tiles contiguously): `Aᵀ M` down the columns of the blocks, then `· A`
    /// across them, each as flat runs over the tiles; then each tile's 2x2 outputs put in place.
    fn transform_output_kernel(m: &[f32], bias: &[f32], g: &Geometry, count: usize, out: &mut [f32]) {
        let [oh, ow] = g.output;
        let [th, tw] = tiles(g);
        let f = g.out_channels;
        let t = count * th * tw;
        let pt = th * tw;
        // Aᵀ M: its two rows, per column of the blocks, flat over the plane's tiles.
        let mut am = vec![0.0_f32; 2 * N * pt];
        // The four outputs of every tile: (row, column) at (2 · row + column) · pt.
        let mut y = vec![0.0_f32; 4 * pt];
        for bi in 0..count {
            for fi in 0..f {
                let bias = bias[fi];
                let plane = &mut out[(bi * f + fi) * oh * ow..][..oh * ow];
                let mx = |xi: usize| &m[(xi * f + fi) * t + bi * pt..][..pt];
                for col in 0..N {
                    let (m0, m1, m2) = (mx(col), mx(N + col), mx(2 * N + col));
                    let (m3, m4, m5) = (mx(3 * N + col), mx(4 * N + col), mx(5 * N + col));
                    let [top, bottom] = runs_mut(&mut am, [col * pt, (N + col) * pt], pt);
                    for k in 0..pt {
                        [top[k], bottom[k]] = at([m0[k], m1[k], m2[k], m3[k], m4[k], m5[k]]);
                    }
                }
                for r in 0..2 {
                    let a = |col: usize| &am[(r * N + col) * pt..][..pt];
                    let (a0, a1, a2, a3, a4, a5) = (a(0), a(1), a(2), a(3), a(4), a(5));
                    let [left, right] = runs_mut(&mut y, [2 * r * pt, (2 * r + 1) * pt], pt);
                    for k in 0..pt {
                        let [p, q] = at([a0[k], a1[k], a2[k], a3[k], a4[k], a5[k]]);
                        left[k] = bias + p;
                        right[k] = bias + q;
                    }
                }
                for ty in 0..th {
                    for r in 0..2 {
                        let oy = 2 * ty + r;
                        if oy >= oh {
                            continue;
                        }
                        let left = &y[2 * r * pt + ty * tw..][..tw];
                        let right = &y[(2 * r + 1) * pt + ty * tw..][..tw];
                        let dst = &mut plane[oy * ow..][..ow];
                        for (tx, pair) in dst.chunks_mut(2).enumerate() {
                            pair[0] = left[tx];
                            if let Some(second) = pair.get_mut(1) {
                                *second = right[tx];
                            }
                        }
                    }
                }
            }
        }
    }
}

simd_kernel! {
    /// [`Tiles::transform_output_grad`] of F(2x2, 5x5): for the tile `[a b; c d]`, `A dY` has
    /// the rows `A (a, c)` and `A (b, d)` side by side, and `· Aᵀ` applies `A` along each row.
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
                    for i in 0..N {
                        let starts = std::array::from_fn(|j| ((i * N + j) * f + fi) * t + first);
                        let mut dst: [&mut [f32]; N] = runs_mut(dm, starts, tw);
                        let [d0, d1, d2, d3, d4, d5] = &mut dst;
                        for tx in 0..tw {
                            let p = a(top[2 * tx], bottom[2 * tx])[i];
                            let q = a(top[2 * tx + 1], bottom[2 * tx + 1])[i];
                            [d0[tx], d1[tx], d2[tx], d3[tx], d4[tx], d5[tx]] = a(p, q);
                        }
                    }
                }
            }
        }
    }
}
