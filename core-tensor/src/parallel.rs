//! How the kernels split work across threads without letting the thread count change a single bit.
//!
//! Every batched kernel cuts the batch into chunks of [`BATCH_CHUNK`] images (the last one may be
//! shorter). A chunk is always computed whole by one thread, and partial sums over the batch
//! (weight and bias gradients) are kept per chunk and added in chunk order after the parallel part.
//! The chunk boundaries depend on the batch size only, never on the number of threads, so a kernel
//! gives bit-identical results on 1, 2 or 64 threads.

use std::ops::Range;

use ndarray::{Array, ArrayViewMut, Axis, Dimension, RemoveAxis};
use rayon::prelude::*;

/// Images per work item. Fixed: changing it changes the order of floating-point sums (and so the
/// last bits of weight gradients); the thread count does not.
pub const BATCH_CHUNK: usize = 8;

/// The image ranges `[0, 8), [8, 16), ...` covering a batch of `batch` images, in order.
pub fn batch_chunks(batch: usize) -> Vec<Range<usize>> {
    (0..batch.div_ceil(BATCH_CHUNK))
        .map(|k| k * BATCH_CHUNK..((k + 1) * BATCH_CHUNK).min(batch))
        .collect()
}

/// Runs `work` on every chunk of the batch in parallel and returns the results in chunk order.
///
/// # Errors
/// The first error (in chunk order) that `work` returns.
pub fn map_chunks<T, E, F>(batch: usize, work: F) -> Result<Vec<T>, E>
where
    T: Send,
    E: Send,
    F: Fn(Range<usize>) -> Result<T, E> + Sync + Send,
{
    batch_chunks(batch).into_par_iter().map(work).collect()
}

/// Runs `work` in parallel on every chunk of images of `out` (N, ...), mutably: `work` gets the
/// chunk's image range and its part of `out`.
///
/// # Errors
/// An error that `work` returns (which one, when several chunks fail, is unspecified).
pub fn for_each_chunk_mut<D, E, F>(out: &mut Array<f32, D>, work: F) -> Result<(), E>
where
    D: Dimension + RemoveAxis,
    E: Send,
    F: Fn(Range<usize>, ArrayViewMut<'_, f32, D>) -> Result<(), E> + Sync + Send,
{
    map_chunks_mut(out, work).map(|_| ())
}

/// [`for_each_chunk_mut`] whose `work` also returns a value per chunk: the values, in chunk order.
///
/// # Errors
/// The first error (in chunk order) that `work` returns.
pub fn map_chunks_mut<D, T, E, F>(out: &mut Array<f32, D>, work: F) -> Result<Vec<T>, E>
where
    D: Dimension + RemoveAxis,
    T: Send,
    E: Send,
    F: Fn(Range<usize>, ArrayViewMut<'_, f32, D>) -> Result<T, E> + Sync + Send,
{
    let batch = out.len_of(Axis(0));
    out.axis_chunks_iter_mut(Axis(0), BATCH_CHUNK.max(1))
        .into_par_iter()
        .enumerate()
        .map(|(k, chunk)| {
            let start = k * BATCH_CHUNK;
            work(start..(start + BATCH_CHUNK).min(batch), chunk)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_the_batch_in_order() {
        assert_eq!(batch_chunks(0), Vec::<Range<usize>>::new());
        assert_eq!(batch_chunks(3), vec![0..3]);
        assert_eq!(batch_chunks(17), vec![0..8, 8..16, 16..17]);
    }

    #[test]
    fn map_chunks_keeps_order() {
        let got: Result<Vec<usize>, ()> = map_chunks(20, |r| Ok(r.start));
        assert_eq!(got, Ok(vec![0, 8, 16]));
    }
}
