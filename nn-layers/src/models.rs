//! Ready-made networks: the seed's two.

use core_tensor::init::SeededRng;

use crate::error::Result;
use crate::layers::{BatchNormConfig, Conv2DConfig, Flatten, LinearConfig, PoolConfig, Relu};
use crate::sequential::Sequential;

/// The seed's LeNet5 for 1 x 28 x 28 images and 10 classes:
/// Conv2D(1,6,5,pad 2)-Relu-AvgPooling(2)-Conv2D(6,16,5)-Relu-AvgPooling(2)-Conv2D(16,120,5)-Relu-
/// Flatten-Linear(120,84)-Relu-Linear(84,10), with PyTorch's default initialisation from `rng`.
///
/// PyTorch equivalent: the `LeNet5` of `../shared/peers/pytorch/lenet5.py` (61 706 parameters).
///
/// # Errors
/// Never for this fixed architecture; the `Result` carries the layer constructors' checks.
pub fn lenet5(rng: &mut SeededRng) -> Result<Sequential> {
    Sequential::new(&[1, 28, 28])
        .add(
            Conv2DConfig::new(1, 6, [5, 5])
                .with_padding([2, 2])
                .init(rng)?,
        )?
        .add(Relu::new())?
        .add(PoolConfig::new([2, 2]).avg()?)?
        .add(Conv2DConfig::new(6, 16, [5, 5]).init(rng)?)?
        .add(Relu::new())?
        .add(PoolConfig::new([2, 2]).avg()?)?
        .add(Conv2DConfig::new(16, 120, [5, 5]).init(rng)?)?
        .add(Relu::new())?
        .add(Flatten::new())?
        .add(LinearConfig::new(120, 84).init(rng)?)?
        .add(Relu::new())?
        .add(LinearConfig::new(84, 10).init(rng)?)
}

/// The seed report's first network (its figure 1) with a 10-class linear head:
/// Conv2D(1,4,3,pad 1)-MaxPooling(2)-BatchNormalization(4)-Relu-Conv2D(4,4,3,pad 1)-MaxPooling(2)-
/// Flatten-Linear(196,10).
///
/// # Errors
/// Never for this fixed architecture.
pub fn seed_bn_net(rng: &mut SeededRng) -> Result<Sequential> {
    Sequential::new(&[1, 28, 28])
        .add(
            Conv2DConfig::new(1, 4, [3, 3])
                .with_padding([1, 1])
                .init(rng)?,
        )?
        .add(PoolConfig::new([2, 2]).max()?)?
        .add(BatchNormConfig::new(4).init()?)?
        .add(Relu::new())?
        .add(
            Conv2DConfig::new(4, 4, [3, 3])
                .with_padding([1, 1])
                .init(rng)?,
        )?
        .add(PoolConfig::new([2, 2]).max()?)?
        .add(Flatten::new())?
        .add(LinearConfig::new(196, 10).init(rng)?)
}
