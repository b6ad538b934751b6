//! # nn-data: MNIST-format data sets, checked, batched and shuffled
//!
//! On `core-tensor` only (for its seeded generator). Reads the four IDX files of MNIST or of any
//! set in the same format (Fashion-MNIST ...), plain or gzipped, under the standard names
//! (`train-images-idx3-ubyte[.gz]` ...) or the older dotted ones (`train-images.idx3-ubyte`).
//!
//! Every file is checked completely before anything is trusted: magic numbers, header sizes
//! against the bytes present, image and label counts, labels in 0..=9. Any problem is a
//! [`DataError`] naming the file and what is wrong; no input, however corrupt or truncated,
//! panics, and nothing is allocated from a size a header claims.
//!
//! [`Mnist::load`] reads both halves; [`SplitFiles`] finds and reads one ([`Split::Test`] alone
//! for an evaluation). Images stay `u8` ([`Dataset`]); a [`DataLoader`] builds each batch as `f32` (N, 1, 28, 28) in a
//! seeded per-epoch order.
//!
//! ```no_run
//! use nn_data::{DataLoader, Mnist, bundled_mnist_dir};
//!
//! let mnist = Mnist::load(&bundled_mnist_dir())?;
//! let loader = DataLoader::new(&mnist.train, 64)?.shuffle(42);
//! for batch in loader.epoch(1) {
//!     assert_eq!(batch.images.shape()[1..], [1, 28, 28]);
//! }
//! # Ok::<(), nn_data::DataError>(())
//! ```
//!
//! ## Why not parse with the `mnist` crate
//! The project's dependency list names the `mnist` crate. It reads only uncompressed files, only
//! with exactly 60 000 + 10 000 images of 28 x 28, and panics on any deviation; the bundled data
//! is gzipped. Checking a file fully (which a panic-free loader must do anyway) leaves nothing
//! for it to parse, so the loader parses the checked bytes itself, and the `mnist` crate serves as
//! an independent reference in the tests: both must read the bundled MNIST to the same bytes.
//!
//! ## Dependencies
//! - `flate2`: gzip decompression of the `.gz` files (every member of a multi-member file).
//! - `ndarray`: the batch arrays.
//! - `core-tensor`: the seeded, portable generator behind shuffling.
//! - `thiserror`: the error enum.

mod dataset;
mod error;
mod files;
pub mod idx;
mod loader;

pub use dataset::{Batch, Dataset, Normalization};
pub use error::{DataError, Result};
pub use files::{IdxFiles, Mnist, Split, SplitFiles, bundled_mnist_dir};
pub use loader::{Batches, DataLoader};
