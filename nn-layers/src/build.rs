//! From data to layers: building a [`LayerSpec`] or a [`NetworkSpec`], and the shapes of the
//! state it will have, computed before anything is allocated.

use core_tensor::random::{SeededRng, seeded_rng};

use crate::config::{StateShapes, check_sizes};
use crate::error::{LayerError, Result};
use crate::layer::Layer;
use crate::layers::{
    Dropout, Flatten, GlobalAvgPooling, LeakyRelu, Relu, Residual, Sigmoid, Softmax, Standardize,
    Tanh,
};
use crate::registry;
use crate::sequential::Sequential;
use crate::spec::{LayerSpec, NamedLayerSpec, NetworkSpec, ResidualSpec};
use crate::state::NamedState;

impl LayerSpec {
    /// The shapes of the layer's parameters and of its buffers, in the order the built layer
    /// visits them, computed without building it (nothing is allocated from a size; a
    /// registered layer of your own is built once, see [`crate::registry`]).
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
            Self::Sequential(layers) => list_shapes(layers)?,
            Self::Residual(r) => {
                let mut all = list_shapes(&r.body)?;
                all.extend(list_shapes(&r.shortcut)?);
                if let Some(a) = &r.activation {
                    all.extend(a.state_shapes()?);
                }
                all
            }
            Self::Custom(c) => {
                let layer = registry::build(c, &mut seeded_rng(0))?;
                StateShapes {
                    params: layer
                        .params()
                        .iter()
                        .map(|(_, p)| p.value.shape().to_vec())
                        .collect(),
                    buffers: layer
                        .buffers()
                        .iter()
                        .map(|(_, b)| b.shape().to_vec())
                        .collect(),
                }
            }
            // Building the rest allocates nothing, and checks their configuration.
            _ => {
                self.build_leaf(&mut seeded_rng(0))?;
                StateShapes::default()
            }
        })
    }

    /// Builds the layer for input samples of shape `input` (no batch dimension), drawing
    /// initial parameters from `rng`.
    ///
    /// # Errors
    /// An invalid configuration, or (for a container) a layer that does not take the shape
    /// before it, named by its path.
    pub fn build(&self, input: &[usize], rng: &mut SeededRng) -> Result<Box<dyn Layer>> {
        match self {
            Self::Sequential(layers) => {
                let mut net = Sequential::new(input);
                push_all(&mut net, layers, rng)?;
                Ok(Box::new(net))
            }
            Self::Residual(r) => Ok(Box::new(build_residual(r, input, rng)?)),
            _ => self.build_leaf(rng),
        }
    }

    /// Builds a layer that is not a container.
    fn build_leaf(&self, rng: &mut SeededRng) -> Result<Box<dyn Layer>> {
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
            Self::GlobalAvgPooling => Box::new(GlobalAvgPooling::new()),
            Self::Standardize { mean, std } => Box::new(Standardize::new(*mean, *std)?),
            Self::Custom(c) => registry::build(c, rng)?,
            Self::Sequential(_) | Self::Residual(_) => {
                return Err(LayerError::Config {
                    layer: "container".into(),
                    message: "a container is built for an input shape".into(),
                });
            }
        })
    }
}

/// The shapes of a list of layers, each error naming the layer.
fn list_shapes(layers: &[NamedLayerSpec]) -> Result<StateShapes> {
    let mut all = StateShapes::default();
    for (index, l) in layers.iter().enumerate() {
        let shapes = l.layer.state_shapes().map_err(|e| LayerError::InLayer {
            index,
            layer: format!("{} ({})", l.name, l.layer.kind()),
            source: Box::new(e),
        })?;
        all.extend(shapes);
    }
    Ok(all)
}

/// Builds `layers` and appends them to `net` under their names.
fn push_all(net: &mut Sequential, layers: &[NamedLayerSpec], rng: &mut SeededRng) -> Result<()> {
    for l in layers {
        let built =
            l.layer
                .build(net.output_sample_shape(), rng)
                .map_err(|e| LayerError::InLayer {
                    index: net.len(),
                    layer: format!("{} ({})", l.name, l.layer.kind()),
                    source: Box::new(e),
                })?;
        net.push_named(&l.name, built)?;
    }
    Ok(())
}

fn build_residual(r: &ResidualSpec, input: &[usize], rng: &mut SeededRng) -> Result<Residual> {
    let mut body = Sequential::new(input);
    push_all(&mut body, &r.body, rng)?;
    let shortcut = if r.shortcut.is_empty() {
        None
    } else {
        let mut s = Sequential::new(input);
        push_all(&mut s, &r.shortcut, rng)?;
        Some(s)
    };
    let activation = match &r.activation {
        Some(a) => Some(a.build(body.output_sample_shape(), rng)?),
        None => None,
    };
    Residual::new(body, shortcut, activation)
}

impl StateShapes {
    /// Appends `other`'s parameters and buffers after these.
    pub fn extend(&mut self, other: StateShapes) {
        self.params.extend(other.params);
        self.buffers.extend(other.buffers);
    }
}

impl NetworkSpec {
    /// The shapes of the built network's parameters and buffers, in the order
    /// [`NamedState::params`] and [`NamedState::buffers`] list them, computed from the spec alone
    /// with checked arithmetic: a spec read from a file can be compared with the tensors the
    /// file holds before anything is allocated.
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
                layer: layer.kind().to_string(),
                source: Box::new(e),
            })?;
            all.extend(shapes);
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
        for (index, layer) in self.layers.iter().enumerate() {
            let built =
                layer
                    .build(net.output_sample_shape(), rng)
                    .map_err(|e| LayerError::InLayer {
                        index,
                        layer: layer.kind().to_string(),
                        source: Box::new(e),
                    })?;
            net.push(built)?;
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
