//! The framework's random numbers: one portable generator ([`SeededRng`], ChaCha8, the same
//! sequence on every platform and version) and the policy that keeps the users of one seed apart
//! ([`streams`]): initialisation, each dropout layer and each epoch's shuffle draw from separate
//! streams, so that none is a function of another and any epoch's order is reachable directly.
//!
//! The initialisers that draw from it are in [`crate::init`].

use crate::error::{Result, TensorError};

/// The random number generator of every initialiser (and, higher up, of shuffling and dropout).
pub type SeededRng = rand_chacha::ChaCha8Rng;

/// The generator traits, for code that draws from a [`SeededRng`] directly.
pub use ndarray_rand::rand::{RngCore, SeedableRng};

/// A [`SeededRng`] from a 64-bit seed: stream [`streams::INIT`] of that seed.
pub fn seeded_rng(seed: u64) -> SeededRng {
    SeededRng::seed_from_u64(seed)
}

/// The stream numbers that keep the framework's users of one seed apart.
///
/// A run usually hands the same seed to the initialiser, the data loader and the dropout layers.
/// Each of them draws from its own ChaCha8 stream of that seed, so their draws are independent
/// sequences: the first epoch's batch order is not made of the same random words as the first
/// layer's weights, and a dropout mask is not a function of the initial weights.
///
/// ```
/// use core_tensor::random::{RngCore, seeded_rng, seeded_stream, streams};
/// let init = seeded_rng(42).next_u64();
/// assert_eq!(init, seeded_stream(42, streams::INIT).next_u64());
/// assert_ne!(init, seeded_stream(42, streams::shuffle(0)).next_u64());
/// assert_ne!(init, seeded_stream(42, streams::DROPOUT).next_u64());
/// ```
pub mod streams {
    /// Parameter initialisation ([`super::seeded_rng`]).
    pub const INIT: u64 = 0;
    /// A dropout layer's masks.
    pub const DROPOUT: u64 = 1;
    /// The first of the data loader's streams; see [`shuffle`].
    pub const FIRST_SHUFFLE: u64 = 1 << 32;

    /// The stream of the data loader's order for epoch `epoch` (0-based): one stream per epoch,
    /// so that any epoch's order can be drawn directly, all of them clear of the others.
    pub const fn shuffle(epoch: u64) -> u64 {
        FIRST_SHUFFLE.wrapping_add(epoch)
    }

    /// The first of the data loader's augmentation streams; see [`augment`].
    pub const FIRST_AUGMENT: u64 = 2 << 32;

    /// The stream of the data loader's random augmentation (shifts) for epoch `epoch` (0-based),
    /// clear of the shuffle streams, so that adding augmentation does not change the order.
    pub const fn augment(epoch: u64) -> u64 {
        FIRST_AUGMENT.wrapping_add(epoch)
    }
}

/// A [`SeededRng`] from a seed and a stream number: independent sequences for, say, each epoch of
/// a run, each reachable directly (resuming at epoch 7 needs no replay of epochs 1-6).
///
/// ```
/// use core_tensor::random::{RngCore, seeded_stream};
/// let a = seeded_stream(42, 1).next_u64();
/// assert_eq!(a, seeded_stream(42, 1).next_u64());
/// assert_ne!(a, seeded_stream(42, 2).next_u64());
/// ```
pub fn seeded_stream(seed: u64, stream: u64) -> SeededRng {
    let mut rng = SeededRng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

/// A uniform integer in `0..bound` (`bound > 0`), unbiased (rejection sampling), from 64-bit
/// draws only, so that the sequence is fixed by the generator alone on every platform.
///
/// # Errors
/// A zero `bound`.
pub fn uniform_below(rng: &mut SeededRng, bound: u64) -> Result<u64> {
    if bound == 0 {
        return Err(TensorError::InvalidArgument {
            op: "random::uniform_below",
            message: "the bound must be at least 1".into(),
        });
    }
    // Values below 2^64 mod bound would make the low residues more likely: draw again.
    let threshold = bound.wrapping_neg() % bound;
    loop {
        let v = rng.next_u64();
        if v >= threshold {
            return Ok(v % bound);
        }
    }
}
