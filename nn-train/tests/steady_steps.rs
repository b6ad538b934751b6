//! A warm training step of `Model::fit` allocates nothing: an epoch of twice the batches makes
//! no more allocations than a shorter one (counted over every thread by a counting global
//! allocator, `alloc-counter`; the tests of this binary take one lock).
//!
//! The network uses this project's own kernels only (a direct-kernel convolution, ReLU,
//! average pooling, flatten): a GEMM call (`gemm-f32`, `matrixmultiply`) allocates its packing
//! memory itself.

use alloc_counter::{allocations, serial};
use nn_data::Dataset;
use nn_layers::{Conv2DConfig, LayerSpec, NetworkSpec, PoolConfig};
use nn_train::{FitConfig, Model, OptimizerKind, OptimizerSpec, Progress};

#[global_allocator]
static ALLOCATOR: alloc_counter::Counting = alloc_counter::Counting;

fn images(n: usize) -> Dataset {
    let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
    let pixels = (0..n * 784).map(|p| ((p * 37) % 251) as u8).collect();
    Dataset::new(pixels, labels, 28, 28).unwrap()
}

/// Scores for 784 "classes" (the flattened feature maps): a loss needs only labels below them.
fn own_kernels_spec() -> NetworkSpec {
    NetworkSpec {
        input: vec![1, 28, 28],
        layers: vec![
            LayerSpec::Conv2D(Conv2DConfig::new(1, 4, [5, 5]).with_padding([2, 2])),
            LayerSpec::Relu,
            LayerSpec::AvgPooling(PoolConfig::new([2, 2])),
            LayerSpec::Flatten,
        ],
    }
}

/// The allocations of one more epoch of `model` on `data`.
fn epoch_allocations(model: &mut Model, data: &Dataset) -> usize {
    let config = FitConfig {
        epochs: model.epochs_done() + 1,
        batch_size: 8,
        shuffle_seed: 1,
        progress: Progress::Quiet,
    };
    let (result, count) = allocations(|| model.fit(data, None, &config, |_, _| Ok(())));
    result.unwrap();
    count
}

#[test]
fn a_warm_training_step_allocates_nothing() {
    let _lock = serial();
    for kind in [OptimizerKind::Sgd, OptimizerKind::Adam] {
        let optimizer = OptimizerSpec { kind, lr: 1e-3 };
        let mut model = Model::new(own_kernels_spec(), optimizer, 7).unwrap();
        let (short, long) = (images(80), images(160));
        for _ in 0..4 {
            epoch_allocations(&mut model, &long);
        }
        let ten_steps = epoch_allocations(&mut model, &short);
        let twenty_steps = epoch_allocations(&mut model, &long);
        // The epoch's own bookkeeping (its order, a record, the history's growth) may differ
        // by a reallocation; ten steps more must add nothing else.
        assert!(
            twenty_steps <= ten_steps + 2,
            "{kind:?}: {ten_steps} allocations for 10 steps, {twenty_steps} for 20"
        );
    }
}
