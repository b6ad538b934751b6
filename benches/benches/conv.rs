//! Conv kernels at the LeNet5 shapes, batch 64, 2 threads (and 1 for scale), against PyTorch's
//! `conv_micro.py` figures of the same layers.

use std::hint::black_box;

use benches::{BATCH, LENET5_CONVS, pool};
use core_tensor::{
    InputGradMethod, conv2d, conv2d_input_grad, conv2d_input_grad_with, conv2d_param_grads,
    reference,
};
use criterion::{Criterion, criterion_group, criterion_main};

fn conv_layers(c: &mut Criterion) {
    for threads in [2, 1] {
        let pool = pool(threads);
        for case in LENET5_CONVS {
            let inp = case.inputs(BATCH);
            let (k, p, s) = ([case.kernel; 2], [case.padding; 2], [1, 1]);
            let hw = [case.size; 2];
            let mut group = c.benchmark_group(format!("{}/t{threads}", case.name));
            group.bench_function("forward", |b| {
                pool.install(|| {
                    b.iter(|| {
                        conv2d(
                            black_box(inp.x.view()),
                            inp.w.view(),
                            Some(inp.b.view()),
                            s,
                            p,
                        )
                    })
                })
            });
            group.bench_function("input_grad", |b| {
                pool.install(|| {
                    b.iter(|| conv2d_input_grad(black_box(inp.dy.view()), inp.w.view(), hw, s, p))
                })
            });
            group.bench_function("input_grad_dilated_conv", |b| {
                pool.install(|| {
                    b.iter(|| {
                        conv2d_input_grad_with(
                            InputGradMethod::DilatedConv,
                            black_box(inp.dy.view()),
                            inp.w.view(),
                            hw,
                            s,
                            p,
                        )
                    })
                })
            });
            group.bench_function("weight_bias_grad", |b| {
                pool.install(|| {
                    b.iter(|| conv2d_param_grads(black_box(inp.x.view()), inp.dy.view(), k, s, p))
                })
            });
            group.bench_function("fwd_bwd", |b| {
                pool.install(|| {
                    b.iter(|| {
                        let y = conv2d(
                            black_box(inp.x.view()),
                            inp.w.view(),
                            Some(inp.b.view()),
                            s,
                            p,
                        );
                        let dx = conv2d_input_grad(inp.dy.view(), inp.w.view(), hw, s, p);
                        let dwb = conv2d_param_grads(inp.x.view(), inp.dy.view(), k, s, p);
                        (y, dx, dwb)
                    })
                })
            });
            group.finish();
        }
    }
}

fn naive_baseline(c: &mut Criterion) {
    let case = LENET5_CONVS[1];
    let inp = case.inputs(BATCH);
    let mut group = c.benchmark_group("conv2/naive_reference");
    group.sample_size(10);
    group.bench_function("forward", |b| {
        b.iter(|| {
            reference::conv2d(
                black_box(inp.x.view()),
                inp.w.view(),
                Some(inp.b.view()),
                [1, 1],
                [0, 0],
            )
        })
    });
    group.finish();
}

criterion_group!(benches, conv_layers, naive_baseline);
criterion_main!(benches);
