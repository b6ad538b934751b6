//! 2-D convolution (cross-correlation, as PyTorch's `conv2d`) and its gradients, on (N, C, H, W)
//! `f32` arrays with weights (F, C, KH, KW).
//!
//! - [`conv2d`]: forward, one GEMM per chunk of images over the [window reshaping](crate::im2col)
//!   (direct kernels on the padded images for stride-1 layers with small windows and wide rows).
//! - [`conv2d_input_grad`]: dL/dx by the stride-dilated convolution ([`dilate_pad`] then a stride-1
//!   convolution with the [rotated](rotate_kernel) kernel).
//! - [`conv2d_weight_grad`], [`conv2d_bias_grad`], or both at once with [`conv2d_param_grads`]:
//!   one GEMM per chunk over the windows, the direct kernel where the forward takes it, and a
//!   kernel vectorised over the filters on the images themselves for layers of 16 or 32 filters
//!   with output planes of 64 or more.
//! - [`conv2d_backward`]: all three gradients.

mod backward;
mod direct;
mod filter_lanes;
mod forward;
mod input_grad;
mod weight_grad;

pub use backward::{Conv2dGrads, conv2d_backward};
pub use forward::{Columns, conv2d, conv2d_keep_columns, conv2d_reuse_columns};
pub use input_grad::{
    InputGradMethod, conv2d_input_grad, conv2d_input_grad_with, dilate_pad, rotate_kernel,
};
pub use weight_grad::{
    conv2d_bias_grad, conv2d_param_grads, conv2d_param_grads_with_columns, conv2d_weight_grad,
};

use std::ops::Range;

use ndarray::{Array1, Array2};

use crate::geometry::Geometry;

/// The kernels that compute a convolution (forward and weight gradient) of a given geometry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Form {
    /// Vectorised along output rows, on the padded images (`direct.rs`).
    Direct,
    /// GEMM forward; weight gradient vectorised over the filters, on the padded images
    /// (`filter_lanes.rs`).
    FilterLanes,
    /// Window matrix and GEMM (everything else: conv3, strided or wide layers).
    Gemm,
}

impl Form {
    /// The form for `g`: the direct kernels where they apply, then the filter-lane weight
    /// gradient, else the GEMM.
    pub(crate) fn of(g: &Geometry) -> Self {
        if direct::applies(g) {
            Self::Direct
        } else if filter_lanes::applies(g) {
            Self::FilterLanes
        } else {
            Self::Gemm
        }
    }

    /// Whether the form reads the padded images (which a training forward then keeps) rather
    /// than the window matrix.
    pub(crate) fn reads_padded_images(self) -> bool {
        self != Self::Gemm
    }
}

/// The widest kernel the kernels on padded images take; each width up to it is compiled as a
/// constant so that a kernel row's sums stay in registers.
pub(crate) const MAX_KW: usize = 8;

/// Calls `$kernel::<KW>($args)` with the kernel width `$kw` as the constant `KW` (widths above
/// [`MAX_KW`] are refused earlier, by the kernels' `applies`).
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
    pub(crate) kh: usize,
    pub(crate) kw: usize,
    pub(crate) sh: usize,
    pub(crate) sw: usize,
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
            kh: g.kernel[0],
            kw: g.kernel[1],
            sh: g.stride[0],
            sw: g.stride[1],
            hp: g.input[0] + 2 * g.padding[0],
            wp: g.input[1] + 2 * g.padding[1],
            oh: g.output[0],
            ow: g.output[1],
        }
    }
}

/// The chunk's `dy` (images, F, OH, OW) as an F x (images·OH·OW) matrix, columns in (image, oh, ow)
/// order: the layout of the windows' columns.
pub(crate) fn gather_dy(dy: &[f32], g: &Geometry, images: Range<usize>) -> Array2<f32> {
    let f = g.out_channels;
    let plane = g.out_plane();
    let count = images.len();
    let mut out = Array2::<f32>::zeros((f, count * plane));
    for (fi, mut row) in out.outer_iter_mut().enumerate() {
        for (bi, n) in images.clone().enumerate() {
            let src = &dy[(n * f + fi) * plane..][..plane];
            for (d, s) in row.iter_mut().skip(bi * plane).zip(src) {
                *d = *s;
            }
        }
    }
    out
}

/// dL/db of the images `images`: `Σ_n Σ_p dy[n, f, p]` per filter, from the whole batch's
/// (N, F, OH·OW) data. Each image's plane is summed in 8 lanes (position `p` into lane `p mod 8`),
/// the lanes then added in order, and the images in order: one fixed order, shared by every
/// convolution kernel, so that all give the same bits (and the compiler can vectorise it).
pub(crate) fn bias_grad_chunk(dy: &[f32], g: &Geometry, images: Range<usize>) -> Array1<f32> {
    let f = g.out_channels;
    let plane = g.out_plane();
    (0..f)
        .map(|fi| {
            images.clone().fold(0.0_f32, |acc, n| {
                acc + lane_sum(&dy[(n * f + fi) * plane..][..plane])
            })
        })
        .collect()
}

/// `values` summed in 8 lanes, then the lanes and the leftover values in order.
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
