#![doc = include_str!("../README.md")]

mod classify;
mod error;
pub mod files;
mod history;
mod loss_kind;
mod metrics_log;
mod model;
mod optimizer_spec;
#[cfg(feature = "plot")]
mod plot;
#[cfg(feature = "plot")]
mod plot_confusion;
#[cfg(feature = "plot")]
mod plot_errors;
mod progress;
mod recipe;

pub use classify::{Classification, ConfusionMatrix, top_classes};
pub use error::{Result, TrainError};
pub use files::{load_network, load_network_with_limit, save_network};
pub use history::{BatchRecord, EpochRecord, History, PhaseTimings};
pub use loss_kind::LossKind;
pub use metrics_log::{LogFormat, MetricsLog};
pub use model::{DEFAULT_EVAL_BATCH_SIZE, Evaluation, FitConfig, Model, argmax_rows};
pub use optimizer_spec::{OptimizerKind, OptimizerSpec};
#[cfg(feature = "plot")]
pub use plot::plot_history;
#[cfg(feature = "plot")]
pub use plot_confusion::plot_confusion;
#[cfg(feature = "plot")]
pub use plot_errors::{MAX_ERROR_IMAGES, plot_errors};
pub use progress::Progress;
pub use recipe::Recipe;
