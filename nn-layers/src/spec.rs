//! Networks as data: a serialisable description from which a `Sequential` is built, so that a
//! model file can carry its architecture.

use core_tensor::init::SeededRng;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::layer::Layer;
use crate::layers::{
    BatchNormConfig, Conv2DConfig, Dropout, Flatten, LeakyRelu, LinearConfig, PoolConfig, Relu,
    Sigmoid, Softmax, Tanh,
};
use crate::sequential::Sequential;

/// One layer of a [`NetworkSpec`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum LayerSpec {
    /// [`crate::Conv2D`].
    Conv2D(Conv2DConfig),
    /// [`crate::Linear`].
    Linear(LinearConfig),
    /// [`crate::MaxPooling`].
    MaxPooling(PoolConfig),
    /// [`crate::AvgPooling`].
    AvgPooling(PoolConfig),
    /// [`crate::BatchNormalization`].
    BatchNormalization(BatchNormConfig),
    /// [`crate::Relu`].
    Relu,
    /// [`crate::LeakyRelu`] with its negative slope.
    LeakyRelu {
        /// The negative slope.
        slope: f32,
    },
    /// [`crate::Sigmoid`].
    Sigmoid,
    /// [`crate::Tanh`].
    Tanh,
    /// [`crate::Softmax`].
    Softmax,
    /// [`crate::Flatten`].
    Flatten,
    /// [`crate::Dropout`] with its probability and seed.
    Dropout {
        /// Drop probability.
        p: f32,
        /// Seed of its generator.
        seed: u64,
    },
}

impl LayerSpec {
    /// Builds the layer, drawing initial parameters from `rng`.
    ///
    /// # Errors
    /// An invalid configuration.
    pub fn build(&self, rng: &mut SeededRng) -> Result<Box<dyn Layer>> {
        Ok(match self {
            Self::Conv2D(c) => Box::new(c.init(rng)?),
            Self::Linear(c) => Box::new(c.init(rng)?),
            Self::MaxPooling(c) => Box::new(c.max()?),
            Self::AvgPooling(c) => Box::new(c.avg()?),
            Self::BatchNormalization(c) => Box::new(c.init()?),
            Self::Relu => Box::new(Relu::new()),
            Self::LeakyRelu { slope } => Box::new(LeakyRelu::new(*slope)?),
            Self::Sigmoid => Box::new(Sigmoid::new()),
            Self::Tanh => Box::new(Tanh::new()),
            Self::Softmax => Box::new(Softmax::new()),
            Self::Flatten => Box::new(Flatten::new()),
            Self::Dropout { p, seed } => Box::new(Dropout::new(*p, *seed)?),
        })
    }
}

/// A network as data: the input sample shape and the layers in order.
///
/// ```
/// use nn_layers::{Layer, NetworkSpec, LayerSpec, LinearConfig};
/// let spec = NetworkSpec { input: vec![4], layers: vec![LayerSpec::Linear(LinearConfig::new(4, 2)), LayerSpec::Relu] };
/// let net = spec.build(&mut core_tensor::init::seeded_rng(0)).unwrap();
/// assert_eq!(net.num_params(), 10);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkSpec {
    /// The shape of one input sample, e.g. `[1, 28, 28]`.
    pub input: Vec<usize>,
    /// The layers.
    pub layers: Vec<LayerSpec>,
}

impl NetworkSpec {
    /// Builds the network, checking every shape, with initial parameters drawn from `rng`.
    ///
    /// # Errors
    /// An invalid layer configuration or a shape mismatch, naming the layer.
    pub fn build(&self, rng: &mut SeededRng) -> Result<Sequential> {
        let mut net = Sequential::new(&self.input);
        for layer in &self.layers {
            net.push(layer.build(rng)?)?;
        }
        Ok(net)
    }
}
