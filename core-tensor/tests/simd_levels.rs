//! Capping the SIMD kernels at AVX2 (`core_tensor::simd::force_avx2`) changes the speed, never a
//! bit: every version sums in the same order without fused multiply-adds. One test in its own
//! binary, since the setting is process-wide.

use core_tensor::{conv2d, conv2d_backward, init, simd};
use ndarray::{Array4, Ix4};

/// Forward and all three gradients of a convolution, as bits.
fn run(x: &Array4<f32>, w: &Array4<f32>, padding: [usize; 2]) -> Vec<u32> {
    let y = conv2d(x.view(), w.view(), None, [1, 1], padding).unwrap();
    let dy = y.mapv(|v| (v * 3.0).sin());
    let g = conv2d_backward(x.view(), w.view(), dy.view(), [1, 1], padding).unwrap();
    y.iter()
        .chain(g.dx.iter())
        .chain(g.dw.iter())
        .chain(g.db.iter())
        .map(|v| v.to_bits())
        .collect()
}

#[test]
fn avx2_kernels_give_the_same_bits_as_the_best_ones() {
    let mut rng = init::seeded_rng(5);
    // Shapes that take the direct kernels (conv1-like) and the filter-lane weight gradient
    // (conv2-like).
    for (x_shape, w_shape, padding) in [
        ([8, 1, 28, 28], [6, 1, 5, 5], [2, 2]),
        ([8, 6, 14, 14], [16, 6, 5, 5], [0, 0]),
        ([4, 2, 12, 19], [3, 2, 3, 4], [1, 0]),
    ] {
        let x = init::default_weight(&x_shape, &mut rng)
            .unwrap()
            .into_dimensionality::<Ix4>()
            .unwrap();
        let w = init::default_weight(&w_shape, &mut rng)
            .unwrap()
            .into_dimensionality::<Ix4>()
            .unwrap();
        simd::force_avx2(false);
        let best = run(&x, &w, padding);
        simd::force_avx2(true);
        assert!(simd::avx2_forced());
        let avx2 = run(&x, &w, padding);
        simd::force_avx2(false);
        assert!(
            best == avx2,
            "{x_shape:?} * {w_shape:?}: AVX2 and best differ"
        );
    }
}
