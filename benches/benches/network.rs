//! LeNet5 forward + loss + backward (no optimizer step) at batch 64 on 2 threads, against
//! `scripts/torch_lenet5_step.py` which times the same step in PyTorch.

use nn_layers::NamedState;
use std::hint::black_box;

use benches::{BATCH, pool, random4};
use core_tensor::random::seeded_rng;
use criterion::{Criterion, criterion_group, criterion_main};
use nn_layers::{CrossEntropyLoss, Layer, Mode, Workspace, models};

fn lenet5_step(c: &mut Criterion) {
    let x = random4([BATCH, 1, 28, 28], 5)
        .mapv(|v| (v + 1.0) * 0.5)
        .into_dyn();
    let labels: Vec<usize> = (0..BATCH).map(|i| i % 10).collect();
    let loss = CrossEntropyLoss::new();
    for threads in [2, 1] {
        let pool = pool(threads);
        let mut net = models::lenet5(&mut seeded_rng(42)).unwrap_or_else(|e| panic!("{e}"));
        let mut ws = Workspace::new();
        let mut group = c.benchmark_group(format!("lenet5/t{threads}"));
        group.bench_function("forward_backward", |b| {
            pool.install(|| {
                b.iter(|| {
                    let input = ws.copy_of(black_box(&x));
                    let logits = net
                        .forward_owned(input, Mode::Train, &mut ws)
                        .unwrap_or_else(|e| panic!("{e}"));
                    let out = loss
                        .forward(&logits, &labels)
                        .unwrap_or_else(|e| panic!("{e}"));
                    ws.recycle(logits);
                    net.zero_grad();
                    net.backward_params_only(out.grad, &mut ws)
                        .unwrap_or_else(|e| panic!("{e}"));
                    out.loss
                })
            })
        });
        group.bench_function("forward_eval", |b| {
            pool.install(|| {
                b.iter(|| {
                    net.forward(black_box(&x), Mode::Eval)
                        .unwrap_or_else(|e| panic!("{e}"))
                })
            })
        });
        group.finish();
    }
}

criterion_group!(benches, lenet5_step);
criterion_main!(benches);
