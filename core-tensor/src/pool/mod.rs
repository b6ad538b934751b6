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

    pub(crate) fn input_plane(&self) -> usize {
        self.geometry.input[0] * self.geometry.input[1]
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
