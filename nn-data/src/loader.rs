//! Batches in a seeded order.

use core_tensor::random::{SeededRng, seeded_stream, streams, uniform_below};
use ndarray::{Array4, ArrayViewMut4};

use crate::augment::RandomShift;
use crate::dataset::{Batch, Dataset, ImageIndex, Normalization};
use crate::error::{DataError, Result};

/// Cuts a [`Dataset`] into batches, in a new seeded order every epoch.
///
/// The order of epoch `e` is a Fisher-Yates shuffle driven by a ChaCha8 generator seeded with
/// `seed` on the stream [`streams::shuffle`]`(e)`, apart from the streams that initialisation and
/// dropout draw from with the same seed: the same seed gives the same order on every machine and
/// thread count, each epoch's order differs, and any epoch's order can be had directly (a resumed
/// run needs no replay). Batches are gathered image by image from the `u8` set; the set is never copied whole.
///
/// ```
/// let data = nn_data::Dataset::new(vec![0; 10 * 4], (0..10).collect(), 2, 2).unwrap();
/// let loader = nn_data::DataLoader::new(&data, 4).unwrap().shuffle(42);
/// let batches: Vec<_> = loader.epoch(1).collect();
/// assert_eq!(batches.len(), 3); // 4 + 4 + 2: the last partial batch is kept
/// assert_eq!(batches[0].images.shape(), &[4, 1, 2, 2]);
/// ```
#[derive(Debug, Clone)]
pub struct DataLoader<'a> {
    data: &'a Dataset,
    batch_size: usize,
    seed: Option<u64>,
    drop_last: bool,
    normalization: Normalization,
    shift: Option<RandomShift>,
}

impl<'a> DataLoader<'a> {
    /// A loader of `batch_size` images per batch, in the set's own order, keeping the last
    /// partial batch, with pixels as `x / 255`.
    ///
    /// # Errors
    /// A batch size of zero.
    pub fn new(data: &'a Dataset, batch_size: usize) -> Result<Self> {
        if batch_size == 0 {
            return Err(DataError::InvalidArgument(
                "the batch size must be at least 1".into(),
            ));
        }
        Ok(Self {
            data,
            batch_size,
            seed: None,
            drop_last: false,
            normalization: Normalization::Unit,
            shift: None,
        })
    }

    /// Shuffles every epoch from `seed`.
    pub fn shuffle(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Drops the last batch when it is smaller than the batch size.
    pub fn drop_last(mut self, drop: bool) -> Self {
        self.drop_last = drop;
        self
    }

    /// How pixels become `f32`.
    ///
    /// # Errors
    /// A non-finite mean or a std that is not finite and positive
    /// ([`Normalization::validate`]).
    pub fn normalization(mut self, normalization: Normalization) -> Result<Self> {
        normalization.validate()?;
        self.normalization = normalization;
        Ok(self)
    }

    /// Moves every image of every batch by a random shift, drawn from the stream
    /// [`streams::augment`]`(epoch)` of the shuffle seed (0 when the loader does not shuffle).
    ///
    /// ```
    /// use nn_data::{DataLoader, Dataset, RandomShift};
    /// let data = Dataset::new(vec![255; 8 * 16], vec![0; 8], 4, 4).unwrap();
    /// let shift = RandomShift::new(1).unwrap();
    /// let loader = DataLoader::new(&data, 8).unwrap().shuffle(1).random_shift(shift);
    /// let a = loader.epoch(3).next().unwrap().images;
    /// assert_eq!(a, loader.epoch(3).next().unwrap().images); // the same draws every time
    /// assert!(a.iter().any(|&v| v == 0.0)); // black pixels shifted in
    /// ```
    pub fn random_shift(mut self, shift: RandomShift) -> Self {
        self.shift = (shift.max() > 0).then_some(shift);
        self
    }

    /// The batch size.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// The number of batches per epoch.
    pub fn num_batches(&self) -> usize {
        if self.drop_last {
            self.data.len() / self.batch_size
        } else {
            self.data.len().div_ceil(self.batch_size)
        }
    }

    /// The order in which epoch `epoch` visits the images (all of them, each once).
    pub fn order(&self, epoch: usize) -> Vec<usize> {
        self.positions(epoch)
            .into_iter()
            .map(ImageIndex::get)
            .collect()
    }

    /// [`DataLoader::order`] as the batches keep it, four bytes an image
    /// ([`MAX_IMAGES`](crate::MAX_IMAGES)).
    fn positions(&self, epoch: usize) -> Vec<u32> {
        // `Dataset::new` holds at most `MAX_IMAGES` = `u32::MAX` images.
        let count = u32::try_from(self.data.len());
        debug_assert!(count.is_ok(), "a data set of more than MAX_IMAGES images");
        let count = count.unwrap_or(u32::MAX);
        let mut order: Vec<u32> = (0..count).collect();
        if let Some(seed) = self.seed {
            let mut rng = seeded_stream(seed, streams::shuffle(epoch as u64));
            for i in (1..order.len()).rev() {
                // `i + 1 >= 2` so the bound is never zero.
                let j = uniform_below(&mut rng, i as u64 + 1).unwrap_or(0) as usize;
                order.swap(i, j);
            }
        }
        order
    }

    /// The batches of epoch `epoch`.
    pub fn epoch(&self, epoch: usize) -> Batches<'a> {
        Batches {
            data: self.data,
            order: self.positions(epoch),
            batch_size: self.batch_size,
            next: 0,
            remaining: self.num_batches(),
            normalization: self.normalization,
            shift: self.shift.map(|shift| {
                let stream = streams::augment(epoch as u64);
                (shift, seeded_stream(self.seed.unwrap_or(0), stream))
            }),
            source: Vec::new(),
        }
    }
}

/// The batches of one epoch; see [`DataLoader::epoch`].
#[derive(Debug, Clone)]
pub struct Batches<'a> {
    data: &'a Dataset,
    order: Vec<u32>,
    batch_size: usize,
    next: usize,
    remaining: usize,
    normalization: Normalization,
    shift: Option<(RandomShift, SeededRng)>,
    /// Memory the random shift copies each image to, reused from batch to batch.
    source: Vec<f32>,
}

impl Batches<'_> {
    /// The shape (N, 1, rows, cols) of the next batch, if any.
    pub fn next_shape(&self) -> Option<[usize; 4]> {
        if self.remaining == 0 {
            return None;
        }
        let count = (self.next + self.batch_size).min(self.order.len()) - self.next;
        let [rows, cols] = self.data.image_size();
        Some([count, 1, rows, cols])
    }

    /// The next batch written into `images` (as many values as [`Batches::next_shape`] gives,
    /// in that shape's standard order) and `labels` (cleared first): the same batch as
    /// [`Iterator::next`], into memory the caller reuses, so that a warm call allocates
    /// nothing. `false` when the epoch is over or `images` is not the batch's size.
    pub fn next_into(&mut self, images: &mut [f32], labels: &mut Vec<usize>) -> bool {
        let Some(shape) = self.next_shape() else {
            return false;
        };
        if images.len() != shape.iter().product::<usize>() {
            return false;
        }
        self.remaining -= 1;
        let end = self.next + shape[0];
        let indices = &self.order[self.next..end];
        self.data
            .gather_into(indices, self.normalization, images, labels);
        if let Some((shift, rng)) = &mut self.shift
            && let Ok(view) = ArrayViewMut4::from_shape(shape, images)
        {
            shift.apply_view(view, rng, self.normalization.apply(0), &mut self.source);
        }
        self.next = end;
        true
    }
}

impl Iterator for Batches<'_> {
    type Item = Batch;

    fn next(&mut self) -> Option<Batch> {
        let shape = self.next_shape()?;
        let mut images = Array4::zeros(shape);
        let mut labels = Vec::with_capacity(shape[0]);
        let data = images.as_slice_mut()?;
        self.next_into(data, &mut labels)
            .then_some(Batch { images, labels })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for Batches<'_> {}
