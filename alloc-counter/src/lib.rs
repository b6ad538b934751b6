//! # alloc-counter: how much memory a piece of code holds at most
//!
//! Test support. A test binary installs [`Counting`] as its global allocator; [`peak_bytes`]
//! then tells the most bytes a closure held allocated at once, so that a test can assert that
//! loading a file takes memory in proportion to the file.
//!
//! ```
//! #[global_allocator]
//! static ALLOCATOR: alloc_counter::Counting = alloc_counter::Counting;
//!
//! let (_, peak) = alloc_counter::peak_bytes(|| vec![0_u8; 1 << 20]);
//! assert!(peak >= 1 << 20);
//! ```
//!
//! The counters are process-wide: tests that measure must not run beside other tests that
//! allocate (hold one lock, [`serial`], in every test of the binary).
//!
//! `unsafe` is allowed in this crate alone: implementing `GlobalAlloc` requires it. Every call
//! is forwarded unchanged to the system allocator.

#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static CALLS: AtomicUsize = AtomicUsize::new(0);
static LARGEST: AtomicUsize = AtomicUsize::new(0);
static SERIAL: Mutex<()> = Mutex::new(());

/// The system allocator, counting the bytes held and the most held at once.
pub struct Counting;

// SAFETY: every call is forwarded to the system allocator with the caller's arguments; only
// counters are kept beside it.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is passed on unchanged.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is passed on unchanged.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract is passed on unchanged.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            // Counted as held twice while it moves, as a moving realloc does.
            grew(new_size);
            CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        p
    }
}

fn grew(bytes: usize) {
    CALLS.fetch_add(1, Ordering::Relaxed);
    LARGEST.fetch_max(bytes, Ordering::Relaxed);
    let now = CURRENT.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

/// Runs `f` and returns its result with the most bytes it held allocated at once (above what
/// was held when it started). Zero unless [`Counting`] is the global allocator.
pub fn peak_bytes<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = CURRENT.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let out = f();
    (out, PEAK.load(Ordering::Relaxed).saturating_sub(base))
}

/// Runs `f` and returns its result with the number of allocations it made (each `alloc`,
/// `alloc_zeroed` and `realloc` counts one). Zero unless [`Counting`] is the global allocator.
///
/// ```
/// #[global_allocator]
/// static ALLOCATOR: alloc_counter::Counting = alloc_counter::Counting;
///
/// let mut v = Vec::with_capacity(16);
/// let (_, calls) = alloc_counter::allocations(|| v.extend([1, 2, 3]));
/// assert_eq!(calls, 0);
/// let (_, calls) = alloc_counter::allocations(|| vec![0_u8; 4]);
/// assert_eq!(calls, 1);
/// ```
pub fn allocations<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = CALLS.load(Ordering::Relaxed);
    let out = f();
    (out, CALLS.load(Ordering::Relaxed) - before)
}

/// Runs `f` and returns its result with the size in bytes of the largest single allocation it
/// made (0 if none). Zero unless [`Counting`] is the global allocator.
///
/// ```
/// #[global_allocator]
/// static ALLOCATOR: alloc_counter::Counting = alloc_counter::Counting;
///
/// let (_, largest) = alloc_counter::largest_allocation(|| (vec![0_u8; 10], vec![0_u8; 300]));
/// assert_eq!(largest, 300);
/// ```
pub fn largest_allocation<T>(f: impl FnOnce() -> T) -> (T, usize) {
    LARGEST.store(0, Ordering::Relaxed);
    let out = f();
    (out, LARGEST.load(Ordering::Relaxed))
}

/// A lock that every test of a measuring binary holds, so that only one runs at a time.
pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}
