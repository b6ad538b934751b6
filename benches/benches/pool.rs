//! Max and average pooling (kernel 2, stride 2) at the LeNet5 shapes, batch 64, 2 threads.

use std::hint::black_box;

use benches::{BATCH, pool, random4};
use core_tensor::{avg_pool2d, avg_pool2d_backward, max_pool2d, max_pool2d_backward};
use criterion::{Criterion, criterion_group, criterion_main};

fn pooling(c: &mut Criterion) {
    let pool = pool(2);
    for (name, ch, size) in [("6x28x28", 6, 28), ("16x10x10", 16, 10)] {
        let x = random4([BATCH, ch, size, size], 1);
        let dy = random4([BATCH, ch, size / 2, size / 2], 2);
        let (k, s) = ([2, 2], [2, 2]);
        let mut group = c.benchmark_group(format!("pool_{name}/t2"));
        group.bench_function("max_forward", |b| {
            pool.install(|| b.iter(|| max_pool2d(black_box(x.view()), k, s)))
        });
        let (_, mask) = max_pool2d(x.view(), k, s).unwrap_or_else(|e| panic!("{e}"));
        group.bench_function("max_backward", |b| {
            pool.install(|| b.iter(|| max_pool2d_backward(black_box(dy.view()), &mask)))
        });
        group.bench_function("avg_forward", |b| {
            pool.install(|| b.iter(|| avg_pool2d(black_box(x.view()), k, s)))
        });
        group.bench_function("avg_backward", |b| {
            pool.install(|| {
                b.iter(|| avg_pool2d_backward(black_box(dy.view()), [size, size], k, s))
            })
        });
        group.finish();
    }
}

criterion_group!(benches, pooling);
criterion_main!(benches);
