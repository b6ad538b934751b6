//! # nn-layers: layers, `Sequential` and losses
//!
//! Second in the stack, on `core-tensor` only. It will hold the `Layer` trait (forward with a
//! train/eval mode, backward that accumulates parameter gradients and returns dL/dx), the layers of
//! the seed (`Conv2D`, `Linear`, `MaxPooling`, `AvgPooling`, `BatchNormalization`, `Relu` and the
//! other activations, `Flatten`, `Dropout`), the `Sequential` container, the losses
//! (`CrossEntropyLoss`, `MseLoss`) and a public finite-difference gradient checker.
//!
//! Not yet built: this crate is a placeholder so that the workspace has its final shape. It exports
//! nothing yet.
