//! 2-D pooling without padding, any kernel and stride (overlapping windows included), forward and
//! backward, in parallel over the (image, channel) planes.

mod avg;
mod max;

pub use avg::{avg_pool2d, avg_pool2d_backward, avg_pool2d_backward_into, avg_pool2d_into};
pub use max::{MaxPoolMask, max_pool2d, max_pool2d_backward};

use ndarray::{Array4, ArrayView4};

use crate::error::{Result, layout_error};
use crate::geometry::Geometry;
use crate::window::contiguous;

/// The input of a pooling operation in standard layout, with its geometry.
pub(crate) struct Planes<'a> {
    pub(crate) geometry: Geometry,
    data: ndarray::CowArray<'a, f32, ndarray::Ix4>,
}

impl<'a> Planes<'a> {
    pub(crate) fn new(
        op: &'static str,
        x: ArrayView4<'a, f32>,
        kernel: [usize; 2],
        stride: [usize; 2],
    ) -> Result<Self> {
        let geometry = Geometry::windows(op, x.shape(), kernel, stride, [0, 0])?;
        Ok(Self {
            geometry,
            data: if x.is_standard_layout() {
                ndarray::CowArray::from(x)
            } else {
                ndarray::CowArray::from(x.as_standard_layout().into_owned())
            },
        })
    }

    pub(crate) fn data(&self, op: &'static str) -> Result<&[f32]> {
        contiguous(op, &self.data)
    }
}

/// Wraps a flat buffer into an (N, C, H, W) array.
pub(crate) fn to_array4(
    op: &'static str,
    shape: [usize; 4],
    data: Vec<f32>,
) -> Result<Array4<f32>> {
    Array4::from_shape_vec(shape, data).map_err(layout_error(op))
}

/// Outputs per parallel task of a pooling kernel at least: a task of fewer costs about as much
/// to hand to a thread as to compute. Any split gives the same values (each output plane is
/// computed whole by one task).
const MIN_TASK_OUTPUTS: usize = 4096;

/// The (image, channel) planes each parallel task of a pooling kernel takes, for output planes
/// of `out_plane` values (at least 1).
pub(crate) fn planes_per_task(out_plane: usize) -> usize {
    MIN_TASK_OUTPUTS.div_ceil(out_plane.max(1))
}

/// The sizes of one (image, channel) plane's pooling.
#[derive(Clone, Copy)]
pub(crate) struct PlaneDims {
    pub(crate) width: usize,
    pub(crate) out_width: usize,
    pub(crate) in_plane: usize,
    pub(crate) out_plane: usize,
    pub(crate) kernel: [usize; 2],
    pub(crate) stride: [usize; 2],
    pub(crate) scale: f32,
}

impl PlaneDims {
    pub(crate) fn new(g: &Geometry) -> Self {
        let [kh, kw] = g.kernel;
        Self {
            width: g.input[1],
            out_width: g.output[1],
            in_plane: g.input[0] * g.input[1],
            out_plane: g.out_plane(),
            kernel: g.kernel,
            stride: g.stride,
            scale: 1.0 / (kh * kw) as f32,
        }
    }

    /// Whether some inputs lie in more than one window.
    pub(crate) fn overlapping(&self) -> bool {
        self.stride[0] < self.kernel[0] || self.stride[1] < self.kernel[1]
    }
}

/// Windows per block of the forward pass (one AVX2 register; two blocks fit in AVX-512's).
pub(crate) const LANES: usize = 8;
