//! Shapes of sliding-window operations: output sizes and the checks every kernel runs first.

use crate::error::{Result, TensorError};
use crate::limits::working_elements;

/// Output length of a sliding window along one axis: `(input + 2 * padding - kernel) / stride + 1`
/// (rounded down, as PyTorch does), or `None` when the stride is zero or the kernel is larger than
/// the padded input.
///
/// ```
/// use core_tensor::output_size;
/// assert_eq!(output_size(28, 5, 1, 2), Some(28));
/// assert_eq!(output_size(7, 3, 2, 1), Some(4));
/// assert_eq!(output_size(8, 2, 3, 0), Some(3)); // the stride does not divide: the last column is dropped
/// assert_eq!(output_size(3, 5, 1, 0), None);
/// ```
pub fn output_size(input: usize, kernel: usize, stride: usize, padding: usize) -> Option<usize> {
    let padded = padded_size(input, padding)?;
    if stride == 0 || kernel == 0 || kernel > padded {
        return None;
    }
    Some((padded - kernel) / stride + 1)
}

/// `input + 2 * padding`, or `None` when it overflows `usize`.
///
/// ```
/// assert_eq!(core_tensor::padded_size(28, 2), Some(32));
/// assert_eq!(core_tensor::padded_size(4, (1 << 63) + 2), None);
/// ```
pub fn padded_size(input: usize, padding: usize) -> Option<usize> {
    padding.checked_mul(2)?.checked_add(input)
}

/// Every size of a 2-D sliding-window operation on an (N, C, H, W) input, checked once.
///
/// For a convolution `out_channels` is the weight's F; for window reshaping and pooling it equals
/// `channels`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    /// N.
    pub batch: usize,
    /// C, the input's channels.
    pub channels: usize,
    /// (H, W), the input's height and width before padding.
    pub input: [usize; 2],
    /// F, the output's channels.
    pub out_channels: usize,
    /// (KH, KW).
    pub kernel: [usize; 2],
    /// (SH, SW).
    pub stride: [usize; 2],
    /// (PH, PW): zeros added on each side.
    pub padding: [usize; 2],
    /// (OH, OW).
    pub output: [usize; 2],
}

impl Geometry {
    /// The geometry of a window of `kernel` sliding over `x_shape` (N, C, H, W).
    ///
    /// # Errors
    /// A shape that is not 4-D or has an empty plane (H or W of 0), a zero kernel or stride, a
    /// kernel larger than the padded input, or buffers too large to address.
    pub fn windows(
        op: &'static str,
        x_shape: &[usize],
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
    ) -> Result<Self> {
        let &[batch, channels, h, w] = x_shape else {
            return Err(TensorError::ShapeMismatch {
                op,
                what: "input",
                expected: "(N, C, H, W)".into(),
                got: x_shape.to_vec(),
            });
        };
        if h == 0 || w == 0 {
            // As PyTorch: a window over an empty plane (padded or not) is not defined.
            return Err(TensorError::ShapeMismatch {
                op,
                what: "input",
                expected: "(N, C, H, W) with H and W at least 1".into(),
                got: x_shape.to_vec(),
            });
        }
        if stride.contains(&0) {
            return Err(TensorError::ZeroStride { op, stride });
        }
        if kernel.contains(&0) {
            return Err(TensorError::ZeroKernel { op, kernel });
        }
        let (Some(hp), Some(wp)) = (padded_size(h, padding[0]), padded_size(w, padding[1])) else {
            return Err(TensorError::TooLarge {
                op,
                what: "padded input",
                shape: x_shape.to_vec(),
                limit: usize::MAX,
            });
        };
        let too_large = || TensorError::KernelTooLarge {
            op,
            input: x_shape.to_vec(),
            kernel,
            padding,
            padded: [hp, wp],
        };
        let oh = output_size(h, kernel[0], stride[0], padding[0]).ok_or_else(too_large)?;
        let ow = output_size(w, kernel[1], stride[1], padding[1]).ok_or_else(too_large)?;
        // Every buffer a kernel derives from these sizes must be addressable: the padded input and
        // the window matrix (the output is never larger than the window matrix).
        working_elements(op, "padded input", &[batch, channels, hp, wp])?;
        working_elements(
            op,
            "window matrix",
            &[batch, oh, ow, channels, kernel[0], kernel[1]],
        )?;
        Ok(Self {
            batch,
            channels,
            input: [h, w],
            out_channels: channels,
            kernel,
            stride,
            padding,
            output: [oh, ow],
        })
    }

    /// The geometry of a convolution of `x_shape` (N, C, H, W) with a weight of `w_shape`
    /// (F, C, KH, KW).
    ///
    /// # Errors
    /// As [`Geometry::windows`], plus a weight that is not 4-D or whose C differs from the input's.
    pub fn conv(
        op: &'static str,
        x_shape: &[usize],
        w_shape: &[usize],
        stride: [usize; 2],
        padding: [usize; 2],
    ) -> Result<Self> {
        let &[f, c, kh, kw] = w_shape else {
            return Err(TensorError::ShapeMismatch {
                op,
                what: "weight",
                expected: "(F, C, KH, KW)".into(),
                got: w_shape.to_vec(),
            });
        };
        if x_shape.len() == 4 && x_shape[1] != c {
            return Err(TensorError::ChannelMismatch {
                op,
                x: x_shape.to_vec(),
                w: w_shape.to_vec(),
            });
        }
        let mut g = Self::windows(op, x_shape, [kh, kw], stride, padding)?;
        g.out_channels = f;
        working_elements(op, "output", &g.output_shape())?;
        Ok(g)
    }

    /// C·KH·KW: the length of one flattened window (one row of the GEMM layout).
    pub fn patch_len(&self) -> usize {
        self.channels * self.kernel[0] * self.kernel[1]
    }

    /// OH·OW: the number of window positions per image and channel.
    pub fn out_plane(&self) -> usize {
        self.output[0] * self.output[1]
    }

    /// The input shape (N, C, H, W).
    pub fn input_shape(&self) -> [usize; 4] {
        [self.batch, self.channels, self.input[0], self.input[1]]
    }

    /// The output shape (N, F, OH, OW).
    pub fn output_shape(&self) -> [usize; 4] {
        [
            self.batch,
            self.out_channels,
            self.output[0],
            self.output[1],
        ]
    }

    /// The weight shape (F, C, KH, KW).
    pub fn weight_shape(&self) -> [usize; 4] {
        [
            self.out_channels,
            self.channels,
            self.kernel[0],
            self.kernel[1],
        ]
    }

    /// Checks that `got` equals `expected`, naming `what` otherwise.
    pub(crate) fn expect_shape(
        op: &'static str,
        what: &'static str,
        expected: &[usize],
        got: &[usize],
    ) -> Result<()> {
        if expected == got {
            Ok(())
        } else {
            Err(TensorError::ShapeMismatch {
                op,
                what,
                expected: format!("{expected:?}"),
                got: got.to_vec(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conv_geometry_of_5x5_layers_padded_and_not() {
        let g = Geometry::conv("t", &[64, 1, 28, 28], &[6, 1, 5, 5], [1, 1], [2, 2]).unwrap();
        assert_eq!(g.output_shape(), [64, 6, 28, 28]);
        assert_eq!(g.patch_len(), 25);
        let g = Geometry::conv("t", &[64, 16, 5, 5], &[120, 16, 5, 5], [1, 1], [0, 0]).unwrap();
        assert_eq!(g.output_shape(), [64, 120, 1, 1]);
    }

    #[test]
    fn errors_name_the_shapes() {
        let e = Geometry::conv("conv2d", &[2, 3, 8, 8], &[4, 2, 3, 3], [1, 1], [0, 0]).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("[2, 3, 8, 8]") && msg.contains("[4, 2, 3, 3]"),
            "{msg}"
        );
        assert!(matches!(
            Geometry::windows("p", &[1, 1, 4, 4], [2, 2], [0, 1], [0, 0]),
            Err(TensorError::ZeroStride { .. })
        ));
        let e = Geometry::windows("p", &[1, 1, 4, 4], [6, 2], [1, 1], [0, 0]).unwrap_err();
        assert!(
            e.to_string().contains("larger than the padded input"),
            "{e}"
        );
        assert!(matches!(
            Geometry::windows("p", &[1, 4, 4], [2, 2], [1, 1], [0, 0]),
            Err(TensorError::ShapeMismatch { .. })
        ));
    }
}
