//! dx and dw of the convolution against central finite differences of the forward pass.
//!
//! With L = Σ conv2d(x, w) · dy, dL/dx and dL/dw are what `conv2d_backward` returns. The forward is
//! linear in x and in w, so a central difference is exact up to rounding: any real error in the
//! gradient shows far above the tolerance.

mod common;

use common::random4;
use core_tensor::{self as ct};
use ndarray::Array4;

fn loss(x: &Array4<f32>, w: &Array4<f32>, dy: &Array4<f32>, p: &ct::Conv2dParams) -> f64 {
    let y = ct::conv2d(x.view(), w.view(), None, p).unwrap();
    y.iter()
        .zip(dy.iter())
        .map(|(a, b)| f64::from(*a) * f64::from(*b))
        .sum()
}

fn check(n: usize, c: usize, f: usize, hw: [usize; 2], k: [usize; 2], p: ct::Conv2dParams) {
    let x = random4([n, c, hw[0], hw[1]], 11);
    let w = random4([f, c / p.groups, k[0], k[1]], 12);
    let size = |a: usize| {
        let e = ct::kernel_extent(k[a], p.dilation[a]).unwrap();
        ct::output_size(hw[a], e, p.stride[a], p.padding[a]).unwrap()
    };
    let dy = random4([n, f, size(0), size(1)], 13);
    let g = ct::conv2d_backward(x.view(), w.view(), dy.view(), &p).unwrap();
    let eps = 1e-2_f32;
    let mut worst = 0.0_f64;
    for (idx, analytic) in g.dx.indexed_iter() {
        let (mut plus, mut minus) = (x.clone(), x.clone());
        plus[idx] += eps;
        minus[idx] -= eps;
        let numeric =
            (loss(&plus, &w, &dy, &p) - loss(&minus, &w, &dy, &p)) / (2.0 * f64::from(eps));
        worst = worst.max((numeric - f64::from(*analytic)).abs() / (1.0 + numeric.abs()));
    }
    for (idx, analytic) in g.dw.indexed_iter() {
        let (mut plus, mut minus) = (w.clone(), w.clone());
        plus[idx] += eps;
        minus[idx] -= eps;
        let numeric =
            (loss(&x, &plus, &dy, &p) - loss(&x, &minus, &dy, &p)) / (2.0 * f64::from(eps));
        worst = worst.max((numeric - f64::from(*analytic)).abs() / (1.0 + numeric.abs()));
    }
    assert!(
        worst < 2e-3,
        "worst relative error {worst:e} for n{n} c{c} f{f} {hw:?} k{k:?} {p:?}"
    );
}

fn params(s: [usize; 2], p: [usize; 2]) -> ct::Conv2dParams {
    ct::Conv2dParams::new().stride(s).padding(p)
}

#[test]
fn stride_one_same_padding() {
    check(2, 2, 3, [6, 6], [3, 3], params([1, 1], [1, 1]));
}

#[test]
fn stride_two_undivided_size() {
    check(2, 3, 2, [7, 6], [3, 2], params([2, 2], [1, 0]));
}

#[test]
fn stride_three_padding_larger_than_kernel_minus_one() {
    check(1, 2, 2, [8, 5], [2, 3], params([3, 1], [2, 2]));
}

#[test]
fn batch_larger_than_a_chunk() {
    check(10, 1, 2, [5, 5], [3, 3], params([2, 1], [0, 1]));
}

#[test]
fn dilation_two_and_three() {
    check(
        2,
        2,
        3,
        [9, 8],
        [3, 2],
        params([1, 2], [2, 1]).dilation([2, 3]),
    );
}

#[test]
fn two_groups() {
    check(2, 4, 6, [6, 7], [3, 3], params([1, 1], [1, 1]).groups(2));
}

#[test]
fn depthwise_with_a_channel_multiplier() {
    check(3, 3, 6, [7, 20], [3, 3], params([1, 1], [1, 1]).groups(3));
}

#[test]
fn a_wrong_gradient_is_caught() {
    // The same check on a gradient off by 1 % must fail: the test has teeth.
    let x = random4([1, 1, 4, 4], 1);
    let w = random4([1, 1, 2, 2], 2);
    let dy = random4([1, 1, 3, 3], 3);
    let p = ct::Conv2dParams::new();
    let g = ct::conv2d_backward(x.view(), w.view(), dy.view(), &p).unwrap();
    let idx = [0, 0, 1, 1];
    let eps = 1e-2_f32;
    let (mut plus, mut minus) = (x.clone(), x.clone());
    plus[idx] += eps;
    minus[idx] -= eps;
    let numeric = (loss(&plus, &w, &dy, &p) - loss(&minus, &w, &dy, &p)) / 0.02;
    let wrong = f64::from(g.dx[idx]) * 1.01;
    assert!((numeric - f64::from(g.dx[idx])).abs() / (1.0 + numeric.abs()) < 2e-3);
    assert!((numeric - wrong).abs() / (1.0 + numeric.abs()) > 2e-3 || numeric.abs() < 0.2);
}
