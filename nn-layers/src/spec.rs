//! Networks as data: a serialisable description of every layer, container and registered layer
//! of your own, from which a network is built (`build.rs`), so that a model file carries its
//! architecture. Data only: nothing here builds or runs a layer.
//!
//! Two stored forms: model files keep the compact binary form of `spec_wire.rs` (files of earlier
//! versions load unchanged); a human-readable format (JSON) gets the documented form of
//! `spec_json.rs`, `{"type": "Conv2D", ...}` with PyTorch's defaults.

use serde::{Deserialize, Serialize};

use crate::config::{BatchNormConfig, Conv2DConfig, LinearConfig, PoolConfig};

/// One layer of a [`NetworkSpec`].
///
/// Serialised in the binary form of model files by a binary format (bincode), in the JSON form
/// (the network files of the `lenet5` trainer) by a human-readable one.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
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
    /// [`crate::GlobalAvgPooling`].
    GlobalAvgPooling,
    /// A nested [`crate::Sequential`]: its layers in order, each with its name.
    Sequential(Vec<NamedLayerSpec>),
    /// [`crate::Residual`].
    Residual(ResidualSpec),
    /// [`crate::Standardize`] with its mean and standard deviation.
    Standardize {
        /// Subtracted from every input value.
        mean: f32,
        /// What the difference is divided by.
        std: f32,
    },
    /// A layer kind registered with [`crate::registry::register_layer`].
    Custom(CustomSpec),
}

impl LayerSpec {
    /// The kind's name: the variant's (`Conv2D`, `Residual` ...) or a custom layer's kind.
    pub fn kind(&self) -> &str {
        match self {
            Self::Conv2D(_) => "Conv2D",
            Self::Linear(_) => "Linear",
            Self::MaxPooling(_) => "MaxPooling",
            Self::AvgPooling(_) => "AvgPooling",
            Self::BatchNormalization(_) => "BatchNormalization",
            Self::Relu => "Relu",
            Self::LeakyRelu { .. } => "LeakyRelu",
            Self::Sigmoid => "Sigmoid",
            Self::Tanh => "Tanh",
            Self::Softmax => "Softmax",
            Self::Flatten => "Flatten",
            Self::Dropout { .. } => "Dropout",
            Self::GlobalAvgPooling => "GlobalAvgPooling",
            Self::Sequential(_) => "Sequential",
            Self::Residual(_) => "Residual",
            Self::Standardize { .. } => "Standardize",
            Self::Custom(c) => &c.kind,
        }
    }
}

/// A layer of a container and the name its state goes under (`conv1` gives `conv1.weight`).
#[derive(Debug, Clone, PartialEq)]
pub struct NamedLayerSpec {
    /// Letters, digits and `_`, at most [`MAX_NAME_LEN`] of them; in a
    /// [`crate::Sequential`] by default the layer's position.
    pub name: String,
    /// The layer.
    pub layer: LayerSpec,
}

/// The longest name a layer in a container has.
pub const MAX_NAME_LEN: usize = 64;

impl NamedLayerSpec {
    /// `layer` under `name`.
    pub fn new(name: impl Into<String>, layer: LayerSpec) -> Self {
        Self {
            name: name.into(),
            layer,
        }
    }

    /// Each layer under its position's name (`0`, `1` ...), as PyTorch's `nn.Sequential`.
    pub fn numbered(layers: impl IntoIterator<Item = LayerSpec>) -> Vec<Self> {
        layers
            .into_iter()
            .enumerate()
            .map(|(i, layer)| Self::new(i.to_string(), layer))
            .collect()
    }
}

/// A residual block as data: `activation(body(x) + shortcut(x))`, see [`crate::Residual`].
///
/// ```
/// use nn_layers::ResidualSpec;
/// // PyTorch's ResNet basic block from 16 to 32 channels, stride 2.
/// let block = ResidualSpec::basic_block(16, 32, 2);
/// let names: Vec<&str> = block.body.iter().map(|l| l.name.as_str()).collect();
/// assert_eq!(names, ["conv1", "bn1", "relu", "conv2", "bn2"]);
/// assert_eq!(block.shortcut.len(), 2); // 1x1 convolution and batch norm
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ResidualSpec {
    /// The main path; its layers' state is named at the block's level (`conv1.weight`).
    pub body: Vec<NamedLayerSpec>,
    /// The shortcut; empty for the identity. Its state is named `shortcut.NAME...`.
    pub shortcut: Vec<NamedLayerSpec>,
    /// Applied to the sum, if any (a ReLU in ResNet).
    pub activation: Option<Box<LayerSpec>>,
}

impl ResidualSpec {
    /// PyTorch's ResNet basic block (torchvision's `BasicBlock`, with the shortcut called
    /// `shortcut`): conv1 (3x3, `stride`, padding 1, no bias), bn1, ReLU, conv2 (3x3, padding
    /// 1, no bias), bn2; the shortcut is the identity when the shape stays, else a 1x1
    /// convolution with `stride` and no bias followed by batch norm; a ReLU after the sum.
    pub fn basic_block(in_channels: usize, out_channels: usize, stride: usize) -> Self {
        let conv = |cin, k: usize, s| {
            LayerSpec::Conv2D(
                Conv2DConfig::new(cin, out_channels, [k, k])
                    .with_stride([s, s])
                    .with_padding([k / 2, k / 2])
                    .with_bias(false),
            )
        };
        let bn = || LayerSpec::BatchNormalization(BatchNormConfig::new(out_channels));
        let shortcut = if stride != 1 || in_channels != out_channels {
            NamedLayerSpec::numbered([conv(in_channels, 1, stride), bn()])
        } else {
            Vec::new()
        };
        Self {
            body: vec![
                NamedLayerSpec::new("conv1", conv(in_channels, 3, stride)),
                NamedLayerSpec::new("bn1", bn()),
                NamedLayerSpec::new("relu", LayerSpec::Relu),
                NamedLayerSpec::new("conv2", conv(out_channels, 3, 1)),
                NamedLayerSpec::new("bn2", bn()),
            ],
            shortcut,
            activation: Some(Box::new(LayerSpec::Relu)),
        }
    }
}

/// A layer of a kind registered with [`crate::registry::register_layer`]: the kind's name and
/// its configuration as JSON text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomSpec {
    /// The registered kind, e.g. `"scale"`.
    pub kind: String,
    /// The configuration, as JSON (at most [`MAX_CONFIG_LEN`] bytes).
    pub config: String,
}

/// The longest configuration a [`CustomSpec`] holds, in bytes.
pub const MAX_CONFIG_LEN: usize = 1 << 16;

impl CustomSpec {
    /// The spec of a layer of `kind` with `config` (any serialisable value; the kind's builder
    /// reads it back).
    ///
    /// # Errors
    /// A configuration that does not serialise to JSON.
    pub fn new(kind: impl Into<String>, config: &impl Serialize) -> crate::Result<Self> {
        let kind = kind.into();
        let config = serde_json::to_string(config).map_err(|e| crate::LayerError::Config {
            layer: kind.clone(),
            message: format!("the configuration does not serialise: {e}"),
        })?;
        Ok(Self { kind, config })
    }
}

/// A network as data: the input sample shape and the layers in order.
///
/// In JSON (a human-readable format), as the `lenet5` trainer's `--net` reads it:
///
/// ```
/// let json = r#"{
///   "input": [1, 28, 28],
///   "layers": [
///     {"type": "Conv2D", "in_channels": 1, "out_channels": 4, "kernel": [3, 3], "padding": [1, 1]},
///     {"type": "Relu"},
///     {"type": "GlobalAvgPooling"},
///     {"type": "Linear", "in_features": 4, "out_features": 10}
///   ]
/// }"#;
/// let spec: nn_layers::NetworkSpec = serde_json::from_str(json).unwrap();
/// assert_eq!(spec.state_shapes().unwrap().params[0], vec![4, 1, 3, 3]);
/// ```
///
/// ```
/// use nn_layers::{LayerSpec, LinearConfig, NamedState, NetworkSpec};
/// let spec = NetworkSpec { input: vec![4], layers: vec![LayerSpec::Linear(LinearConfig::new(4, 2)), LayerSpec::Relu] };
/// let net = spec.build(&mut core_tensor::random::seeded_rng(0)).unwrap();
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
