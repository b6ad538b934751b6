//! A warm training step and eval batch of a network allocate nothing: layers keep their
//! buffers and take the tensors they pass on from a `Workspace` (counted by a counting global
//! allocator, `alloc-counter`, over every thread of the step).

use alloc_counter::{allocations, serial};
use core_tensor::random::seeded_rng;
use nn_layers::{
    Conv2DConfig, Flatten, Layer, Mode, NamedState, PoolConfig, Relu, Sequential, Standardize,
    Tensor, Workspace, models,
};

#[global_allocator]
static ALLOCATOR: alloc_counter::Counting = alloc_counter::Counting;

/// One training step without the loss and the optimizer: forward, a gradient for the logits,
/// zeroed gradients, backward, as `nn_train::Model::fit` runs them.
fn train_step(net: &mut Sequential, x: &Tensor, ws: &mut Workspace) {
    let input = ws.copy_of(x);
    let logits = net.forward_owned(input, Mode::Train, ws).unwrap();
    let mut grad = ws.copy_of(&logits);
    grad.mapv_inplace(|v| v * 1e-3);
    ws.recycle(logits);
    net.zero_grad();
    net.backward_params_only(grad, ws).unwrap();
}

fn eval_batch(net: &mut Sequential, x: &Tensor, ws: &mut Workspace) -> f32 {
    let input = ws.copy_of(x);
    let logits = net.forward_owned(input, Mode::Eval, ws).unwrap();
    let first = logits[[0, 0]];
    ws.recycle(logits);
    first
}

fn images(n: usize) -> Tensor {
    Tensor::from_shape_fn(ndarray::IxDyn(&[n, 1, 28, 28]), |d| {
        ((d[0] * 7 + d[2] * 3 + d[3]) % 13) as f32 / 13.0
    })
}

/// Conv2D (direct kernels: 4 filters over one channel), ReLU, average pooling and Standardize:
/// layers whose kernels are all this project's own. (A GEMM call, `gemm-f32` or `matrixmultiply`, allocates
/// its packing memory itself, so networks with GEMM layers still allocate inside those calls.)
fn direct_net() -> Sequential {
    let rng = &mut seeded_rng(3);
    Sequential::new(&[1, 28, 28])
        .add(
            Conv2DConfig::new(1, 4, [5, 5])
                .with_padding([2, 2])
                .init(rng)
                .unwrap(),
        )
        .unwrap()
        .add(Relu::new())
        .unwrap()
        .add(PoolConfig::new([2, 2]).avg().unwrap())
        .unwrap()
        .add(Flatten::new())
        .unwrap()
        .add(Standardize::new(0.1307, 0.3081).unwrap())
        .unwrap()
}

#[test]
fn a_warm_step_and_eval_batch_allocate_nothing() {
    let _lock = serial();
    let mut net = direct_net();
    let mut ws = Workspace::new();
    let x = images(64);
    // Every worker thread meets every kernel (and sizes its scratch memory) while warming up.
    for _ in 0..10 {
        train_step(&mut net, &x, &mut ws);
        eval_batch(&mut net, &x, &mut ws);
    }
    // Our code allocates the same in every warm step; rayon's work queues, though, grow and
    // shrink now and then when the machine is busy (seen once in a loaded test run). So the
    // least over several steps must be zero, and the total stay near it.
    let counts: Vec<(usize, usize)> = (0..8)
        .map(|_| {
            let (_, step) = allocations(|| train_step(&mut net, &x, &mut ws));
            let (_, eval) = allocations(|| eval_batch(&mut net, &x, &mut ws));
            (step, eval)
        })
        .collect();
    let least = |f: fn(&(usize, usize)) -> usize| counts.iter().map(f).min();
    assert_eq!(
        (least(|c| c.0), least(|c| c.1)),
        (Some(0), Some(0)),
        "allocations in warm steps / eval batches: {counts:?}"
    );
    let total: usize = counts.iter().map(|c| c.0 + c.1).sum();
    assert!(
        total <= counts.len(),
        "allocations in warm steps / eval batches: {counts:?}"
    );
}

#[test]
fn a_step_through_the_workspace_gives_the_bits_of_a_step_by_reference() {
    let _lock = serial();
    let x = images(20);
    let mut by_ws = models::lenet5(&mut seeded_rng(5)).unwrap();
    let mut by_ref = models::lenet5(&mut seeded_rng(5)).unwrap();
    let mut ws = Workspace::new();
    for _ in 0..2 {
        train_step(&mut by_ws, &x, &mut ws);
        let logits = by_ref.forward(&x, Mode::Train).unwrap();
        by_ref.zero_grad();
        by_ref.backward(&logits.mapv(|v| v * 1e-3)).unwrap();
    }
    for ((name, a), (_, b)) in by_ws.params().iter().zip(by_ref.params()) {
        let same = a
            .grad
            .iter()
            .zip(b.grad.iter())
            .all(|(p, q)| p.to_bits() == q.to_bits());
        assert!(same, "{name}");
    }
}
