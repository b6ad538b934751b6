//! Capping the SIMD kernels at AVX2 (`core_tensor::simd::force_avx2`) changes the speed, never a
//! bit: every version sums in the same order without fused multiply-adds. One test in its own
//! binary, since the setting is process-wide.

use core_tensor::{Conv2dParams, conv2d, conv2d_backward, init, random, simd};
use ndarray::{Array4, Ix4};

/// Forward and all three gradients of a convolution, as bits.
fn run(x: &Array4<f32>, w: &Array4<f32>, params: Conv2dParams) -> Vec<u32> {
    let y = conv2d(x.view(), w.view(), None, &params).unwrap();
    let dy = y.mapv(|v| (v * 3.0).sin());
    let g = conv2d_backward(x.view(), w.view(), dy.view(), &params).unwrap();
    y.iter()
        .chain(g.dx.iter())
        .chain(g.dw.iter())
        .chain(g.db.iter())
        .map(|v| v.to_bits())
        .collect()
}

#[test]
fn avx2_kernels_give_the_same_bits_as_the_best_ones() {
    let mut rng = random::seeded_rng(5);
    // Shapes that take the direct kernels (depthwise), the filter-lane weight gradient (16
    // filters; dilated), Winograd (32 channels, 3x3 and 5x5) and the GEMM.
    let p = Conv2dParams::new;
    for (x_shape, w_shape, params) in [
        ([8, 1, 28, 28], [6, 1, 5, 5], p().padding([2, 2])),
        ([8, 6, 14, 14], [16, 6, 5, 5], p()),
        ([4, 2, 12, 19], [3, 2, 3, 4], p().padding([1, 0])),
        ([4, 8, 16, 16], [8, 1, 3, 3], p().padding([1, 1]).groups(8)),
        ([4, 32, 10, 11], [32, 32, 3, 3], p().padding([1, 1])),
        ([4, 32, 11, 10], [40, 32, 5, 5], p().padding([2, 2])),
        (
            [4, 16, 12, 12],
            [16, 16, 3, 3],
            p().padding([2, 2]).dilation([2, 2]),
        ),
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
        let best = run(&x, &w, params);
        simd::force_avx2(true);
        assert!(simd::avx2_forced());
        let avx2 = run(&x, &w, params);
        simd::force_avx2(false);
        assert!(
            best == avx2,
            "{x_shape:?} * {w_shape:?}: AVX2 and best differ"
        );
    }
}
