//! The layer crate's error type.

use core_tensor::TensorError;

/// What a layer, a network or a loss rejects. Messages name the layer and the shapes involved.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum LayerError {
    /// A kernel rejected its input.
    #[error(transparent)]
    Kernel(#[from] TensorError),
    /// An input whose shape the layer cannot take.
    #[error("{layer}: expected input of shape {expected}, got {got:?}")]
    Shape {
        /// The layer (its summary line).
        layer: String,
        /// The shape it takes, in words (e.g. `(N, 1, 28, 28)`).
        expected: String,
        /// The shape it got.
        got: Vec<usize>,
    },
    /// `backward` without a `forward` in train mode before it.
    #[error("{layer}: backward called before a forward pass in train mode")]
    BackwardBeforeForward {
        /// The layer.
        layer: String,
    },
    /// A gradient whose shape is not the shape of the last forward output.
    #[error("{layer}: gradient of shape {got:?} does not match the last output {expected:?}")]
    GradShape {
        /// The layer.
        layer: String,
        /// The last output's shape.
        expected: Vec<usize>,
        /// The gradient's shape.
        got: Vec<usize>,
    },
    /// An invalid configuration value.
    #[error("{layer}: {message}")]
    Config {
        /// The layer kind.
        layer: String,
        /// What is wrong and what is allowed.
        message: String,
    },
    /// A class label outside `0..classes`.
    #[error("{loss}: label {label} at index {index} is outside 0..{classes}")]
    LabelOutOfRange {
        /// The loss.
        loss: &'static str,
        /// Position in the batch.
        index: usize,
        /// The label.
        label: usize,
        /// The number of classes.
        classes: usize,
    },
    /// An error inside a [`crate::Sequential`], with the position and name of the layer.
    #[error("layer {index} ({layer}): {source}")]
    InLayer {
        /// The layer's position.
        index: usize,
        /// The layer's summary line.
        layer: String,
        /// What went wrong.
        source: Box<LayerError>,
    },
    /// Parameters or state given to a layer do not fit it.
    #[error("{what}: {message}")]
    State {
        /// The parameter or state.
        what: String,
        /// What is wrong.
        message: String,
    },
}

/// `Result` with [`LayerError`].
pub type Result<T, E = LayerError> = std::result::Result<T, E>;
