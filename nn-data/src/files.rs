//! Finding the four files of an MNIST-format set in a folder, and the bundled MNIST.

use std::path::{Path, PathBuf};

use crate::dataset::Dataset;
use crate::error::{DataError, Result};

/// The four files of an MNIST-format set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxFiles {
    /// Training images (IDX3).
    pub train_images: PathBuf,
    /// Training labels (IDX1).
    pub train_labels: PathBuf,
    /// Test images (IDX3).
    pub test_images: PathBuf,
    /// Test labels (IDX1).
    pub test_labels: PathBuf,
}

/// The accepted names of one file: the standard `train-images-idx3-ubyte`, the older dotted
/// `train-images.idx3-ubyte`, each plain or with `.gz`.
fn candidates(stem: &str, kind: &str) -> Vec<String> {
    let mut names = Vec::new();
    for base in [
        format!("{stem}-{kind}-ubyte"),
        format!("{stem}.{kind}-ubyte"),
    ] {
        names.push(base.clone());
        names.push(format!("{base}.gz"));
    }
    names
}

fn find(dir: &Path, stem: &str, kind: &str, what: &'static str) -> Result<PathBuf> {
    let tried = candidates(stem, kind);
    tried
        .iter()
        .map(|name| dir.join(name))
        .find(|path| path.is_file())
        .ok_or_else(|| DataError::MissingFile {
            dir: dir.to_path_buf(),
            what,
            tried,
        })
}

/// The training or the test half of an MNIST-format set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// `train-images-idx3-ubyte` and `train-labels-idx1-ubyte`.
    Train,
    /// `t10k-images-idx3-ubyte` and `t10k-labels-idx1-ubyte`.
    Test,
}

/// The image and label files of one [`Split`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitFiles {
    /// The images (IDX3).
    pub images: PathBuf,
    /// The labels (IDX1).
    pub labels: PathBuf,
}

impl SplitFiles {
    /// Finds the two files of `split` in `dir`, under any accepted name.
    ///
    /// # Errors
    /// The folder does not exist, or a file is under none of its accepted names.
    pub fn find(dir: &Path, split: Split) -> Result<Self> {
        if !dir.is_dir() {
            return Err(DataError::MissingFolder {
                dir: dir.to_path_buf(),
            });
        }
        Ok(match split {
            Split::Train => Self {
                images: find(dir, "train-images", "idx3", "training images")?,
                labels: find(dir, "train-labels", "idx1", "training labels")?,
            },
            Split::Test => Self {
                images: find(dir, "t10k-images", "idx3", "test images")?,
                labels: find(dir, "t10k-labels", "idx1", "test labels")?,
            },
        })
    }

    /// Loads and checks both files.
    ///
    /// # Errors
    /// Any [`DataError`] naming the file at fault.
    pub fn load(&self) -> Result<Dataset> {
        Dataset::from_idx_files(&self.images, &self.labels)
    }
}

impl IdxFiles {
    /// Finds the four files in `dir`.
    ///
    /// # Errors
    /// The folder does not exist, or one of the files is under none of its accepted names.
    pub fn find(dir: &Path) -> Result<Self> {
        let train = SplitFiles::find(dir, Split::Train)?;
        let test = SplitFiles::find(dir, Split::Test)?;
        Ok(Self {
            train_images: train.images,
            train_labels: train.labels,
            test_images: test.images,
            test_labels: test.labels,
        })
    }
}

/// A training and a test set in MNIST format (MNIST, Fashion-MNIST ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mnist {
    /// The training set (60 000 images for MNIST).
    pub train: Dataset,
    /// The test set (10 000 images for MNIST).
    pub test: Dataset,
}

impl Mnist {
    /// Loads the four IDX files (plain or gzipped) from `dir`, checking every file completely.
    ///
    /// # Errors
    /// Any [`DataError`], naming the file at fault and what is wrong with it; test images of
    /// another size than the training images.
    ///
    /// ```no_run
    /// let mnist = nn_data::Mnist::load(&nn_data::bundled_mnist_dir()).unwrap();
    /// assert_eq!((mnist.train.len(), mnist.test.len()), (60_000, 10_000));
    /// ```
    pub fn load(dir: &Path) -> Result<Self> {
        let files = IdxFiles::find(dir)?;
        let train = Dataset::from_idx_files(&files.train_images, &files.train_labels)?;
        let test = Dataset::from_idx_files(&files.test_images, &files.test_labels)?;
        if test.image_size() != train.image_size() {
            return Err(DataError::ImageSize {
                path: files.test_images,
                found: test.image_size(),
                expected: train.image_size(),
                reason: format!(
                    "the training images in {} are",
                    files.train_images.display()
                ),
            });
        }
        Ok(Self { train, test })
    }
}

/// The folder of the MNIST copy bundled with the project: `data/mnist` under the current
/// directory when it is there (running from the project's root), else the one next to this
/// crate's sources.
pub fn bundled_mnist_dir() -> PathBuf {
    let local = PathBuf::from("data").join("mnist");
    if local.is_dir() {
        local
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join("data")
            .join("mnist")
    }
}
