#![doc = include_str!("../README.md")]

mod augment;
mod dataset;
mod error;
mod files;
pub mod idx;
mod loader;

pub use augment::{MAX_SHIFT, RandomShift};
pub use dataset::{Batch, Dataset, MAX_IMAGES, Normalization};
pub use error::{DataError, Result};
pub use files::{IdxFiles, Mnist, Split, SplitFiles, bundled_mnist_dir};
pub use loader::{Batches, DataLoader};
