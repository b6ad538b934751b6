//! Which instruction sets the hand-written SIMD kernels use.
//!
//! The direct convolution kernels, and the copies and adds of the window matrix, are compiled
//! for AVX-512, for AVX2 and for the baseline, and the best one the CPU has is picked at run
//! time. Many users' CPUs have AVX2 and no AVX-512; to measure what they get on a machine that
//! has both, [`force_avx2`] (or the environment variable `NN_FORCE_AVX2=1`, read once at the
//! first kernel call) caps the kernels at AVX2.
//! Every version computes the same sums in the same order without fused multiply-adds, so the
//! results are the same bits either way (tested).
//!
//! The GEMMs pick their kernels at run time too. The convolutions' (the `gemm` crate) use AVX2
//! and FMA on stable Rust, on any machine that has them; ndarray's (`matrixmultiply`, the linear
//! layers) has an AVX-512 kernel compiled in only with this crate's `avx512` feature (on by
//! default). Build without default features (`cargo build --release --no-default-features`) for
//! GEMMs without AVX-512.

use std::sync::atomic::{AtomicU8, Ordering};

const UNSET: u8 = 0;
const FORCED: u8 = 1;
const BEST: u8 = 2;

static AVX2_CAP: AtomicU8 = AtomicU8::new(UNSET);

/// Caps the SIMD kernels at AVX2 (`true`) or lets them use the best the CPU has (`false`), for
/// the whole process, overriding `NN_FORCE_AVX2`.
///
/// ```
/// core_tensor::simd::force_avx2(true);
/// assert!(core_tensor::simd::avx2_forced());
/// core_tensor::simd::force_avx2(false);
/// assert!(!core_tensor::simd::avx2_forced());
/// ```
pub fn force_avx2(on: bool) {
    AVX2_CAP.store(if on { FORCED } else { BEST }, Ordering::Relaxed);
}

/// Whether the SIMD kernels are capped at AVX2: [`force_avx2`]'s setting, else whether the
/// environment variable `NN_FORCE_AVX2` is `1` (read once).
pub fn avx2_forced() -> bool {
    match AVX2_CAP.load(Ordering::Relaxed) {
        FORCED => true,
        BEST => false,
        _ => {
            let on = std::env::var("NN_FORCE_AVX2").is_ok_and(|v| v == "1");
            // Another thread may have set it meanwhile: keep that.
            let _ = AVX2_CAP.compare_exchange(
                UNSET,
                if on { FORCED } else { BEST },
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
            AVX2_CAP.load(Ordering::Relaxed) == FORCED
        }
    }
}

/// Whether the kernels that size their blocks by the CPU's vector registers take the AVX-512
/// ones: the CPU has AVX-512 and [`avx2_forced`] is off.
pub(crate) fn avx512() -> bool {
    #[cfg(target_arch = "x86_64")]
    if !avx2_forced() && std::arch::is_x86_feature_detected!("avx512f") {
        return true;
    }
    false
}

/// Defines a kernel function compiled twice by `multiversion`: for the best of AVX-512, AVX2 and
/// the baseline, and for AVX2 and the baseline only; each call takes the first unless
/// [`avx2_forced`].
macro_rules! simd_kernel {
    ($(#[$meta:meta])* fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $body:block) => {
        $(#[$meta])*
        fn $name($($arg: $ty),*) {
            #[multiversion::multiversion(targets("x86_64+avx512f+avx2+avx", "x86_64+avx2+avx"))]
            fn best($($arg: $ty),*) $body
            #[multiversion::multiversion(targets("x86_64+avx2+avx"))]
            fn avx2($($arg: $ty),*) $body
            if $crate::simd::avx2_forced() {
                avx2($($arg),*)
            } else {
                best($($arg),*)
            }
        }
    };
}
pub(crate) use simd_kernel;
