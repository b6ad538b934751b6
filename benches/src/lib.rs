//! # benches: criterion benchmarks of the kernels
//!
//! `cargo bench -p benches` runs them (see `BENCHMARKS.md` for the figures and how they compare
//! with PyTorch). This library holds what the benchmark files share: the LeNet5 layer shapes and
//! their inputs.
//!
//! - `benches/conv.rs`: each LeNet5 conv layer at batch 64 on 2 threads: forward, input gradient,
//!   weight and bias gradients, and all of it together (as PyTorch's `conv_micro.py` measures it),
//!   plus the naive reference at one shape as a baseline.
//! - `benches/pool.rs`: max and average pooling, forward and backward, at 6x28x28 and 16x10x10.
//! - `benches/network.rs`: the whole LeNet5 at batch 64: forward, loss and backward (a training
//!   step without the update), and an eval-mode forward.
//!
//! Dependencies: `ndarray` (the inputs), `rayon` (a pool with an explicit thread count), and as
//! dev-dependencies `core-tensor` and `nn-layers` (what is measured), `nn-train` (the allocator
//! setting the trainer uses) and `criterion` (the
//! measuring).

use ndarray::{Array1, Array4};

/// A convolution layer's shape at a given batch size.
#[derive(Debug, Clone, Copy)]
pub struct ConvCase {
    /// A short name (`conv1` ...).
    pub name: &'static str,
    /// In channels C.
    pub in_channels: usize,
    /// Out channels F.
    pub out_channels: usize,
    /// Square kernel size K.
    pub kernel: usize,
    /// Padding on each side.
    pub padding: usize,
    /// Square input size H = W.
    pub size: usize,
}

/// The three conv layers of LeNet5, as PyTorch's `conv_micro.py` runs them.
pub const LENET5_CONVS: [ConvCase; 3] = [
    ConvCase {
        name: "conv1",
        in_channels: 1,
        out_channels: 6,
        kernel: 5,
        padding: 2,
        size: 28,
    },
    ConvCase {
        name: "conv2",
        in_channels: 6,
        out_channels: 16,
        kernel: 5,
        padding: 0,
        size: 14,
    },
    ConvCase {
        name: "conv3",
        in_channels: 16,
        out_channels: 120,
        kernel: 5,
        padding: 0,
        size: 5,
    },
];

/// The batch size of every benchmark.
pub const BATCH: usize = 64;

/// The inputs of one conv benchmark.
#[derive(Debug, Clone)]
pub struct ConvInputs {
    /// Input (N, C, H, W).
    pub x: Array4<f32>,
    /// Weight (F, C, K, K).
    pub w: Array4<f32>,
    /// Bias (F).
    pub b: Array1<f32>,
    /// Upstream gradient (N, F, OH, OW).
    pub dy: Array4<f32>,
}

impl ConvCase {
    /// The output size OH = OW.
    pub fn out_size(&self) -> usize {
        self.size + 2 * self.padding - self.kernel + 1
    }

    /// Random inputs for a batch of `batch`, from a fixed seed.
    pub fn inputs(&self, batch: usize) -> ConvInputs {
        let (c, f, k, s) = (self.in_channels, self.out_channels, self.kernel, self.size);
        let o = self.out_size();
        ConvInputs {
            x: random4([batch, c, s, s], 1),
            w: random4([f, c, k, k], 2).mapv(|v| v / ((c * k * k) as f32).sqrt()),
            b: random4([1, 1, 1, f], 3)
                .into_shape_with_order(f)
                .unwrap_or_else(|_| Array1::zeros(f)),
            dy: random4([batch, f, o, o], 4),
        }
    }
}

/// An array of values uniform in [-1, 1) drawn from `seed` (a small xorshift: the benchmarks need
/// no statistical quality, only fixed values).
pub fn random4(shape: [usize; 4], seed: u64) -> Array4<f32> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    Array4::from_shape_simple_fn(shape, || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    })
}

/// A rayon pool with exactly `threads` threads.
///
/// # Panics
/// If the operating system refuses to start the threads.
#[allow(clippy::expect_used)]
pub fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("cannot start the benchmark's thread pool")
}
