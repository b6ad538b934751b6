//! # nn-optim: optimizers
//!
//! On `nn-layers` (for its parameters). It will hold the `Optimizer` trait and SGD, Momentum
//! (optional Nesterov), Adagrad, RMSProp, Adam and AdamW with PyTorch's exact update rules, gradient
//! clipping, learning-rate schedules and serialisable state for exact resumption.
//!
//! Not yet built: this crate is a placeholder so that the workspace has its final shape. It exports
//! nothing yet.
