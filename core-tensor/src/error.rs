//! The kernel crate's error type.

/// What a kernel rejects: every variant names the operation and the offending shapes or values,
/// so the message says what is wrong without a debugger.
///
/// Marked `#[non_exhaustive]` so that new checks can be added without breaking users.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TensorError {
    /// A stride of zero in either direction.
    #[error("{op}: stride must be at least 1 in both directions, got {stride:?}")]
    ZeroStride {
        /// The operation, e.g. `"conv2d"`.
        op: &'static str,
        /// The stride given, (height, width).
        stride: [usize; 2],
    },
    /// A kernel with a zero dimension.
    #[error("{op}: kernel must be at least 1x1, got {kernel:?}")]
    ZeroKernel {
        /// The operation.
        op: &'static str,
        /// The kernel given, (height, width).
        kernel: [usize; 2],
    },
    /// The kernel does not fit in the (padded) input.
    #[error(
        "{op}: kernel {kernel:?} is larger than the padded input: input {input:?} with padding {padding:?} is {padded:?} in (height, width)"
    )]
    KernelTooLarge {
        /// The operation.
        op: &'static str,
        /// The input's shape.
        input: Vec<usize>,
        /// The kernel, (height, width).
        kernel: [usize; 2],
        /// The padding, (height, width).
        padding: [usize; 2],
        /// The padded input's (height, width).
        padded: [usize; 2],
    },
    /// The input's channels differ from the weight's.
    #[error(
        "{op}: channel mismatch: input {x:?} has {} channels, weight {w:?} (F, C/groups, KH, KW) with groups {groups} expects {}",
        x.get(1).copied().unwrap_or(0),
        w.get(1).copied().unwrap_or(0) * groups
    )]
    ChannelMismatch {
        /// The operation.
        op: &'static str,
        /// The input's shape (N, C, H, W).
        x: Vec<usize>,
        /// The weight's shape (F, C/groups, KH, KW).
        w: Vec<usize>,
        /// The convolution's groups.
        groups: usize,
    },
    /// A tensor's shape is not the one the operation needs.
    #[error("{op}: {what} must have shape {expected}, got {got:?}")]
    ShapeMismatch {
        /// The operation.
        op: &'static str,
        /// Which argument.
        what: &'static str,
        /// The shape it needs, in words or numbers.
        expected: String,
        /// The shape it has.
        got: Vec<usize>,
    },
    /// A tensor with more elements than allowed or than memory can address.
    #[error("{op}: a {what} of shape {shape:?} has more than {limit} elements")]
    TooLarge {
        /// The operation.
        op: &'static str,
        /// Which tensor ("parameter", "output" ...).
        what: &'static str,
        /// Its shape.
        shape: Vec<usize>,
        /// The most elements allowed.
        limit: usize,
    },
    /// An allocation the machine could not satisfy.
    #[error("{op}: cannot allocate {elements} values: not enough memory")]
    OutOfMemory {
        /// The operation.
        op: &'static str,
        /// The values asked for.
        elements: usize,
    },
    /// A value outside its valid range (a fan-in of zero, a negative gain ...).
    #[error("{op}: {message}")]
    InvalidArgument {
        /// The operation.
        op: &'static str,
        /// What is wrong and what is allowed.
        message: String,
    },
}

/// `Result` with [`TensorError`].
pub type Result<T, E = TensorError> = std::result::Result<T, E>;

/// Maps an ndarray layout error (a bug in this crate, never a user's input) into a [`TensorError`].
pub(crate) fn layout_error(op: &'static str) -> impl Fn(ndarray::ShapeError) -> TensorError {
    move |e| TensorError::InvalidArgument {
        op,
        message: format!("internal layout error: {e}"),
    }
}

/// The error of a kernel buffer that should be contiguous and is not (an internal error).
/// The slice of `out`, an output buffer a caller gave, or an error naming it if it is not in
/// standard layout.
pub(crate) fn output_slice<'a, D: ndarray::Dimension>(
    op: &'static str,
    what: &'static str,
    out: &'a mut ndarray::ArrayViewMut<'_, f32, D>,
) -> Result<&'a mut [f32]> {
    out.as_slice_mut()
        .ok_or_else(|| TensorError::InvalidArgument {
            op,
            message: format!("`{what}` must be in standard (C-contiguous) layout"),
        })
}

pub(crate) fn not_contiguous(op: &'static str) -> impl Fn() -> TensorError {
    move || TensorError::InvalidArgument {
        op,
        message: "internal error: a kernel buffer is not contiguous".into(),
    }
}
