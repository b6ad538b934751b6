//! Convolutions at eleven common shapes (`benches::CONV_SHAPES`, those of PyTorch's
//! `conv_shapes.py`), batch 64, on 2 and 1 threads, as `conv_shapes.py` times them:
//! - `{shape}/t{threads}/forward`: the inference forward pass, with bias;
//! - `{shape}/t{threads}/fwd_bwd`: a training forward, then dL/dx, dL/dw and dL/db.
//!
//! Each runs through a plan built once, as a layer runs it. `scripts/conv_vs_pytorch.sh` runs
//! this and `conv_shapes.py` back to back and prints the ratios.

use std::hint::black_box;

use benches::{BATCH, CONV_SHAPES, ConvInputs, pool};
use core_tensor::{
    Conv2dPlan, ForwardKernel, InputGradKernel, Kernels, WeightGradKernel, reference,
};
use criterion::{Criterion, criterion_group, criterion_main};

fn conv_shapes(c: &mut Criterion) {
    for threads in [2, 1] {
        let pool = pool(threads);
        for case in CONV_SHAPES {
            let inp = case.inputs(BATCH);
            let Ok(mut plan) = Conv2dPlan::new(inp.x.shape(), inp.w.shape(), case.params()) else {
                continue;
            };
            let mut group = c.benchmark_group(format!("{}/t{threads}", case.name));
            group.bench_function("forward", |b| {
                pool.install(|| {
                    b.iter(|| {
                        plan.forward(black_box(inp.x.view()), inp.w.view(), Some(inp.b.view()))
                    })
                })
            });
            group.bench_function("fwd_bwd", |b| {
                pool.install(|| {
                    b.iter(|| {
                        let y = plan.forward_train(
                            black_box(inp.x.view()),
                            inp.w.view(),
                            Some(inp.b.view()),
                        );
                        (y, plan.backward(inp.dy.view(), inp.w.view()))
                    })
                })
            });
            group.finish();
        }
    }
}

/// The input gradient of a 6 -> 16, 5x5 layer by each kernel: col2im (the plan's choice) and the
/// seed's stride-dilated convolution.
fn input_grad_kernels(c: &mut Criterion) {
    let case = CONV_SHAPES[1];
    let inp = case.inputs(BATCH);
    let pool = pool(2);
    let mut group = c.benchmark_group(format!("{}/t2/input_grad", case.name));
    for kernel in [InputGradKernel::Col2Im, InputGradKernel::DilatedConv] {
        let Ok(plan) = Conv2dPlan::new(inp.x.shape(), inp.w.shape(), case.params()) else {
            return;
        };
        let kernels = Kernels {
            input_grad: kernel,
            ..plan.kernels()
        };
        let Ok(mut plan) = plan.with_kernels(kernels) else {
            return;
        };
        group.bench_function(format!("{kernel:?}"), |b| {
            pool.install(|| b.iter(|| plan.input_grad(black_box(inp.dy.view()), inp.w.view())))
        });
    }
    group.finish();
}

/// On every shape, `run` timed with each kernel of `choices` that can compute it (`pick` puts
/// it into the plan's kernels), on 2 threads, in groups named `{shape}/t2/{label}`.
fn per_kernel<K: Copy + std::fmt::Debug>(
    c: &mut Criterion,
    label: &str,
    choices: [K; 4],
    pick: impl Fn(Kernels, K) -> Kernels,
    run: impl Fn(&mut Conv2dPlan, &ConvInputs) + Sync,
) {
    let pool = pool(2);
    for case in CONV_SHAPES {
        let inp = case.inputs(BATCH);
        let Ok(planned) = Conv2dPlan::new(inp.x.shape(), inp.w.shape(), case.params()) else {
            continue;
        };
        let mut group = c.benchmark_group(format!("{}/t2/{label}", case.name));
        for kernel in choices {
            let kernels = pick(planned.kernels(), kernel);
            let Ok(mut plan) = planned.clone().with_kernels(kernels) else {
                continue;
            };
            group.bench_function(format!("{kernel:?}"), |b| {
                pool.install(|| b.iter(|| run(&mut plan, &inp)))
            });
        }
        group.finish();
    }
}

/// The inference forward pass of every shape by each forward kernel that can compute it, on 2
/// threads: what the thresholds in `core-tensor`'s `conv/choice.rs` are set by.
fn forward_kernels(c: &mut Criterion) {
    per_kernel(
        c,
        "forward_kernel",
        [
            ForwardKernel::Gemm,
            ForwardKernel::Direct,
            ForwardKernel::FilterLanes,
            ForwardKernel::Winograd,
        ],
        |k, forward| Kernels { forward, ..k },
        |plan, inp| {
            black_box(plan.forward(black_box(inp.x.view()), inp.w.view(), Some(inp.b.view()))).ok();
        },
    );
}

/// A training forward pass then dL/dw and dL/db of every shape by each weight-gradient kernel
/// that can compute it, on 2 threads (what a training forward keeps for the weight gradient
/// depends on that kernel, so both are timed together).
fn weight_grad_kernels(c: &mut Criterion) {
    per_kernel(
        c,
        "weight_grad_kernel",
        [
            WeightGradKernel::Gemm,
            WeightGradKernel::Direct,
            WeightGradKernel::FilterLanes,
            WeightGradKernel::Winograd,
        ],
        |k, weight_grad| Kernels { weight_grad, ..k },
        |plan, inp| {
            let y = plan.forward_train(black_box(inp.x.view()), inp.w.view(), Some(inp.b.view()));
            black_box((y, plan.param_grads(inp.dy.view()))).1.ok();
        },
    );
}

fn naive_baseline(c: &mut Criterion) {
    let case = CONV_SHAPES[1];
    let inp = case.inputs(BATCH);
    let mut group = c.benchmark_group(format!("{}/naive_reference", case.name));
    group.sample_size(10);
    group.bench_function("forward", |b| {
        b.iter(|| {
            reference::conv2d(
                black_box(inp.x.view()),
                inp.w.view(),
                Some(inp.b.view()),
                &case.params(),
            )
        })
    });
    group.finish();
}

criterion_group!(
    benches,
    conv_shapes,
    input_grad_kernels,
    forward_kernels,
    weight_grad_kernels,
    naive_baseline
);
criterion_main!(benches);
