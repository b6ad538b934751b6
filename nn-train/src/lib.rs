#![doc = include_str!("../README.md")]

mod allocator;
mod error;
pub mod files;
mod history;
mod loss_kind;
mod model;
mod optimizer_spec;
#[cfg(feature = "plot")]
mod plot;
mod progress;
mod recipe;

pub use allocator::settle_allocator;
pub use error::{Result, TrainError};
pub use files::{load_network, load_network_with_limit, save_network};
pub use history::{BatchRecord, EpochRecord, History, PhaseTimings};
pub use loss_kind::LossKind;
pub use model::{DEFAULT_EVAL_BATCH_SIZE, Evaluation, FitConfig, Model, argmax_rows};
pub use optimizer_spec::{OptimizerKind, OptimizerSpec};
#[cfg(feature = "plot")]
pub use plot::plot_history;
pub use progress::Progress;
pub use recipe::Recipe;
