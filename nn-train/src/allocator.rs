//! One process-wide setting of the system allocator that training needs.

/// Lets glibc's allocator keep freed memory instead of handing it back to the system after every
/// training step.
///
/// glibc `malloc` serves blocks above its *mmap threshold* (128 KiB at start) with fresh pages
/// from the system and returns the free top of its heaps once it exceeds the *trim threshold*.
/// Both adapt upwards, documented in mallopt(3): freeing a fresh-paged block of up to 32 MiB
/// raises the mmap threshold to that block's size and the trim threshold to twice it. A training
/// step allocates and frees several megabytes; left at their start values, the thresholds make
/// some runs fault in every page of those buffers again at every step (seen here: 150 000 against
/// 700 000 page faults per epoch from one run to the next, and a tenth of the epoch's time).
/// One 31 MiB block, allocated (never touched, so never resident) and freed, sets the thresholds
/// to 31 / 62 MiB from the start. With another allocator this is one short-lived allocation.
///
/// The `lenet5` and `seed_bn_net` binaries call it first thing; a program of your own that trains
/// with this crate should too.
pub fn settle_allocator() {
    let block = vec![0_u8; 31 << 20];
    drop(std::hint::black_box(block));
}
