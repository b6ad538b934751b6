//! Seeded random shifts of training images.

use core_tensor::random::{SeededRng, uniform_below};
use ndarray::{Array4, ArrayView3, ArrayViewMut4, s};

use crate::error::{DataError, Result};

/// The largest shift [`RandomShift`] takes, in pixels.
pub const MAX_SHIFT: usize = 8;

/// Moves each image by `(dy, dx)`, both drawn uniformly from `-max..=max`, shifting in the value
/// of a black pixel: the augmentation of LeNet-era MNIST training (PyTorch:
/// `transforms.RandomAffine(0, translate=...)` with whole-pixel shifts).
///
/// [`crate::DataLoader::random_shift`] applies it to every training batch, drawing from a stream
/// of the loader's seed for each epoch, so the shifts are the same on every machine and thread
/// count and any epoch's can be had directly.
///
/// ```
/// use nn_data::RandomShift;
/// assert!(RandomShift::new(2).is_ok());
/// assert!(RandomShift::new(99).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RandomShift {
    max: usize,
}

impl RandomShift {
    /// Shifts of at most `max` pixels each way (0 leaves the images alone).
    ///
    /// # Errors
    /// `max` above [`MAX_SHIFT`].
    pub fn new(max: usize) -> Result<Self> {
        if max > MAX_SHIFT {
            return Err(DataError::InvalidArgument(format!(
                "a random shift of {max} pixels is more than the {MAX_SHIFT} allowed; give 0 to {MAX_SHIFT}"
            )));
        }
        Ok(Self { max })
    }

    /// The largest shift, in pixels.
    pub fn max(&self) -> usize {
        self.max
    }

    /// Shifts each image of `images` (N, C, H, W) in place by a draw from `rng` (dy, then dx, image
    /// by image), filling the uncovered pixels with `fill`.
    pub fn apply(&self, images: &mut Array4<f32>, rng: &mut SeededRng, fill: f32) {
        self.apply_view(images.view_mut(), rng, fill, &mut Vec::new());
    }

    /// [`RandomShift::apply`] on a view, with `source` as the memory each image is copied to
    /// before it is shifted (reused from batch to batch, so a warm call allocates nothing).
    pub(crate) fn apply_view(
        &self,
        mut images: ArrayViewMut4<'_, f32>,
        rng: &mut SeededRng,
        fill: f32,
        source: &mut Vec<f32>,
    ) {
        if self.max == 0 {
            return;
        }
        let span = 2 * self.max as u64 + 1;
        let mut draw = || uniform_below(rng, span).unwrap_or(0) as isize - self.max as isize;
        for mut image in images.outer_iter_mut() {
            let (dy, dx) = (draw(), draw());
            source.clear();
            source.extend(image.iter().copied());
            let Ok(source) = ArrayView3::from_shape(image.raw_dim(), &source[..]) else {
                continue;
            };
            image.fill(fill);
            let (h, w) = (source.shape()[1] as isize, source.shape()[2] as isize);
            // Output rows/cols `lo..hi` read the source at `lo - d..hi - d`.
            let range = |d: isize, n: isize| (d.max(0), (n + d).min(n));
            let ((y0, y1), (x0, x1)) = (range(dy, h), range(dx, w));
            if y0 < y1 && x0 < x1 {
                image
                    .slice_mut(s![.., y0..y1, x0..x1])
                    .assign(&source.slice(s![.., y0 - dy..y1 - dy, x0 - dx..x1 - dx]));
            }
        }
    }
}
