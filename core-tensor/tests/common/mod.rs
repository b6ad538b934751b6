//! Helpers shared by the integration tests (included with `mod common;`).
#![allow(dead_code, missing_docs)]

use core_tensor::{init, random};
use ndarray::{Array, Array4, ArrayD, Dimension, Ix4};

/// A (shape) array of values in [-1, 1) from `seed`.
pub fn random4(shape: [usize; 4], seed: u64) -> Array4<f32> {
    let rng = &mut random::seeded_rng(seed);
    let flat = [shape.iter().product::<usize>().max(1), 1];
    // xavier_uniform with gain g over a (n, 1) shape has bound g * sqrt(6 / (n + 1)); scale to 1.
    let a = init::xavier_uniform(&flat, 1.0, rng).unwrap();
    let bound = (6.0 / (flat[0] as f32 + 1.0)).sqrt();
    let data: Vec<f32> = a
        .iter()
        .map(|v| v / bound)
        .take(shape.iter().product())
        .collect();
    Array4::from_shape_vec(shape, data).unwrap()
}

/// Small integers 0..levels as f32: plenty of ties for max pooling.
pub fn quantized4(shape: [usize; 4], seed: u64, levels: u32) -> Array4<f32> {
    random4(shape, seed).mapv(|v| {
        ((v + 1.0) * 0.5 * levels as f32)
            .floor()
            .min(levels as f32 - 1.0)
    })
}

/// max |a - b| <= tol * max(1, max |b|), with a message naming `what`.
pub fn assert_close<D: Dimension>(what: &str, a: &Array<f32, D>, b: &Array<f32, D>, tol: f32) {
    assert_eq!(a.shape(), b.shape(), "{what}: shapes differ");
    let scale = b.iter().fold(1.0_f32, |m, v| m.max(v.abs()));
    let worst = a
        .iter()
        .zip(b.iter())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0_f32, f32::max);
    assert!(
        worst <= tol * scale && a.iter().all(|v| v.is_finite()),
        "{what}: max difference {worst:e} exceeds {tol:e} * {scale}"
    );
}

pub fn dyn4(a: &Array4<f32>) -> ArrayD<f32> {
    a.clone().into_dyn()
}

pub fn four(a: ArrayD<f32>) -> Array4<f32> {
    a.into_dimensionality::<Ix4>().unwrap()
}
