//! # nn-train: the training loop
//!
//! On all four crates below it. It will hold `Model` (network + loss + optimizer): `fit` with a
//! progress bar, `evaluate`, `predict`, the training `History`, plots of the curves, model files and
//! checkpoints.
//!
//! Not yet built: this crate is a placeholder so that the workspace has its final shape. It exports
//! nothing yet.
