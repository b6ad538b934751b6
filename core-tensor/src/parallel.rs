//! How the kernels split work across threads without letting the thread count change a single bit.
//!
//! Every batched kernel cuts the batch into chunks of [`BATCH_CHUNK`] images (the last one may be
//! shorter). A chunk is always computed whole by one thread, and partial sums over the batch
//! (weight and bias gradients) are kept per chunk and added in chunk order after the parallel part.
//! The chunk boundaries depend on the batch size only, never on the number of threads, so a kernel
//! gives bit-identical results on 1, 2 or 64 threads.

use std::ops::Range;

use ndarray::{ArrayViewMut, Axis, Dimension, RemoveAxis};
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

/// The number of chunks of a batch of `batch` images.
pub fn chunk_count(batch: usize) -> usize {
    batch.div_ceil(BATCH_CHUNK)
}

/// The images of chunk `k` of a batch of `batch` images.
pub fn chunk(batch: usize, k: usize) -> Range<usize> {
    (k * BATCH_CHUNK).min(batch)..((k + 1) * BATCH_CHUNK).min(batch)
}

/// Runs `work` in parallel on every chunk of a batch of `batch` images, with the chunk's own
/// entry of `states` (one per chunk, [`chunk_count`] of them): where a kernel keeps what a chunk
/// computed, in buffers that it reuses from one call to the next. Allocates nothing.
///
/// # Errors
/// An error that `work` returns (which one, when several chunks fail, is unspecified).
pub fn for_each_chunk_with<S, E, F>(batch: usize, states: &mut [S], work: F) -> Result<(), E>
where
    S: Send,
    E: Send,
    F: Fn(Range<usize>, &mut S) -> Result<(), E> + Sync + Send,
{
    debug_assert_eq!(states.len(), chunk_count(batch), "one state per chunk");
    states
        .par_iter_mut()
        .enumerate()
        .try_for_each(|(k, state)| work(chunk(batch, k), state))
}

/// Writes into `total` the sum over the chunks of a batch of `batch` images of what `work`
/// computes for each (the chunk's image range, and a buffer of `total.len()` floats that `work`
/// must write whole), added in chunk order: `((s0 + s1) + s2) + ...`, the same bits on any
/// number of threads. Zeros for an empty batch.
///
/// The chunks run in parallel, in rounds of as many as fit in `max_floats` of sums (at least
/// one per thread), each round's sums added to `total` before the next round starts: with
/// `usize::MAX`, all in one parallel section. `slots` holds the rounds' buffers from one call to
/// the next: a warm call allocates nothing.
///
/// # Errors
/// An error that `work` returns (the first round's first, when several chunks fail).
pub fn sum_chunks_in_order<E, F>(
    batch: usize,
    slots: &mut Vec<Vec<f32>>,
    total: &mut [f32],
    max_floats: usize,
    work: F,
) -> Result<(), E>
where
    E: Send,
    F: Fn(Range<usize>, &mut [f32]) -> Result<(), E> + Sync + Send,
{
    let (chunks, len) = (chunk_count(batch), total.len());
    let fit = max_floats / len.max(1);
    let width = fit
        .max(rayon::current_num_threads())
        .clamp(1, chunks.max(1));
    slots.resize_with(width, Vec::new);
    for slot in slots.iter_mut() {
        slot.resize(len, 0.0);
    }
    total.fill(0.0);
    for first in (0..chunks).step_by(width) {
        let round = width.min(chunks - first);
        slots[..round]
            .par_iter_mut()
            .enumerate()
            .try_for_each(|(i, slot)| work(chunk(batch, first + i), slot))?;
        for (i, slot) in slots[..round].iter().enumerate() {
            if first + i == 0 {
                total.copy_from_slice(slot);
            } else {
                for (t, s) in total.iter_mut().zip(slot.iter()) {
                    *t += s;
                }
            }
        }
    }
    Ok(())
}

/// Runs `work` in parallel on every chunk of images of `out` (N, ...), mutably: `work` gets the
/// chunk's image range and its part of `out`. Allocates nothing.
///
/// # Errors
/// An error that `work` returns (which one, when several chunks fail, is unspecified).
pub fn for_each_chunk_mut<D, E, F>(out: ArrayViewMut<'_, f32, D>, work: F) -> Result<(), E>
where
    D: Dimension + RemoveAxis,
    E: Send,
    F: Fn(Range<usize>, ArrayViewMut<'_, f32, D>) -> Result<(), E> + Sync + Send,
{
    let batch = out.len_of(Axis(0));
    let mut states = vec![(); chunk_count(batch)];
    for_each_chunk_mut_with(out, &mut states, |images, out, ()| work(images, out))
}

/// [`for_each_chunk_mut`] with the chunk's own entry of `states` as well (as in
/// [`for_each_chunk_with`]).
///
/// # Errors
/// An error that `work` returns (which one, when several chunks fail, is unspecified).
pub fn for_each_chunk_mut_with<D, S, E, F>(
    mut out: ArrayViewMut<'_, f32, D>,
    states: &mut [S],
    work: F,
) -> Result<(), E>
where
    D: Dimension + RemoveAxis,
    S: Send,
    E: Send,
    F: Fn(Range<usize>, ArrayViewMut<'_, f32, D>, &mut S) -> Result<(), E> + Sync + Send,
{
    let batch = out.len_of(Axis(0));
    debug_assert_eq!(states.len(), chunk_count(batch), "one state per chunk");
    out.axis_chunks_iter_mut(Axis(0), BATCH_CHUNK)
        .into_par_iter()
        .zip(states.par_iter_mut())
        .enumerate()
        .try_for_each(|(k, (part, state))| work(chunk(batch, k), part, state))
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
    fn chunk_sums_are_added_in_chunk_order_in_any_rounds() {
        // Values whose sum depends on the order of the additions.
        let value = |k: usize| [1e8_f32, 1.0, -1e8, 3.5, 1e-3, 7e7, -2.0, 0.25, 9.0][k % 9];
        let (len, max_floats) = (100, 300); // rounds of three chunks, or one per thread
        let work = |images: Range<usize>, out: &mut [f32]| -> Result<(), ()> {
            out.fill(value(images.start / BATCH_CHUNK));
            Ok(())
        };
        let batch = 9 * BATCH_CHUNK - 3;
        let expected = (1..9).fold(value(0), |t, k| t + value(k));
        for threads in [1, 2, 5] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let (mut slots, mut total) = (Vec::new(), vec![f32::NAN; len]);
            let sum = || sum_chunks_in_order(batch, &mut slots, &mut total, max_floats, work);
            pool.install(sum).unwrap();
            assert!(
                total.iter().all(|&t| t.to_bits() == expected.to_bits()),
                "{threads}"
            );
            assert_eq!(slots.len(), threads.max(3), "{threads}");
        }
        let (mut slots, mut total) = (Vec::new(), vec![f32::NAN; 4]);
        sum_chunks_in_order(0, &mut slots, &mut total, usize::MAX, work).unwrap();
        assert_eq!(total, [0.0; 4]);
    }

    #[test]
    fn map_chunks_keeps_order() {
        let got: Result<Vec<usize>, ()> = map_chunks(20, |r| Ok(r.start));
        assert_eq!(got, Ok(vec![0, 8, 16]));
    }
}
