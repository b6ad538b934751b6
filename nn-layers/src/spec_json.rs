//! The JSON form of a [`LayerSpec`]: what a person writes in a network file.
//!
//! Every layer is an object whose `"type"` is the [`LayerSpec`] variant's name, with the
//! configuration's fields beside it; fields with a PyTorch default may be left out:
//!
//! | type | fields (default) |
//! |---|---|
//! | `Conv2D` | `in_channels`, `out_channels`, `kernel` [KH, KW], `stride` ([1, 1]), `padding` ([0, 0]), `dilation` ([1, 1]), `groups` (1), `bias` (true) |
//! | `Linear` | `in_features`, `out_features`, `bias` (true) |
//! | `MaxPooling`, `AvgPooling` | `kernel`, `stride` (the kernel) |
//! | `BatchNormalization` | `num_features`, `eps` (1e-5), `momentum` (0.1), `affine` (true) |
//! | `Relu`, `Sigmoid`, `Tanh`, `Softmax`, `Flatten`, `GlobalAvgPooling` | none |
//! | `Standardize` | `mean`, `std` |
//! | `LeakyRelu` | `slope` (0.01) |
//! | `Dropout` | `p`, `seed` (0) |
//! | `Sequential` | `layers`: a list of layers |
//! | `Residual` | `body`: a list of layers, `shortcut` (none: the identity), `activation` (none) |
//! | `Custom` | `kind`, `config` (any JSON value, given to the registered builder) |
//!
//! A layer inside a `Sequential`, `body` or `shortcut` list may carry a `"name"` (its state is
//! then named `NAME.weight` ...); by default its position in the list.
//!
//! Unknown fields are errors, so a misspelt field is never silently dropped.

use serde::{Deserialize, Serialize};

use crate::config::{BatchNormConfig, Conv2DConfig, LinearConfig, PoolConfig};
use crate::spec::{CustomSpec, LayerSpec, NamedLayerSpec, ResidualSpec};

const fn one() -> [usize; 2] {
    [1, 1]
}
const fn zero() -> [usize; 2] {
    [0, 0]
}
const fn yes() -> bool {
    true
}
const fn one_group() -> usize {
    1
}
const fn default_eps() -> f32 {
    1e-5
}
const fn default_momentum() -> f32 {
    0.1
}
const fn default_slope() -> f32 {
    0.01
}

/// A layer in JSON.
#[derive(Serialize, Deserialize)]
#[serde(tag = "type", deny_unknown_fields)]
pub(crate) enum JsonLayer {
    Conv2D {
        in_channels: usize,
        out_channels: usize,
        kernel: [usize; 2],
        #[serde(default = "one")]
        stride: [usize; 2],
        #[serde(default = "zero")]
        padding: [usize; 2],
        #[serde(default = "one")]
        dilation: [usize; 2],
        #[serde(default = "one_group")]
        groups: usize,
        #[serde(default = "yes")]
        bias: bool,
    },
    Linear {
        in_features: usize,
        out_features: usize,
        #[serde(default = "yes")]
        bias: bool,
    },
    MaxPooling {
        kernel: [usize; 2],
        #[serde(default)]
        stride: Option<[usize; 2]>,
    },
    AvgPooling {
        kernel: [usize; 2],
        #[serde(default)]
        stride: Option<[usize; 2]>,
    },
    BatchNormalization {
        num_features: usize,
        #[serde(default = "default_eps")]
        eps: f32,
        #[serde(default = "default_momentum")]
        momentum: f32,
        #[serde(default = "yes")]
        affine: bool,
    },
    Relu {},
    LeakyRelu {
        #[serde(default = "default_slope")]
        slope: f32,
    },
    Sigmoid {},
    Tanh {},
    Softmax {},
    Flatten {},
    Dropout {
        p: f32,
        #[serde(default)]
        seed: u64,
    },
    GlobalAvgPooling {},
    Standardize {
        mean: f32,
        std: f32,
    },
    Sequential {
        layers: Vec<JsonNamed>,
    },
    Residual {
        body: Vec<JsonNamed>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        shortcut: Vec<JsonNamed>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        activation: Option<Box<JsonLayer>>,
    },
    Custom {
        kind: String,
        #[serde(default)]
        config: serde_json::Value,
    },
}

/// A layer in a container's list, with its optional name.
#[derive(Serialize, Deserialize)]
pub(crate) struct JsonNamed {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(flatten)]
    layer: JsonLayer,
}

fn to_json_list(layers: Vec<NamedLayerSpec>) -> Vec<JsonNamed> {
    layers
        .into_iter()
        .enumerate()
        .map(|(i, l)| JsonNamed {
            name: (l.name != i.to_string()).then_some(l.name),
            layer: JsonLayer::from(l.layer),
        })
        .collect()
}

fn from_json_list(layers: Vec<JsonNamed>) -> Result<Vec<NamedLayerSpec>, String> {
    layers
        .into_iter()
        .enumerate()
        .map(|(i, l)| {
            let name = l.name.unwrap_or_else(|| i.to_string());
            let layer = l
                .layer
                .into_spec()
                .map_err(|e| format!("layer {name}: {e}"))?;
            Ok(NamedLayerSpec::new(name, layer))
        })
        .collect()
}

impl From<LayerSpec> for JsonLayer {
    fn from(spec: LayerSpec) -> Self {
        match spec {
            LayerSpec::Conv2D(c) => Self::Conv2D {
                in_channels: c.in_channels,
                out_channels: c.out_channels,
                kernel: c.kernel,
                stride: c.stride,
                padding: c.padding,
                dilation: c.dilation,
                groups: c.groups,
                bias: c.bias,
            },
            LayerSpec::Linear(c) => Self::Linear {
                in_features: c.in_features,
                out_features: c.out_features,
                bias: c.bias,
            },
            LayerSpec::MaxPooling(c) => Self::MaxPooling {
                kernel: c.kernel,
                stride: (c.stride != c.kernel).then_some(c.stride),
            },
            LayerSpec::AvgPooling(c) => Self::AvgPooling {
                kernel: c.kernel,
                stride: (c.stride != c.kernel).then_some(c.stride),
            },
            LayerSpec::BatchNormalization(c) => Self::BatchNormalization {
                num_features: c.num_features,
                eps: c.eps,
                momentum: c.momentum,
                affine: c.affine,
            },
            LayerSpec::Relu => Self::Relu {},
            LayerSpec::LeakyRelu { slope } => Self::LeakyRelu { slope },
            LayerSpec::Sigmoid => Self::Sigmoid {},
            LayerSpec::Tanh => Self::Tanh {},
            LayerSpec::Softmax => Self::Softmax {},
            LayerSpec::Flatten => Self::Flatten {},
            LayerSpec::Dropout { p, seed } => Self::Dropout { p, seed },
            LayerSpec::GlobalAvgPooling => Self::GlobalAvgPooling {},
            LayerSpec::Standardize { mean, std } => Self::Standardize { mean, std },
            LayerSpec::Sequential(layers) => Self::Sequential {
                layers: to_json_list(layers),
            },
            LayerSpec::Residual(r) => Self::Residual {
                body: to_json_list(r.body),
                shortcut: to_json_list(r.shortcut),
                activation: r.activation.map(|a| Box::new(Self::from(*a))),
            },
            LayerSpec::Custom(c) => Self::Custom {
                kind: c.kind,
                // The configuration was written by `serde_json`; text that does not parse (a
                // forged binary file) is kept as a string.
                config: serde_json::from_str(&c.config)
                    .unwrap_or(serde_json::Value::String(c.config)),
            },
        }
    }
}

impl JsonLayer {
    /// The spec this JSON describes.
    ///
    /// # Errors
    /// A nested layer's error, naming it.
    pub(crate) fn into_spec(self) -> Result<LayerSpec, String> {
        let _depth = crate::spec_wire::DepthGuard::enter()?;
        let spec = self.into_unchecked_spec()?;
        crate::spec_wire::check_names(&spec)?;
        Ok(spec)
    }

    fn into_unchecked_spec(self) -> Result<LayerSpec, String> {
        Ok(match self {
            Self::Conv2D {
                in_channels,
                out_channels,
                kernel,
                stride,
                padding,
                dilation,
                groups,
                bias,
            } => LayerSpec::Conv2D(
                Conv2DConfig::new(in_channels, out_channels, kernel)
                    .with_stride(stride)
                    .with_padding(padding)
                    .with_dilation(dilation)
                    .with_groups(groups)
                    .with_bias(bias),
            ),
            Self::Linear {
                in_features,
                out_features,
                bias,
            } => LayerSpec::Linear(LinearConfig::new(in_features, out_features).with_bias(bias)),
            Self::MaxPooling { kernel, stride } => {
                LayerSpec::MaxPooling(PoolConfig::new(kernel).with_stride(stride.unwrap_or(kernel)))
            }
            Self::AvgPooling { kernel, stride } => {
                LayerSpec::AvgPooling(PoolConfig::new(kernel).with_stride(stride.unwrap_or(kernel)))
            }
            Self::BatchNormalization {
                num_features,
                eps,
                momentum,
                affine,
            } => LayerSpec::BatchNormalization(
                BatchNormConfig::new(num_features)
                    .with_eps(eps)
                    .with_momentum(momentum)
                    .with_affine(affine),
            ),
            Self::Relu {} => LayerSpec::Relu,
            Self::LeakyRelu { slope } => LayerSpec::LeakyRelu { slope },
            Self::Sigmoid {} => LayerSpec::Sigmoid,
            Self::Tanh {} => LayerSpec::Tanh,
            Self::Softmax {} => LayerSpec::Softmax,
            Self::Flatten {} => LayerSpec::Flatten,
            Self::Dropout { p, seed } => LayerSpec::Dropout { p, seed },
            Self::GlobalAvgPooling {} => LayerSpec::GlobalAvgPooling,
            Self::Standardize { mean, std } => LayerSpec::Standardize { mean, std },
            Self::Sequential { layers } => LayerSpec::Sequential(from_json_list(layers)?),
            Self::Residual {
                body,
                shortcut,
                activation,
            } => LayerSpec::Residual(ResidualSpec {
                body: from_json_list(body)?,
                shortcut: from_json_list(shortcut).map_err(|e| format!("shortcut, {e}"))?,
                activation: activation
                    .map(|a| a.into_spec().map(Box::new))
                    .transpose()
                    .map_err(|e| format!("activation: {e}"))?,
            }),
            Self::Custom { kind, config } => LayerSpec::Custom(CustomSpec {
                kind,
                config: config.to_string(),
            }),
        })
    }
}
