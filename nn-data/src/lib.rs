//! # nn-data: datasets and batching
//!
//! On `core-tensor` only. It will read MNIST-format IDX files (plain or gzipped) with every header
//! and length checked before the `mnist` crate parses them, keep images as `u8`, and batch them
//! with a seeded per-epoch shuffle.
//!
//! Not yet built: this crate is a placeholder so that the workspace has its final shape. It exports
//! nothing yet.
