//! Max and average pooling (kernel 2, stride 2) at the LeNet5 shapes, batch 64, 2 threads.

use std::hint::black_box;

use benches::{BATCH, pool};
use core_tensor::{avg_pool2d, avg_pool2d_backward, init, max_pool2d, max_pool2d_backward};
use criterion::{Criterion, criterion_group, criterion_main};
use ndarray::{Array4, Ix4};

fn random(shape: [usize; 4], seed: u64) -> Array4<f32> {
    init::xavier_uniform(&shape, 1.0, &mut init::seeded_rng(seed))
        .and_then(|a| Ok(a.into_dimensionality::<Ix4>().map_err(|e| core_tensor::TensorError::InvalidArgument { op: "bench", message: e.to_string() })?))
        .unwrap_or_else(|e| panic!("bench input: {e}"))
}

fn pooling(c: &mut Criterion) {
    let pool = pool(2);
    for (name, ch, size) in [("6x28x28", 6, 28), ("16x10x10", 16, 10)] {
        let x = random([BATCH, ch, size, size], 1);
        let dy = random([BATCH, ch, size / 2, size / 2], 2);
        let (k, s) = ([2, 2], [2, 2]);
        let mut group = c.benchmark_group(format!("pool_{name}/t2"));
        group.bench_function("max_forward", |b| pool.install(|| b.iter(|| max_pool2d(black_box(x.view()), k, s))));
        let (_, mask) = max_pool2d(x.view(), k, s).unwrap_or_else(|e| panic!("{e}"));
        group.bench_function("max_backward", |b| {
            pool.install(|| b.iter(|| max_pool2d_backward(black_box(dy.view()), &mask)))
        });
        group.bench_function("avg_forward", |b| pool.install(|| b.iter(|| avg_pool2d(black_box(x.view()), k, s))));
        group.bench_function("avg_backward", |b| {
            pool.install(|| b.iter(|| avg_pool2d_backward(black_box(dy.view()), [size, size], k, s)))
        });
        group.finish();
    }
}

criterion_group!(benches, pooling);
criterion_main!(benches);
