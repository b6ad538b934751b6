//! 2-D convolution (cross-correlation, as PyTorch's `conv2d`) and its gradients, on (N, C, H, W)
//! `f32` arrays with weights (F, C/G, KH, KW): PyTorch's whole `Conv2d` (stride, padding,
//! dilation, groups).
//!
//! - [`Conv2dPlan`]: built once for a geometry, it picks the forward, input-gradient and
//!   weight-gradient kernels independently ([`Kernels`], chosen in `choice.rs`) and keeps, between
//!   a training forward and the backward pass, what the weight gradient reads, in buffers it
//!   reuses every step.
//! - [`conv2d`] and [`conv2d_backward`]: one call each, through a plan built for the call.
//! - [`dilate_pad`] and [`rotate_kernel`]: the stride-dilated convolution that gives dL/dx
//!   ([`InputGradKernel::DilatedConv`]).
//!
//! The kernels:
//! - `gemm.rs`: the window matrix of each chunk of images and one GEMM per group (any geometry);
//!   col2im for dL/dx.
//! - `direct.rs`: stride-1 forward and weight gradient on the padded images, vectorised along
//!   output rows.
//! - `filter_lanes.rs`: weight gradient vectorised over the filters, on the padded images.
//! - `filter_lanes_forward.rs`: stride-1 forward vectorised over the filters, on the padded
//!   images.
//! - `winograd.rs`: Winograd's F(2x2, 3x3) forward and weight gradient for stride-1 3x3 layers,
//!   and the products shared with `winograd_5x5.rs`, F(2x2, 5x5) for stride-1 5x5 layers.
//! - `dilated.rs`: dL/dx as a stride-1 convolution of the spread-out gradient.

mod choice;
mod dilated;
mod direct;
mod filter_lanes;
mod filter_lanes_forward;
mod functions;
mod gemm;
mod params;
mod plan;
mod winograd;
mod winograd_5x5;

pub use choice::{ForwardKernel, InputGradKernel, Kernels, WeightGradKernel};
pub use dilated::{dilate_pad, rotate_kernel};
pub use functions::{Conv2dGrads, conv2d, conv2d_backward};
pub use params::Conv2dParams;
pub use plan::Conv2dPlan;

use std::ops::Range;

use crate::geometry::Geometry;

/// The widest kernel the kernels on padded images take; each width up to it is compiled as a
/// constant so that a kernel row's sums stay in registers.
pub(crate) const MAX_KW: usize = 8;

/// Calls `$kernel::<KW>($args)` with the kernel width `$kw` as the constant `KW` (widths above
/// [`MAX_KW`] are refused earlier, by the kernels' `supports`).
macro_rules! with_kernel_width {
    ($kw:expr, $kernel:ident($($arg:expr),* $(,)?)) => {
        match $kw {
            1 => $kernel::<1>($($arg),*),
            2 => $kernel::<2>($($arg),*),
            3 => $kernel::<3>($($arg),*),
            4 => $kernel::<4>($($arg),*),
            5 => $kernel::<5>($($arg),*),
            6 => $kernel::<6>($($arg),*),
            7 => $kernel::<7>($($arg),*),
            _ => $kernel::<{ $crate::conv::MAX_KW }>($($arg),*),
        }
    };
}
pub(crate) use with_kernel_width;

/// The sizes of a convolution that the kernels reading the padded images need.
#[derive(Clone, Copy)]
pub(crate) struct Dims {
    pub(crate) f: usize,
    pub(crate) c: usize,
    pub(crate) groups: usize,
    /// Channels and filters per group.
    pub(crate) cg: usize,
    pub(crate) fg: usize,
    pub(crate) kh: usize,
    pub(crate) kw: usize,
    pub(crate) sh: usize,
    pub(crate) sw: usize,
    /// Dilation.
    pub(crate) dh: usize,
    pub(crate) dw: usize,
    /// Padded height and width.
    pub(crate) hp: usize,
    pub(crate) wp: usize,
    pub(crate) oh: usize,
    pub(crate) ow: usize,
}

impl Dims {
    pub(crate) fn of(g: &Geometry) -> Self {
        Self {
            f: g.out_channels,
            c: g.channels,
            groups: g.groups,
            cg: g.group_channels(),
            fg: g.group_filters(),
            kh: g.kernel[0],
            kw: g.kernel[1],
            sh: g.stride[0],
            sw: g.stride[1],
            dh: g.dilation[0],
            dw: g.dilation[1],
            hp: g.input[0] + 2 * g.padding[0],
            wp: g.input[1] + 2 * g.padding[1],
            oh: g.output[0],
            ow: g.output[1],
        }
    }
}

/// The first `N` values of `s` as a fixed-size array (which the compiler keeps in registers).
/// Callers slice `s` to at least `N` values; a shorter one is a bug in the kernel, which stops
/// like an index out of bounds (the same one comparison).
#[inline(always)]
pub(crate) fn first<const N: usize>(s: &[f32]) -> &[f32; N] {
    let Some(values) = s.first_chunk::<N>() else {
        panic!(
            "a kernel read past its row: {} values where it needs {N}",
            s.len()
        );
    };
    values
}

/// The chunk's `dy` (images, F, OH, OW) written into `out` as an F x (images·OH·OW) matrix,
/// columns in (image, oh, ow) order: the layout of the windows' columns.
pub(crate) fn gather_dy(dy: &[f32], g: &Geometry, images: Range<usize>, out: &mut [f32]) {
    let f = g.out_channels;
    let plane = g.out_plane();
    let width = images.len() * plane;
    debug_assert_eq!(
        out.len(),
        f * width,
        "gather_dy's destination is F x count·P"
    );
    for (fi, row) in out.chunks_exact_mut(width).enumerate() {
        for (bi, n) in images.clone().enumerate() {
            let src = &dy[(n * f + fi) * plane..][..plane];
            row[bi * plane..][..plane].copy_from_slice(src);
        }
    }
}

/// dL/db of the images `images` (their partial sums), written over `db` (F): `dy` is the whole
/// batch's (N, F, OH, OW) data.
pub(crate) fn bias_grad_chunk(dy: &[f32], g: &Geometry, images: Range<usize>, db: &mut [f32]) {
    let f = g.out_channels;
    let plane = g.out_plane();
    for (fi, d) in db.iter_mut().enumerate() {
        *d = images.clone().fold(0.0_f32, |acc, n| {
            acc + lane_sum(&dy[(n * f + fi) * plane..][..plane])
        });
    }
}

fn lane_sum(values: &[f32]) -> f32 {
    let mut lanes = [0.0_f32; 8];
    let chunks = values.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for (l, v) in lanes.iter_mut().zip(c) {
            *l += v;
        }
    }
    let total = lanes.iter().fold(0.0_f32, |s, v| s + v);
    rest.iter().fold(total, |s, v| s + v)
}
