//! How the kernels split work across threads without letting the thread count change a single bit.
//!
//! Every batched kernel cuts the batch into chunks of [`BATCH_CHUNK`] images (the last one may be
//! shorter). A chunk is always computed whole by one thread, and partial sums over the batch
//! (weight and bias gradients) are kept per chunk and added in chunk order.
//! The chunk boundaries depend on the batch size only, never on the number of threads, so a kernel
//! gives bit-identical results on 1, 2 or 64 threads.

use std::ops::Range;
use std::sync::{Condvar, Mutex, PoisonError};

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

/// The buffers of [`sum_chunks_in_order`], kept from one call to the next so that a warm call
/// allocates nothing: the sums of a chunk after the first while it is computed and until the
/// chunks before it have been added.
#[derive(Debug, Clone, Default)]
pub struct ChunkSums {
    /// Buffers free to take.
    free: Vec<Vec<f32>>,
    /// Chunks computed but not yet added (an earlier chunk is still running), with their sums.
    waiting: Vec<(usize, Vec<f32>)>,
}

impl ChunkSums {
    /// No buffers yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The buffers held and their floats in all.
    pub fn held(&self) -> (usize, usize) {
        (self.free.len(), self.free.iter().map(Vec::len).sum())
    }
}

/// The progress of one [`sum_chunks_in_order`] call, shared by its threads under a lock.
struct Progress<'a, E> {
    sums: &'a mut ChunkSums,
    /// The sums so far; lent to the thread that computes the first chunk into it.
    total: Option<&'a mut [f32]>,
    /// The next chunk to hand out.
    next_chunk: usize,
    /// The next chunk to add to `total`.
    next_add: usize,
    /// The error of the earliest failed chunk, by chunk index.
    error: Option<(usize, E)>,
    /// Whether a chunk panicked: the other threads stop instead of waiting for it.
    panicked: bool,
}

impl<E> Progress<'_, E> {
    /// Adds the waiting chunks that are next in order to `total` and frees their buffers.
    fn add_in_order(&mut self) {
        let Some(total) = self.total.as_deref_mut() else {
            return; // the first chunk is still being computed into it
        };
        while let Some(i) = self.sums.waiting.iter().position(|w| w.0 == self.next_add) {
            let (_, sums) = self.sums.waiting.swap_remove(i);
            for (t, s) in total.iter_mut().zip(&sums) {
                *t += s;
            }
            self.sums.free.push(sums);
            self.next_add += 1;
        }
    }
}

/// Writes into `total` the sum over the chunks of a batch of `batch` images of what `work`
/// computes for each (the chunk's image range, and a buffer of `total.len()` floats that `work`
/// must write whole), added in chunk order: `((s0 + s1) + s2) + ...`, the same bits on any
/// number of threads. Zeros for an empty batch.
///
/// Every thread of the pool takes the next chunk in turn and computes it (the first chunk into
/// `total` itself, the others into buffers of `sums`); once a chunk is done, whatever chunks are
/// next in order are added to `total`, so the additions overlap the computing. At most one
/// buffer per thread is in use: a thread that has run that far ahead of the others waits (so
/// `work` must compute its chunk on the thread that calls it, without waiting for other work of
/// the pool). The buffers are made on the calling thread.
///
/// ```
/// use core_tensor::parallel::{BATCH_CHUNK, ChunkSums, sum_chunks_in_order};
/// let mut sums = ChunkSums::new();
/// let mut total = [0.0_f32; 2];
/// sum_chunks_in_order(20, &mut sums, &mut total, |images, out| -> Result<(), ()> {
///     out.fill(images.len() as f32); // chunks of 8, 8 and 4 images
///     Ok(())
/// })
/// .unwrap();
/// assert_eq!((total, BATCH_CHUNK), ([20.0, 20.0], 8));
/// ```
///
/// # Errors
/// The error of the earliest chunk (in chunk order) among those that failed; the chunks after a
/// failure may be left undone.
pub fn sum_chunks_in_order<E, F>(
    batch: usize,
    sums: &mut ChunkSums,
    total: &mut [f32],
    work: F,
) -> Result<(), E>
where
    E: Send,
    F: Fn(Range<usize>, &mut [f32]) -> Result<(), E> + Sync + Send,
{
    let chunks = chunk_count(batch);
    if chunks == 0 {
        total.fill(0.0);
        return Ok(());
    }
    let (len, threads) = (total.len(), rayon::current_num_threads());
    let buffers = threads.min(chunks - 1);
    sums.waiting.reserve(buffers);
    sums.free
        .resize_with(buffers.max(sums.free.len()), Vec::new);
    for buffer in &mut sums.free {
        buffer.resize(len, 0.0);
    }
    let progress = Mutex::new(Progress {
        sums,
        total: Some(total),
        next_chunk: 0,
        next_add: 0,
        error: None,
        panicked: false,
    });
    let turn = Condvar::new();
    let lock = || progress.lock().unwrap_or_else(PoisonError::into_inner);
    (0..threads).into_par_iter().for_each(|_| {
        loop {
            let mut p = lock();
            // A chunk and somewhere to compute it, or nothing left to do.
            let (k, mut out) = loop {
                if p.next_chunk == chunks || p.error.is_some() || p.panicked {
                    return;
                }
                if p.next_chunk == 0
                    && let Some(total) = p.total.take()
                {
                    break (0, Out::Total(total));
                }
                if let Some(buffer) = p.sums.free.pop() {
                    break (p.next_chunk, Out::Buffer(buffer));
                }
                p = turn.wait(p).unwrap_or_else(PoisonError::into_inner);
            };
            p.next_chunk += 1;
            drop(p);
            // Should `work` panic, the threads waiting for a buffer stop and the panic goes on.
            let on_panic = OnPanic(|| {
                lock().panicked = true;
                turn.notify_all();
            });
            let done = match &mut out {
                Out::Total(total) => work(chunk(batch, k), total),
                Out::Buffer(buffer) => work(chunk(batch, k), buffer),
            };
            std::mem::forget(on_panic);
            let mut p = lock();
            if let Err(e) = done
                && p.error.as_ref().is_none_or(|(first, _)| k < *first)
            {
                p.error = Some((k, e));
            }
            match out {
                Out::Total(total) => {
                    p.total = Some(total);
                    p.next_add = 1;
                }
                Out::Buffer(buffer) if p.error.is_none() => p.sums.waiting.push((k, buffer)),
                Out::Buffer(buffer) => p.sums.free.push(buffer),
            }
            p.add_in_order();
            drop(p);
            turn.notify_all();
        }
    });
    let p = progress
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    // After a failure, buffers of chunks still waiting go back to the free list.
    let Progress { sums, error, .. } = p;
    sums.free.extend(sums.waiting.drain(..).map(|(_, b)| b));
    match error {
        Some((_, e)) => Err(e),
        None => Ok(()),
    }
}

/// Runs its closure when dropped during a panic (and is forgotten otherwise).
struct OnPanic<F: FnMut()>(F);

impl<F: FnMut()> Drop for OnPanic<F> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            (self.0)();
        }
    }
}

/// Where a chunk of [`sum_chunks_in_order`] is computed.
enum Out<'a> {
    /// The first chunk: the total itself.
    Total(&'a mut [f32]),
    /// A later chunk: a buffer of its own.
    Buffer(Vec<f32>),
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
    fn chunk_sums_are_added_in_chunk_order_on_any_threads() {
        // Values whose sum depends on the order of the additions.
        let value = |k: usize| [1e8_f32, 1.0, -1e8, 3.5, 1e-3, 7e7, -2.0, 0.25, 9.0][k % 9];
        let len = 100;
        let work = |images: Range<usize>, out: &mut [f32]| -> Result<(), usize> {
            out.fill(value(images.start / BATCH_CHUNK));
            Ok(())
        };
        let batch = 9 * BATCH_CHUNK - 3;
        let expected = (1..9).fold(value(0), |t, k| t + value(k));
        for threads in [1, 2, 5, 16] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let (mut sums, mut total) = (ChunkSums::new(), vec![f32::NAN; len]);
            for _ in 0..3 {
                pool.install(|| sum_chunks_in_order(batch, &mut sums, &mut total, work))
                    .unwrap();
                assert!(
                    total.iter().all(|&t| t.to_bits() == expected.to_bits()),
                    "{threads}"
                );
                // One buffer per thread and one more at most, all free again.
                let (held, floats) = sums.held();
                assert!(
                    held >= 1 && held <= (threads + 1).min(9),
                    "{threads}: {held}"
                );
                assert_eq!(floats, held * len);
            }
        }
        let (mut sums, mut total) = (ChunkSums::new(), vec![f32::NAN; 4]);
        sum_chunks_in_order(0, &mut sums, &mut total, work).unwrap();
        assert_eq!(total, [0.0; 4]);
    }

    #[test]
    fn the_earliest_failed_chunk_is_reported_and_the_buffers_kept() {
        let work = |images: Range<usize>, out: &mut [f32]| -> Result<(), usize> {
            let k = images.start / BATCH_CHUNK;
            out.fill(1.0);
            if k >= 3 { Err(k) } else { Ok(()) }
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(4)
            .build()
            .unwrap();
        let mut sums = ChunkSums::new();
        let mut total = [0.0; 8];
        let got =
            pool.install(|| sum_chunks_in_order(10 * BATCH_CHUNK, &mut sums, &mut total, work));
        // Chunk 3 is handed out before any later one, and fails whatever else does.
        assert_eq!(got, Err(3));
        assert_eq!(sums.held().0, 4);
    }

    #[test]
    fn a_panicking_chunk_panics_the_call_instead_of_leaving_threads_waiting() {
        let work = |images: Range<usize>, out: &mut [f32]| -> Result<(), ()> {
            let k = images.start / BATCH_CHUNK;
            if k == 0 {
                // The first chunk is slow to fail: the other thread runs ahead and waits.
                std::thread::sleep(std::time::Duration::from_millis(50));
                panic!("chunk 0");
            }
            out.fill(1.0);
            Ok(())
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        let got = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let (mut sums, mut total) = (ChunkSums::new(), [0.0; 4]);
            pool.install(|| sum_chunks_in_order(8 * BATCH_CHUNK, &mut sums, &mut total, work))
        }));
        assert!(got.is_err());
    }

    #[test]
    fn map_chunks_keeps_order() {
        let got: Result<Vec<usize>, ()> = map_chunks(20, |r| Ok(r.start));
        assert_eq!(got, Ok(vec![0, 8, 16]));
    }
}
