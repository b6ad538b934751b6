//! # benches: criterion benchmarks of the kernels
//!
//! `cargo bench -p benches` runs them (see `BENCHMARKS.md` for the figures and how they compare
//! with PyTorch). This library holds what the benchmark files share: the convolution shapes and
//! their inputs.
//!
//! - `benches/conv.rs`: eleven common convolution shapes ([`CONV_SHAPES`], the names and shapes
//!   of PyTorch's `conv_shapes.py`) at batch 64 on 1 and 2 threads: the forward pass, and the
//!   forward pass with all three gradients; each input-gradient kernel of LeNet5's second layer;
//!   the naive reference at one shape as a baseline.
//! - `benches/pool.rs`: max and average pooling, forward and backward, at 6x28x28 and 16x10x10.
//! - `benches/network.rs`: the whole LeNet5 at batch 64: forward, loss and backward (a training
//!   step without the update), and an eval-mode forward.
//!
//! Dependencies: `ndarray` (the inputs), `rayon` (a pool with an explicit thread count), and as
//! dev-dependencies `core-tensor` and `nn-layers` (what is measured) and `criterion` (the
//! measuring).

use core_tensor::Conv2dParams;
use ndarray::{Array1, Array4};

/// A convolution layer's shape, as PyTorch's `conv_shapes.py` lists them.
#[derive(Debug, Clone, Copy)]
pub struct ConvCase {
    /// The name both benchmarks use (`lenet_c1`, `vgg_mid` ...).
    pub name: &'static str,
    /// In channels C.
    pub in_channels: usize,
    /// Out channels F.
    pub out_channels: usize,
    /// Square kernel size K.
    pub kernel: usize,
    /// Stride on both axes.
    pub stride: usize,
    /// Padding on each side.
    pub padding: usize,
    /// Dilation on both axes.
    pub dilation: usize,
    /// Groups.
    pub groups: usize,
    /// Square input size H = W.
    pub size: usize,
}

const fn shape(
    name: &'static str,
    [
        in_channels,
        out_channels,
        kernel,
        stride,
        padding,
        dilation,
        groups,
        size,
    ]: [usize; 8],
) -> ConvCase {
    ConvCase {
        name,
        in_channels,
        out_channels,
        kernel,
        stride,
        padding,
        dilation,
        groups,
        size,
    }
}

/// Eleven common convolution shapes (C, F, K, stride, padding, dilation, groups, H): LeNet5's
/// three layers, two MNIST-style 5x5 layers, VGG- and ResNet-style 3x3 layers, a strided one, a
/// 1x1, a depthwise and a dilated layer; the same names and shapes as `conv_shapes.py`.
pub const CONV_SHAPES: [ConvCase; 11] = [
    shape("lenet_c1", [1, 6, 5, 1, 2, 1, 1, 28]),
    shape("lenet_c2", [6, 16, 5, 1, 0, 1, 1, 14]),
    shape("lenet_c3", [16, 120, 5, 1, 0, 1, 1, 5]),
    shape("mnist_a", [1, 32, 5, 1, 2, 1, 1, 28]),
    shape("mnist_b", [32, 64, 5, 1, 2, 1, 1, 14]),
    shape("vgg_in", [3, 64, 3, 1, 1, 1, 1, 32]),
    shape("vgg_mid", [64, 128, 3, 1, 1, 1, 1, 16]),
    shape("res_down", [128, 256, 3, 2, 1, 1, 1, 8]),
    shape("pointwise", [256, 64, 1, 1, 0, 1, 1, 8]),
    shape("depthwise", [32, 32, 3, 1, 1, 1, 32, 16]),
    shape("dilated", [16, 16, 3, 1, 2, 2, 1, 16]),
];

/// The batch size of every benchmark.
pub const BATCH: usize = 64;

/// The inputs of one conv benchmark.
#[derive(Debug, Clone)]
pub struct ConvInputs {
    /// Input (N, C, H, W).
    pub x: Array4<f32>,
    /// Weight (F, C/G, K, K).
    pub w: Array4<f32>,
    /// Bias (F).
    pub b: Array1<f32>,
    /// Upstream gradient (N, F, OH, OW).
    pub dy: Array4<f32>,
}

impl ConvCase {
    /// The convolution's arguments.
    pub fn params(&self) -> Conv2dParams {
        Conv2dParams::new()
            .stride([self.stride; 2])
            .padding([self.padding; 2])
            .dilation([self.dilation; 2])
            .groups(self.groups)
    }

    /// The output size OH = OW.
    pub fn out_size(&self) -> usize {
        let extent = self.dilation * (self.kernel - 1) + 1;
        (self.size + 2 * self.padding - extent) / self.stride + 1
    }

    /// Random inputs for a batch of `batch`, from a fixed seed.
    pub fn inputs(&self, batch: usize) -> ConvInputs {
        let (c, f, k, s) = (self.in_channels, self.out_channels, self.kernel, self.size);
        let cg = c / self.groups;
        let o = self.out_size();
        ConvInputs {
            x: random4([batch, c, s, s], 1),
            w: random4([f, cg, k, k], 2).mapv(|v| v / ((cg * k * k) as f32).sqrt()),
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
