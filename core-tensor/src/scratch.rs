//! Per-thread scratch memory for a kernel's temporaries.
//!
//! A training step needs megabytes of short-lived buffers per chunk of images (the input
//! gradient's columns, for one). Allocated afresh each step on rayon's worker threads, they come
//! back from the allocator as new pages (glibc returns a worker arena's free top to the system),
//! and the page faults cost about a tenth of the step. Each thread keeps its buffers instead,
//! grown to the largest size asked for.
//!
//! Calls nest: each level of nesting on a thread has its own buffer, so a kernel can hold two
//! scratch buffers at once, and a warm thread allocates nothing.

use std::cell::{Cell, RefCell};

thread_local! {
    /// One buffer per nesting level.
    static SCRATCH: RefCell<Vec<Vec<f32>>> = const { RefCell::new(Vec::new()) };
    /// How many scratch buffers this thread has handed out and not yet got back.
    static DEPTH: Cell<usize> = const { Cell::new(0) };
}

/// Runs `work` with this thread's scratch buffer for the current nesting level, `len` floats
/// long, zeroed first if `zeroed`.
fn with_level<R>(len: usize, zeroed: bool, work: impl FnOnce(&mut [f32]) -> R) -> R {
    let depth = DEPTH.get();
    // The buffer is taken out of the cell while `work` runs, so that nested calls can borrow it.
    let mut buf = SCRATCH.with(|cell| {
        let mut levels = cell.borrow_mut();
        if levels.len() <= depth {
            levels.resize_with(depth + 1, Vec::new);
        }
        std::mem::take(&mut levels[depth])
    });
    if zeroed {
        buf.clear();
    }
    if buf.len() < len {
        buf.resize(len, 0.0);
    }
    DEPTH.set(depth + 1);
    let out = work(&mut buf[..len]);
    DEPTH.set(depth);
    SCRATCH.with(|cell| cell.borrow_mut()[depth] = buf);
    out
}

/// Runs `work` with a zeroed buffer of `len` floats from this thread's scratch memory.
pub(crate) fn with_scratch<R>(len: usize, work: impl FnOnce(&mut [f32]) -> R) -> R {
    with_level(len, true, work)
}

/// Runs `work` with a buffer of `len` floats from this thread's scratch memory whose contents
/// are whatever the last user left: for callers that write every entry before reading it.
pub(crate) fn with_scratch_to_overwrite<R>(len: usize, work: impl FnOnce(&mut [f32]) -> R) -> R {
    with_level(len, false, work)
}

/// The data of `reuse` to write over when it has `len` values (a buffer of the same geometry
/// from the last training step: what was zero in it still is), else `len` zeros.
pub(crate) fn reuse_or_zeros(reuse: Option<ndarray::Array2<f32>>, len: usize) -> Vec<f32> {
    match reuse.map(ndarray::Array2::into_raw_vec_and_offset) {
        Some((v, Some(0))) if v.len() == len => v,
        _ => vec![0.0_f32; len],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_come_zeroed_and_nested_use_gets_its_own() {
        with_scratch(4, |a| {
            assert_eq!(a, [0.0; 4]);
            a.fill(7.0);
            with_scratch(2, |b| {
                assert_eq!(b, [0.0; 2]);
                b.fill(1.0);
            });
            assert_eq!(a, [7.0; 4]);
        });
        with_scratch(6, |a| assert_eq!(a, [0.0; 6]));
    }

    #[test]
    fn a_warm_thread_reuses_its_buffers() {
        let first = with_scratch(8, |a| {
            with_scratch_to_overwrite(4, |b| (a.as_ptr(), b.as_ptr()))
        });
        let again = with_scratch(8, |a| {
            with_scratch_to_overwrite(4, |b| (a.as_ptr(), b.as_ptr()))
        });
        assert_eq!(first, again);
        assert_ne!(first.0, first.1);
    }
}
