//! The configuration of the pooling layers.

use crate::config::check_sizes;
use crate::error::Result;

/// The configuration of a pooling layer: a window and a stride that defaults to the window.
///
/// PyTorch equivalent: `torch.nn.MaxPool2d(kernel, stride)` / `torch.nn.AvgPool2d(kernel, stride)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PoolConfig {
    /// (KH, KW).
    pub kernel: [usize; 2],
    /// (SH, SW); by default the kernel (non-overlapping windows).
    pub stride: [usize; 2],
}

impl PoolConfig {
    /// A `kernel` window with stride equal to the kernel.
    pub fn new(kernel: [usize; 2]) -> Self {
        Self {
            kernel,
            stride: kernel,
        }
    }

    /// Sets the stride (overlapping windows when smaller than the kernel).
    pub fn with_stride(mut self, stride: [usize; 2]) -> Self {
        self.stride = stride;
        self
    }

    pub(crate) fn check(&self, layer: &str) -> Result<()> {
        check_sizes(
            layer,
            &[
                ("kernel height", self.kernel[0], 1),
                ("kernel width", self.kernel[1], 1),
                ("stride height", self.stride[0], 1),
                ("stride width", self.stride[1], 1),
            ],
        )
    }
}
