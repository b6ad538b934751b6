//! Shapes of sliding-window operations: output sizes and the checks every kernel runs first.

use crate::conv::Conv2dParams;
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

/// The span a kernel of `kernel` taps covers with `dilation - 1` gaps between them:
/// `dilation · (kernel - 1) + 1`, or `None` when `kernel` or `dilation` is zero or it overflows.
/// A dilated convolution's output size is [`output_size`] of this extent.
///
/// ```
/// use core_tensor::{kernel_extent, output_size};
/// assert_eq!(kernel_extent(3, 2), Some(5));
/// assert_eq!(output_size(16, kernel_extent(3, 2).unwrap(), 1, 2), Some(16));
/// assert_eq!(kernel_extent(3, 0), None);
/// ```
pub fn kernel_extent(kernel: usize, dilation: usize) -> Option<usize> {
    if kernel == 0 || dilation == 0 {
        return None;
    }
    dilation.checked_mul(kernel - 1)?.checked_add(1)
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
/// `channels`, and `dilation` and `groups` are 1.
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
    /// (DH, DW): the step between a kernel's taps (1: adjacent).
    pub dilation: [usize; 2],
    /// G: the channels and filters split into G groups, filter group `g` reading channel group
    /// `g` only (G = C: depthwise).
    pub groups: usize,
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
        Self::dilated_windows(op, x_shape, kernel, stride, padding, [1, 1])
    }

    /// [`Geometry::windows`] with `dilation - 1` gaps between the kernel's taps.
    fn dilated_windows(
        op: &'static str,
        x_shape: &[usize],
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
        dilation: [usize; 2],
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
        if dilation.contains(&0) {
            return Err(TensorError::InvalidArgument {
                op,
                message: format!(
                    "dilation must be at least 1 in both directions, got {dilation:?}"
                ),
            });
        }
        let (Some(hp), Some(wp)) = (padded_size(h, padding[0]), padded_size(w, padding[1])) else {
            return Err(TensorError::TooLarge {
                op,
                what: "padded input",
                shape: x_shape.to_vec(),
                limit: usize::MAX,
            });
        };
        let extent = [
            kernel_extent(kernel[0], dilation[0]),
            kernel_extent(kernel[1], dilation[1]),
        ];
        let too_large = || TensorError::KernelTooLarge {
            op,
            input: x_shape.to_vec(),
            kernel: extent.map(|e| e.unwrap_or(usize::MAX)),
            padding,
            padded: [hp, wp],
        };
        let oh = extent[0]
            .and_then(|e| output_size(h, e, stride[0], padding[0]))
            .ok_or_else(too_large)?;
        let ow = extent[1]
            .and_then(|e| output_size(w, e, stride[1], padding[1]))
            .ok_or_else(too_large)?;
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
            dilation,
            groups: 1,
            output: [oh, ow],
        })
    }

    /// The geometry of a convolution of `x_shape` (N, C, H, W) with a weight of `w_shape`
    /// (F, C/G, KH, KW) and PyTorch's other `Conv2d` arguments in `params`.
    ///
    /// # Errors
    /// As [`Geometry::windows`], plus a zero dilation, a weight that is not 4-D, a group count
    /// that is zero or does not divide both C and F, or a weight whose second axis is not C/G.
    pub fn conv(
        op: &'static str,
        x_shape: &[usize],
        w_shape: &[usize],
        params: &Conv2dParams,
    ) -> Result<Self> {
        let &[f, cg, kh, kw] = w_shape else {
            return Err(TensorError::ShapeMismatch {
                op,
                what: "weight",
                expected: "(F, C/groups, KH, KW)".into(),
                got: w_shape.to_vec(),
            });
        };
        let groups = params.groups;
        if let Some(&c) = x_shape.get(1) {
            if groups == 0 || !c.is_multiple_of(groups) || !f.is_multiple_of(groups) {
                return Err(TensorError::InvalidArgument {
                    op,
                    message: format!(
                        "groups must be at least 1 and divide both the input's {c} channels and the weight's {f} filters, got {groups}"
                    ),
                });
            }
            if c / groups != cg {
                return Err(TensorError::ChannelMismatch {
                    op,
                    x: x_shape.to_vec(),
                    w: w_shape.to_vec(),
                    groups,
                });
            }
        }
        let mut g = Self::dilated_windows(
            op,
            x_shape,
            [kh, kw],
            params.stride,
            params.padding,
            params.dilation,
        )?;
        g.out_channels = f;
        g.groups = groups;
        working_elements(op, "output", &g.output_shape())?;
        Ok(g)
    }

    /// PyTorch's `Conv2d` arguments of this geometry.
    pub fn params(&self) -> Conv2dParams {
        Conv2dParams {
            stride: self.stride,
            padding: self.padding,
            dilation: self.dilation,
            groups: self.groups,
        }
    }

    /// This geometry for a batch of `batch` images.
    ///
    /// # Errors
    /// Buffers too large to address.
    pub fn with_batch(&self, batch: usize) -> Result<Self> {
        let g = Self { batch, ..*self };
        working_elements(
            "conv2d",
            "window matrix",
            &[
                batch,
                g.output[0],
                g.output[1],
                g.channels,
                g.kernel[0],
                g.kernel[1],
            ],
        )?;
        Ok(g)
    }

    /// C/G: the channels each filter reads.
    pub fn group_channels(&self) -> usize {
        self.channels / self.groups.max(1)
    }

    /// F/G: the filters of each group.
    pub fn group_filters(&self) -> usize {
        self.out_channels / self.groups.max(1)
    }

    /// The span of the kernel on the padded input, (DH·(KH-1)+1, DW·(KW-1)+1).
    pub fn extent(&self) -> [usize; 2] {
        [
            self.dilation[0] * (self.kernel[0] - 1) + 1,
            self.dilation[1] * (self.kernel[1] - 1) + 1,
        ]
    }

    /// (C/G)·KH·KW: the length of one filter's flattened window (the GEMM's inner dimension).
    pub fn patch_len(&self) -> usize {
        self.group_channels() * self.kernel[0] * self.kernel[1]
    }

    /// C·H·W: the length of one input image.
    pub fn image_len(&self) -> usize {
        self.channels * self.input[0] * self.input[1]
    }

    /// C·KH·KW: the rows of the window matrix of all groups together.
    pub fn column_rows(&self) -> usize {
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

    /// The weight shape (F, C/G, KH, KW).
    pub fn weight_shape(&self) -> [usize; 4] {
        [
            self.out_channels,
            self.group_channels(),
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
        let g = Geometry::conv(
            "t",
            &[64, 1, 28, 28],
            &[6, 1, 5, 5],
            &Conv2dParams::new().padding([2, 2]),
        )
        .unwrap();
        assert_eq!(g.output_shape(), [64, 6, 28, 28]);
        assert_eq!(g.patch_len(), 25);
        let g =
            Geometry::conv("t", &[64, 16, 5, 5], &[120, 16, 5, 5], &Conv2dParams::new()).unwrap();
        assert_eq!(g.output_shape(), [64, 120, 1, 1]);
    }

    #[test]
    fn dilation_and_groups_shape_the_output_and_weight() {
        let p = Conv2dParams::new().padding([2, 2]).dilation([2, 2]);
        let g = Geometry::conv("t", &[8, 16, 16, 16], &[16, 16, 3, 3], &p).unwrap();
        assert_eq!((g.output_shape(), g.extent()), ([8, 16, 16, 16], [5, 5]));
        let p = Conv2dParams::new().padding([1, 1]).groups(32);
        let g = Geometry::conv("t", &[8, 32, 16, 16], &[32, 1, 3, 3], &p).unwrap();
        assert_eq!(
            (g.patch_len(), g.column_rows(), g.weight_shape()),
            (9, 288, [32, 1, 3, 3])
        );
        let bad = |w: &[usize], groups| {
            Geometry::conv("t", &[1, 6, 8, 8], w, &Conv2dParams::new().groups(groups))
                .unwrap_err()
                .to_string()
        };
        assert!(
            bad(&[4, 3, 3, 3], 4).contains("divide"),
            "{}",
            bad(&[4, 3, 3, 3], 4)
        );
        assert!(
            bad(&[4, 2, 3, 3], 2).contains("groups 2"),
            "{}",
            bad(&[4, 2, 3, 3], 2)
        );
        assert!(bad(&[4, 6, 3, 3], 0).contains("at least 1"));
    }

    #[test]
    fn errors_name_the_shapes() {
        let e = Geometry::conv("conv2d", &[2, 3, 8, 8], &[4, 2, 3, 3], &Conv2dParams::new())
            .unwrap_err();
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
