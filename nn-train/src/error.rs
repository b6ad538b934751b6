//! The training crate's error type.

use std::path::PathBuf;

/// What can go wrong while training, evaluating, saving or loading.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrainError {
    /// A layer or loss error.
    #[error(transparent)]
    Layer(#[from] nn_layers::LayerError),
    /// An optimizer error.
    #[error(transparent)]
    Optim(#[from] nn_optim::OptimError),
    /// A data error.
    #[error(transparent)]
    Data(#[from] nn_data::DataError),
    /// The loss, a gradient or a parameter became NaN or infinite.
    #[error(
        "training diverged at epoch {epoch}, batch {batch}: {what}; try a smaller learning rate, or check the inputs for NaN"
    )]
    Diverged {
        /// The epoch (from 1).
        epoch: usize,
        /// The batch within the epoch (from 1).
        batch: usize,
        /// What became non-finite: "the loss is NaN", "the gradient of 0.weight holds inf" ...
        what: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The reason.
        source: std::io::Error,
    },
    /// A file that is not a model or checkpoint file of ours, or is damaged.
    #[error("{path}: {reason}")]
    BadFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A file whose contents do not fit the network they describe or are expected to fit.
    #[error("{path}: architecture mismatch: {reason}")]
    Mismatch {
        /// The file.
        path: PathBuf,
        /// What does not match.
        reason: String,
    },
    /// An invalid setting (a batch size of zero ...).
    #[error("{0}")]
    InvalidArgument(String),
    /// A plot could not be drawn.
    #[error("plot {path}: {reason}")]
    Plot {
        /// The file.
        path: PathBuf,
        /// The drawing backend's complaint.
        reason: String,
    },
}

/// `Result` with [`TrainError`].
pub type Result<T, E = TrainError> = std::result::Result<T, E>;

impl From<nn_atomic_write::WriteError> for TrainError {
    fn from(e: nn_atomic_write::WriteError) -> Self {
        Self::Io {
            path: e.path,
            source: e.source,
        }
    }
}
