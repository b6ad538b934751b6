//! # examples: runnable programs
//!
//! Will hold the LeNet5 trainer binary `lenet5` (`lenet5 train`, `lenet5 eval`) and the seed's
//! batch-norm network example, on top of `nn-train`.
//!
//! Not yet built: this crate is a placeholder so that the workspace has its final shape.
