//! Winograd's minimal filtering F(2x2, 5x5) for stride-1 5x5 convolutions: the transforms that
//! `winograd.rs` runs its matrix products between.
//!
//! Each 2x2 block of outputs is computed from the 6x6 input block under it with 36
//! multiplications per channel instead of 100 (2.78 times fewer),
//! `Y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A`, with the interpolation points 0, 1, -1, 2, -2 and ∞:
//! - `Bᵀ` (6x6), rows `[4 0 -5 0 1 0]`, `[0 -4 -4 1 1 0]`, `[0 4 -4 -1 1 0]`, `[0 -2 -1 2 1 0]`,
//!   `[0 2 -1 -2 1 0]`, `[0 4 0 -5 0 1]` (integers: the input transform rounds no more than its
//!   additions);
//! - `G` (6x5), rows `[1/4 0 0 0 0]`, `-1/6 [1 1 1 1 1]`, `-1/6 [1 -1 1 -1 1]`,
//!   `[1/24 1/12 1/6 1/3 2/3]`, `[1/24 -1/12 1/6 -1/3 2/3]`, `[0 0 0 0 1]` (applied in `f64`
//!   and rounded once);
//! - `Aᵀ` (2x6), rows `[1 1 1 1 1 0]` and `[0 1 -1 2 -2 1]`.
//!
//! The results stay within 2e-5 of the direct sum, relative to the largest output, at the sizes
//! of the tests (F(2x2, 3x3)'s within 1e-5: the fractions of `G` round where its do not).

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
        // G g: (i, col) over all kernels, then (G g) Gᵀ: (i, j), each a run of `fc` values
        // (the kernels along the vector lanes), in f64.
        let mut gg = vec![0.0_f64; N * R * fc];
        for (k, kernel) in w.chunks_exact(R * R).enumerate() {
            for (i, gi) in G.iter().enumerate() {
                for col in 0..R {
                    let mut v = 0.0_f64;
                    for (r, &c) in gi.iter().enumerate() {
                        v += c * f64::from(kernel[r * R + col]);
                    }
                    gg[(i * R + col) * fc + k] = v;
                }
            }
        }
        let mut u = vec![0.0_f32; N * N * fc];
        let mut run = vec![0.0_f64; fc];
        for i in 0..N {
            for (j, gj) in G.iter().enumerate() {
                run.fill(0.0);
                for (col, &c) in gj.iter().enumerate() {
                    for (d, &v) in run.iter_mut().zip(&gg[(i * R + col) * fc..][..fc]) {
                        *d += v * c;
                    }
                }
                for (d, &v) in u[(i * N + j) * fc..][..fc].iter_mut().zip(&run) {
                    *d = v as f32;
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
        // Gᵀ dU: (r, j) over all kernels, then (Gᵀ dU) G: (r, col) over all kernels, each a
        // run of `fc` values (the kernels along the vector lanes), in f64.
        let mut gu = vec![0.0_f64; R * N * fc];
        for (i, gi) in G.iter().enumerate() {
            for j in 0..N {
                let src = &du[(i * N + j) * fc..][..fc];
                for (r, &c) in gi.iter().enumerate() {
                    let dst = &mut gu[(r * N + j) * fc..][..fc];
                    for (d, &v) in dst.iter_mut().zip(src) {
                        *d += c * f64::from(v);
                    }
                }
            }
        }
        let mut dw = vec![0.0_f32; fc * R * R];
        let mut run = vec![0.0_f64; fc];
        for r in 0..R {
            for col in 0..R {
                run.fill(0.0);
                for (j, gj) in G.iter().enumerate() {
                    let c = gj[col];
                    for (d, &v) in run.iter_mut().zip(&gu[(r * N + j) * fc..][..fc]) {
                        *d += v * c;
                    }
                }
                for (k, &v) in run.iter().enumerate() {
                    dw[k * R * R + r * R + col] = v as f32;
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
    /// [`Tiles::transform_output_grad`] of F(2x2, 5x5), a plane of tiles at a time: the four
    /// values `[a b; c d]` of every tile gathered into flat runs over the tiles, then row `i` of
    /// `A dY` is `(A (a, c))_i, (A (b, d))_i` and `· Aᵀ` applies `A` along it.
    fn transform_output_grad_kernel(dy: &[f32], g: &Geometry, count: usize, dm: &mut [f32]) {
        let [oh, ow] = g.output;
        let [th, tw] = tiles(g);
        let f = g.out_channels;
        let t = count * th * tw;
        let pt = th * tw;
        // a, b, c, d of every tile at 0, pt, 2 pt, 3 pt; zero past the output's last row or
        // column (those entries are never written).
        let mut quad = vec![0.0_f32; 4 * pt];
        for bi in 0..count {
            for fi in 0..f {
                let plane = &dy[(bi * f + fi) * oh * ow..][..oh * ow];
                for ty in 0..th {
                    for r in 0..2 {
                        let oy = 2 * ty + r;
                        if oy >= oh {
                            continue;
                        }
                        let row = &plane[oy * ow..][..ow];
                        let [left, right] =
                            runs_mut(&mut quad, [(2 * r) * pt + ty * tw, (2 * r + 1) * pt + ty * tw], tw);
                        for (tx, pair) in row.chunks(2).enumerate() {
                            left[tx] = pair[0];
                            if let Some(&second) = pair.get(1) {
                                right[tx] = second;
                            }
                        }
                    }
                }
                let (qa, qb) = (&quad[..pt], &quad[pt..2 * pt]);
                let (qc, qd) = (&quad[2 * pt..3 * pt], &quad[3 * pt..4 * pt]);
                for i in 0..N {
                    let starts = [0, 1, 2, 3, 4, 5].map(|j| ((i * N + j) * f + fi) * t + bi * pt);
                    let dst = runs_mut(dm, starts, pt);
                    let quad = [qa, qb, qc, qd];
                    match i {
                        0 => grad_row::<0>(quad, dst),
                        1 => grad_row::<1>(quad, dst),
                        2 => grad_row::<2>(quad, dst),
                        3 => grad_row::<3>(quad, dst),
                        4 => grad_row::<4>(quad, dst),
                        _ => grad_row::<5>(quad, dst),
                    }
                }
            }
        }
    }
}

/// Row `I` of `A dY Aᵀ` for every tile: `A ((A (a, c))_I, (A (b, d))_I)`, with the tiles'
/// `[a b; c d]` as four flat runs.
#[inline(always)]
fn grad_row<const I: usize>(quad: [&[f32]; 4], dst: [&mut [f32]; N]) {
    let [qa, qb, qc, qd] = quad;
    let [d0, d1, d2, d3, d4, d5] = dst;
    let len = qa.len();
    let (qb, qc, qd) = (&qb[..len], &qc[..len], &qd[..len]);
    let (d0, d1, d2) = (&mut d0[..len], &mut d1[..len], &mut d2[..len]);
    let (d3, d4, d5) = (&mut d3[..len], &mut d4[..len], &mut d5[..len]);
    for k in 0..len {
        let p = a(qa[k], qc[k])[I];
        let q = a(qb[k], qd[k])[I];
        [d0[k], d1[k], d2[k], d3[k], d4[k], d5[k]] = a(p, q);
    }
}
