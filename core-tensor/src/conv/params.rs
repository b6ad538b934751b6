//! PyTorch's `Conv2d` arguments other than the channels and the kernel size.

/// Stride, padding, dilation and groups of a convolution, as PyTorch's `Conv2d` takes them
/// (each pair is (height, width)). The default is PyTorch's: stride 1, no padding, dilation 1,
/// one group.
///
/// - `stride`: the step between windows.
/// - `padding`: zeros added on each side.
/// - `dilation`: the step between a kernel's taps; the kernel spans `dilation · (k - 1) + 1`.
/// - `groups`: the channels and filters split into `groups` groups, each filter reading only its
///   group's channels; the weight is then (F, C/groups, KH, KW). `groups = C` is a depthwise
///   convolution.
///
/// ```
/// use core_tensor::Conv2dParams;
/// let p = Conv2dParams::new().stride([2, 2]).padding([1, 1]);
/// assert_eq!((p.stride, p.padding, p.dilation, p.groups), ([2, 2], [1, 1], [1, 1], 1));
/// assert_eq!(Conv2dParams::default(), Conv2dParams::new());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Conv2dParams {
    /// (SH, SW).
    pub stride: [usize; 2],
    /// (PH, PW).
    pub padding: [usize; 2],
    /// (DH, DW).
    pub dilation: [usize; 2],
    /// G.
    pub groups: usize,
}

impl Conv2dParams {
    /// Stride 1, no padding, dilation 1, one group.
    pub const fn new() -> Self {
        Self {
            stride: [1, 1],
            padding: [0, 0],
            dilation: [1, 1],
            groups: 1,
        }
    }

    /// Sets the stride.
    pub const fn stride(mut self, stride: [usize; 2]) -> Self {
        self.stride = stride;
        self
    }

    /// Sets the padding.
    pub const fn padding(mut self, padding: [usize; 2]) -> Self {
        self.padding = padding;
        self
    }

    /// Sets the dilation.
    pub const fn dilation(mut self, dilation: [usize; 2]) -> Self {
        self.dilation = dilation;
        self
    }

    /// Sets the number of groups.
    pub const fn groups(mut self, groups: usize) -> Self {
        self.groups = groups;
        self
    }
}

impl Default for Conv2dParams {
    fn default() -> Self {
        Self::new()
    }
}
