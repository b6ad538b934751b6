//! # nn-optim: optimizers, clipping and schedules
//!
//! On `nn-layers` (for [`nn_layers::Param`] and the [`nn_layers::Layer`] whose parameters it
//! updates). PyTorch's update rules and defaults, operation for operation, so that trajectories
//! match PyTorch's golden vectors:
//!
//! | optimizer | PyTorch |
//! |---|---|
//! | [`Sgd`] | `torch.optim.SGD(lr, weight_decay)` |
//! | [`Momentum`] | `torch.optim.SGD(lr, momentum, dampening, nesterov, weight_decay)` |
//! | [`Adagrad`] | `torch.optim.Adagrad` |
//! | [`RmsProp`] | `torch.optim.RMSprop` |
//! | [`Adam`] | `torch.optim.Adam` |
//! | [`AdamW`] | `torch.optim.AdamW` |
//!
//! Each optimizer keeps its per-parameter state by parameter name; [`Optimizer::state`] and
//! [`Optimizer::load_state`] save and restore it (serde) so that a checkpoint resumes
//! bit-exactly, and a state saved for other parameters is refused with the name at fault.
//! Hyperparameters are checked when set: a negative or NaN rate, a β outside [0, 1) ... is an
//! [`OptimError`] naming the value.
//!
//! Also: [`clip_grad_norm`] and [`clip_grad_value`], and learning-rate [`Schedule`]s driven by a
//! [`Scheduler`].
//!
//! ## Dependencies
//! - `nn-layers`: parameters and networks.
//! - `serde`: the saved state and schedules.
//! - `thiserror`: the error enum.

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
