//! Per-thread scratch memory for a kernel's temporaries.
//!
//! A training step needs megabytes of short-lived buffers per chunk of images (the input
//! gradient's columns, for one). Allocated afresh each step on rayon's worker threads, they come
//! back from the allocator as new pages (glibc returns a worker arena's free top to the system),
//! and the page faults cost about a tenth of the step. Each worker thread keeps one buffer
//! instead, grown to the largest size asked for and handed out zeroed.

use std::cell::RefCell;

thread_local! {
    static SCRATCH: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Runs `work` with a zeroed buffer of `len` floats from this thread's scratch memory (a fresh
/// one if the scratch is already in use further up this thread's stack).
pub(crate) fn with_scratch<R>(len: usize, work: impl FnOnce(&mut [f32]) -> R) -> R {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => {
            buf.clear();
            buf.resize(len, 0.0);
            work(&mut buf)
        }
        Err(_) => work(&mut vec![0.0; len]),
    })
}

/// Runs `work` with a buffer of `len` floats from this thread's scratch memory whose contents
/// are whatever the last user left: for callers that write every entry before reading it.
pub(crate) fn with_scratch_to_overwrite<R>(len: usize, work: impl FnOnce(&mut [f32]) -> R) -> R {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => {
            if buf.len() < len {
                buf.resize(len, 0.0);
            }
            work(&mut buf[..len])
        }
        Err(_) => work(&mut vec![0.0; len]),
    })
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
}
