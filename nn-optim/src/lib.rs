#![doc = include_str!("../README.md")]

mod adagrad;
mod adam;
mod clip;
mod error;
mod optimizer;
mod rmsprop;
mod schedule;
mod sgd;

pub use adagrad::Adagrad;
pub use adam::{Adam, AdamW};
pub use clip::{clip_grad_norm, clip_grad_value};
pub use error::{OptimError, Result};
pub use optimizer::{Optimizer, OptimizerState, ParamState, Slots};
pub use rmsprop::RmsProp;
pub use schedule::{MAX_SCHEDULE_NESTING, Schedule, Scheduler};
pub use sgd::{Momentum, Sgd};
