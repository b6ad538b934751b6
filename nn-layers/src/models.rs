//! Ready-made networks: the seed's two, as specs and built.

use core_tensor::random::SeededRng;

use crate::config::{BatchNormConfig, Conv2DConfig, LinearConfig, PoolConfig};
use crate::error::Result;
use crate::sequential::Sequential;
use crate::spec::{LayerSpec, NetworkSpec};

/// The seed's LeNet5 for 1 x 28 x 28 images and 10 classes:
/// Conv2D(1,6,5,pad 2)-Relu-AvgPooling(2)-Conv2D(6,16,5)-Relu-AvgPooling(2)-Conv2D(16,120,5)-Relu-
/// Flatten-Linear(120,84)-Relu-Linear(84,10).
///
/// PyTorch equivalent: the `nn.Sequential` of the same layers in the README's "Taking a model
/// to PyTorch" section (61 706 parameters).
pub fn lenet5_spec() -> NetworkSpec {
    use LayerSpec::*;
    NetworkSpec {
        input: vec![1, 28, 28],
        layers: vec![
            Conv2D(Conv2DConfig::new(1, 6, [5, 5]).with_padding([2, 2])),
            Relu,
            AvgPooling(PoolConfig::new([2, 2])),
            Conv2D(Conv2DConfig::new(6, 16, [5, 5])),
            Relu,
            AvgPooling(PoolConfig::new([2, 2])),
            Conv2D(Conv2DConfig::new(16, 120, [5, 5])),
            Relu,
            Flatten,
            Linear(LinearConfig::new(120, 84)),
            Relu,
            Linear(LinearConfig::new(84, 10)),
        ],
    }
}

/// [`lenet5_spec`] built, with PyTorch's default initialisation drawn from `rng`.
///
/// # Errors
/// Never for this fixed architecture; the `Result` carries the layer constructors' checks.
pub fn lenet5(rng: &mut SeededRng) -> Result<Sequential> {
    lenet5_spec().build(rng)
}

/// The seed report's first network (its figure 1) with a 10-class linear head:
/// Conv2D(1,4,3,pad 1)-MaxPooling(2)-BatchNormalization(4)-Relu-Conv2D(4,4,3,pad 1)-MaxPooling(2)-
/// Flatten-Linear(196,10).
pub fn seed_bn_net_spec() -> NetworkSpec {
    use LayerSpec::*;
    NetworkSpec {
        input: vec![1, 28, 28],
        layers: vec![
            Conv2D(Conv2DConfig::new(1, 4, [3, 3]).with_padding([1, 1])),
            MaxPooling(PoolConfig::new([2, 2])),
            BatchNormalization(BatchNormConfig::new(4)),
            Relu,
            Conv2D(Conv2DConfig::new(4, 4, [3, 3]).with_padding([1, 1])),
            MaxPooling(PoolConfig::new([2, 2])),
            Flatten,
            Linear(LinearConfig::new(196, 10)),
        ],
    }
}

/// [`seed_bn_net_spec`] built from `rng`.
///
/// # Errors
/// Never for this fixed architecture.
pub fn seed_bn_net(rng: &mut SeededRng) -> Result<Sequential> {
    seed_bn_net_spec().build(rng)
}
