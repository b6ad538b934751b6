//! A data set of small gray images with class labels, kept as bytes.

use std::path::Path;

use ndarray::Array4;

use crate::error::{DataError, Result};
use crate::idx::{NUM_CLASSES, check_labels, parse_images, parse_labels, read_maybe_gzip};

/// Images as `u8` (one byte per pixel, row-major, image after image) and their labels as `u8`.
///
/// Keeping bytes rather than `f32` keeps MNIST at 55 MB instead of 220 MB; each batch is converted
/// to `f32` when it is built ([`Dataset::batch`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dataset {
    pixels: Vec<u8>,
    labels: Vec<u8>,
    rows: usize,
    cols: usize,
}

/// How pixels become `f32` in a batch.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Normalization {
    /// `x / 255`, in [0, 1] (what the PyTorch reference does).
    #[default]
    Unit,
    /// `(x / 255 - mean) / std`, e.g. with [`Dataset::mean_std`] of the training set.
    Standardize {
        /// Mean of `x / 255`.
        mean: f32,
        /// Standard deviation of `x / 255`.
        std: f32,
    },
}

impl Normalization {
    /// The value of a pixel: exactly `x / 255` for [`Normalization::Unit`], as the PyTorch
    /// reference computes it.
    pub fn apply(&self, pixel: u8) -> f32 {
        match *self {
            Self::Unit => f32::from(pixel) / 255.0,
            Self::Standardize { mean, std } => (f32::from(pixel) / 255.0 - mean) / std,
        }
    }

    /// Checks the values: a finite mean and a finite std > 0.
    ///
    /// # Errors
    /// [`DataError::InvalidArgument`] naming the bad value.
    ///
    /// ```
    /// use nn_data::Normalization;
    /// assert!(Normalization::Standardize { mean: 0.13, std: 0.31 }.validate().is_ok());
    /// assert!(Normalization::Standardize { mean: f32::NAN, std: 0.31 }.validate().is_err());
    /// ```
    pub fn validate(&self) -> Result<()> {
        match *self {
            Self::Unit => Ok(()),
            Self::Standardize { mean, std } => {
                if !mean.is_finite() {
                    return Err(DataError::InvalidArgument(format!(
                        "standardisation needs a finite mean, got {mean}"
                    )));
                }
                if !(std > 0.0 && std.is_finite()) {
                    return Err(DataError::InvalidArgument(format!(
                        "standardisation needs a positive finite std, got {std}"
                    )));
                }
                Ok(())
            }
        }
    }
}

/// One batch: images (N, 1, rows, cols) as `f32` and their class indices.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// (N, 1, rows, cols).
    pub images: Array4<f32>,
    /// N class indices in `0..10`.
    pub labels: Vec<usize>,
}

impl Dataset {
    /// A data set from raw parts.
    ///
    /// # Errors
    /// `pixels.len() != labels.len() * rows * cols`, a zero image size, a label of 10 or more,
    /// or more than [`MAX_IMAGES`] images.
    ///
    /// ```
    /// let d = nn_data::Dataset::new(vec![0, 255, 255, 0], vec![3], 2, 2).unwrap();
    /// assert_eq!(d.len(), 1);
    /// assert_eq!(d.label(0), Some(3));
    /// ```
    pub fn new(pixels: Vec<u8>, labels: Vec<u8>, rows: usize, cols: usize) -> Result<Self> {
        let needed = rows
            .checked_mul(cols)
            .and_then(|size| size.checked_mul(labels.len()));
        if rows == 0 || cols == 0 || needed != Some(pixels.len()) {
            return Err(DataError::InvalidArgument(format!(
                "{} pixel bytes do not make {} images of {rows} x {cols}",
                pixels.len(),
                labels.len()
            )));
        }
        if labels.len() > MAX_IMAGES {
            return Err(DataError::InvalidArgument(format!(
                "{} images are more than a data set holds ({MAX_IMAGES})",
                labels.len()
            )));
        }
        check_labels(Path::new("<labels>"), &labels)?;
        Ok(Self {
            pixels,
            labels,
            rows,
            cols,
        })
    }

    /// Loads an IDX3 image file and an IDX1 label file (each plain or gzipped), checking both
    /// completely and that they hold as many items.
    ///
    /// # Errors
    /// Any [`DataError`] naming the file at fault.
    pub fn from_idx_files(images: &Path, labels: &Path) -> Result<Self> {
        let img = parse_images(images, read_maybe_gzip(images)?)?;
        let lbl = parse_labels(labels, read_maybe_gzip(labels)?)?;
        if img.count != lbl.len() {
            return Err(DataError::CountMismatch {
                images: images.to_path_buf(),
                image_count: img.count,
                labels: labels.to_path_buf(),
                label_count: lbl.len(),
            });
        }
        Ok(Self {
            pixels: img.pixels,
            labels: lbl,
            rows: img.rows,
            cols: img.cols,
        })
    }

    /// The number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// (rows, cols) of every image.
    pub fn image_size(&self) -> [usize; 2] {
        [self.rows, self.cols]
    }

    /// The number of classes (10).
    pub fn num_classes(&self) -> usize {
        NUM_CLASSES
    }

    /// All labels.
    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// The label of image `i`.
    pub fn label(&self, i: usize) -> Option<u8> {
        self.labels.get(i).copied()
    }

    /// The pixels of image `i`, row-major.
    pub fn image(&self, i: usize) -> Option<&[u8]> {
        let size = self.rows * self.cols;
        self.pixels.get(i * size..(i + 1) * size)
    }

    /// Bytes held on the heap (pixels and labels).
    pub fn heap_bytes(&self) -> usize {
        self.pixels.capacity() + self.labels.capacity()
    }

    /// The first `n` images (all of them if there are fewer), without copying.
    pub fn take(mut self, n: usize) -> Self {
        let n = n.min(self.len());
        self.labels.truncate(n);
        self.pixels.truncate(n * self.rows * self.cols);
        self.labels.shrink_to_fit();
        self.pixels.shrink_to_fit();
        self
    }

    /// Splits off the last `validation` images as a validation set: `(train, validation)`.
    ///
    /// # Errors
    /// `validation` larger than the set.
    ///
    /// ```
    /// let d = nn_data::Dataset::new(vec![0; 10 * 4], (0..10).collect(), 2, 2).unwrap();
    /// let (train, val) = d.split(3).unwrap();
    /// assert_eq!((train.len(), val.len()), (7, 3));
    /// assert_eq!(val.label(0), Some(7));
    /// ```
    pub fn split(mut self, validation: usize) -> Result<(Self, Self)> {
        if validation > self.len() {
            return Err(DataError::InvalidArgument(format!(
                "cannot split {validation} validation images off a set of {}",
                self.len()
            )));
        }
        let at = self.len() - validation;
        let val_labels = self.labels.split_off(at);
        let val_pixels = self.pixels.split_off(at * self.rows * self.cols);
        self.labels.shrink_to_fit();
        self.pixels.shrink_to_fit();
        let val = Self {
            pixels: val_pixels,
            labels: val_labels,
            rows: self.rows,
            cols: self.cols,
        };
        Ok((self, val))
    }

    /// Mean and standard deviation of `x / 255` over every pixel (computed in `f64`), for
    /// [`Normalization::Standardize`].
    pub fn mean_std(&self) -> (f32, f32) {
        let mut counts = [0_u64; 256];
        for &p in &self.pixels {
            counts[usize::from(p)] += 1;
        }
        let n = self.pixels.len().max(1) as f64;
        let mean = counts
            .iter()
            .enumerate()
            .map(|(v, &c)| v as f64 / 255.0 * c as f64)
            .sum::<f64>()
            / n;
        let var = counts
            .iter()
            .enumerate()
            .map(|(v, &c)| (v as f64 / 255.0 - mean).powi(2) * c as f64)
            .sum::<f64>()
            / n;
        (mean as f32, var.sqrt() as f32)
    }

    /// The images at `indices` as one batch.
    ///
    /// # Errors
    /// An index out of range, or a standard deviation that is not positive.
    pub fn batch(&self, indices: &[usize], normalization: Normalization) -> Result<Batch> {
        if let Some(&bad) = indices.iter().find(|&&i| i >= self.len()) {
            return Err(DataError::InvalidArgument(format!(
                "index {bad} is out of range for a set of {} images",
                self.len()
            )));
        }
        normalization.validate()?;
        Ok(self.gather(indices, normalization))
    }

    /// [`Dataset::batch`] for indices known to be in range.
    pub(crate) fn gather<I: ImageIndex>(
        &self,
        indices: &[I],
        normalization: Normalization,
    ) -> Batch {
        let mut data = vec![0.0; indices.len() * self.rows * self.cols];
        let mut labels = Vec::with_capacity(indices.len());
        self.gather_into(indices, normalization, &mut data, &mut labels);
        // `data` holds exactly indices.len() * rows * cols values, so the shape always fits.
        let images = Array4::from_shape_vec((indices.len(), 1, self.rows, self.cols), data)
            .unwrap_or_else(|_| Array4::zeros((0, 1, self.rows, self.cols)));
        Batch { images, labels }
    }

    /// The images at `indices` (known to be in range) written into `images` (`indices.len()`
    /// times rows·cols values) and their labels into `labels`, which is cleared first.
    pub(crate) fn gather_into<I: ImageIndex>(
        &self,
        indices: &[I],
        normalization: Normalization,
        images: &mut [f32],
        labels: &mut Vec<usize>,
    ) {
        let size = self.rows * self.cols;
        for (dst, i) in images
            .chunks_exact_mut(size)
            .zip(indices.iter().map(|i| i.get()))
        {
            let image = &self.pixels[i * size..(i + 1) * size];
            for (d, &p) in dst.iter_mut().zip(image) {
                *d = normalization.apply(p);
            }
        }
        labels.clear();
        labels.extend(indices.iter().map(|i| usize::from(self.labels[i.get()])));
    }
}

/// The most images a [`Dataset`] holds: as many as an IDX file can count, so that an epoch's
/// order takes four bytes per image.
pub const MAX_IMAGES: usize = u32::MAX as usize;

/// An image's position in a [`Dataset`], as a batch's indices hold it.
pub(crate) trait ImageIndex: Copy {
    /// The position.
    fn get(self) -> usize;
}

impl ImageIndex for usize {
    fn get(self) -> usize {
        self
    }
}

impl ImageIndex for u32 {
    fn get(self) -> usize {
        // `usize` holds every `u32` on the targets this crate builds for (32 and 64 bits).
        self as usize
    }
}
