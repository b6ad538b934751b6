//! Networks as data: a serialisable description from which a `Sequential` is built, so that a
//! model file can carry its architecture.

use core_tensor::init::SeededRng;
use serde::{Deserialize, Serialize};

use crate::error::{LayerError, Result};
use crate::layer::{Layer, check_sizes};
use crate::layers::{
    BatchNormConfig, Conv2DConfig, Dropout, Flatten, LeakyRelu, LinearConfig, PoolConfig, Relu,
    Sigmoid, Softmax, Tanh,
};
use crate::sequential::Sequential;

/// One layer of a [`NetworkSpec`].
///
/// Stored through a form that keeps files of earlier versions loading (`spec_wire.rs`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    from = "crate::spec_wire::StoredLayerSpec",
    into = "crate::spec_wire::StoredLayerSpec"
)]
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
    /// The shapes of the layer's parameters and of its buffers, in the order the built layer
    /// lists them, computed without building it (nothing is allocated from a size).
    ///
    /// # Errors
    /// An invalid configuration, or sizes out of `core_tensor::limits`.
    ///
    /// ```
    /// use nn_layers::{Conv2DConfig, LayerSpec};
    /// let conv = LayerSpec::Conv2D(Conv2DConfig::new(1, 6, [5, 5]));
    /// assert_eq!(conv.state_shapes().unwrap().params, vec![vec![6, 1, 5, 5], vec![6]]);
    /// assert!(LayerSpec::Conv2D(Conv2DConfig::new(1, 1 << 62, [5, 5])).state_shapes().is_err());
    /// ```
    pub fn state_shapes(&self) -> Result<StateShapes> {
        let params = |params| StateShapes {
            params,
            buffers: Vec::new(),
        };
        Ok(match self {
            Self::Conv2D(c) => params(c.param_shapes()?),
            Self::Linear(c) => params(c.param_shapes()?),
            Self::BatchNormalization(c) => c.state_shapes()?,
            // Building the rest allocates nothing, and checks their configuration.
            Self::MaxPooling(_)
            | Self::AvgPooling(_)
            | Self::Relu
            | Self::LeakyRelu { .. }
            | Self::Sigmoid
            | Self::Tanh
            | Self::Softmax
            | Self::Flatten
            | Self::Dropout { .. } => {
                self.build(&mut core_tensor::init::seeded_rng(0))?;
                StateShapes::default()
            }
        })
    }

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

/// The shapes of a layer's or a network's state, from its spec.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateShapes {
    /// The parameters' shapes, in [`Layer::params`] order.
    pub params: Vec<Vec<usize>>,
    /// The buffers' shapes, in [`Layer::buffers`] order.
    pub buffers: Vec<Vec<usize>>,
}

impl StateShapes {
    /// Every shape: the parameters', then the buffers' (the order of a model file).
    pub fn all(&self) -> impl Iterator<Item = &[usize]> {
        self.params.iter().chain(&self.buffers).map(Vec::as_slice)
    }

    /// The number of values of all of them, or `None` when it overflows `usize`.
    pub fn elements(&self) -> Option<usize> {
        self.all().try_fold(0_usize, |total, shape| {
            total.checked_add(core_tensor::limits::element_count(shape)?)
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
    #[serde(
        deserialize_with = "crate::bounded_serde::vec_at_most::<{ crate::bounded_serde::MAX_RANK }, _, _>"
    )]
    pub input: Vec<usize>,
    /// The layers (at most [`crate::bounded_serde::MAX_LAYERS`] when read from a file).
    #[serde(
        deserialize_with = "crate::bounded_serde::vec_at_most::<{ crate::bounded_serde::MAX_LAYERS }, _, _>"
    )]
    pub layers: Vec<LayerSpec>,
}

impl NetworkSpec {
    /// The shapes of the built network's parameters and buffers, in the order
    /// [`Layer::params`] and [`Layer::buffers`] list them, computed from the spec alone with
    /// checked arithmetic: a spec read from a file can be compared with the tensors the file
    /// holds before anything is allocated.
    ///
    /// # Errors
    /// An input dimension outside `1..=MAX_DIMENSION`, or an invalid layer (named by position).
    ///
    /// ```
    /// let shapes = nn_layers::models::lenet5_spec().state_shapes().unwrap();
    /// assert_eq!(shapes.params[0], vec![6, 1, 5, 5]);
    /// assert_eq!(shapes.elements(), Some(61706));
    /// ```
    pub fn state_shapes(&self) -> Result<StateShapes> {
        self.check_input()?;
        let mut all = StateShapes::default();
        for (index, layer) in self.layers.iter().enumerate() {
            let shapes = layer.state_shapes().map_err(|e| LayerError::InLayer {
                index,
                layer: format!("{layer:?}"),
                source: Box::new(e),
            })?;
            all.params.extend(shapes.params);
            all.buffers.extend(shapes.buffers);
        }
        Ok(all)
    }

    /// Builds the network, checking every shape, with initial parameters drawn from `rng`.
    ///
    /// # Errors
    /// An invalid layer configuration or a shape mismatch, naming the layer.
    pub fn build(&self, rng: &mut SeededRng) -> Result<Sequential> {
        self.check_input()?;
        let mut net = Sequential::new(&self.input);
        for layer in &self.layers {
            net.push(layer.build(rng)?)?;
        }
        Ok(net)
    }

    /// Every input dimension in `1..=MAX_DIMENSION`.
    fn check_input(&self) -> Result<()> {
        let names: Vec<String> = (0..self.input.len())
            .map(|i| format!("input dimension {i}"))
            .collect();
        let sizes: Vec<(&str, usize, usize)> = names
            .iter()
            .zip(&self.input)
            .map(|(w, &d)| (w.as_str(), d, 1))
            .collect();
        check_sizes("network input", &sizes)
    }
}
