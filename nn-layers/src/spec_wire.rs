//! How a [`LayerSpec`] is stored in binary formats (model files): the stored form of files
//! written before convolutions had dilation and groups, extended rather than changed, so that
//! those files still load and a network of the layers they knew is stored byte for byte as before.
//!
//! A convolution with dilation 1 and one group is stored as `Conv2D` with its six original fields;
//! any other as `Conv2DGeneral`. Variants added later come after all the others (bincode stores a
//! variant by its index, so the old indices keep their meaning).
//!
//! Containers nest; a stored spec nests at most [`MAX_DEPTH`] levels, so that a forged file
//! cannot exhaust the stack.

use std::cell::Cell;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::bounded_serde::{MAX_LAYERS, vec_at_most};
use crate::config::{BatchNormConfig, Conv2DConfig, LinearConfig, PoolConfig};
use crate::spec::{
    CustomSpec, LayerSpec, MAX_CONFIG_LEN, MAX_NAME_LEN, NamedLayerSpec, ResidualSpec,
};

/// The deepest a stored spec nests containers.
pub const MAX_DEPTH: usize = 32;

/// A convolution's fields as stored before dilation and groups.
#[derive(Clone, Copy, Serialize, Deserialize)]
pub(crate) struct PlainConv2D {
    in_channels: usize,
    out_channels: usize,
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
    bias: bool,
}

/// [`LayerSpec`] as stored; the variants in their stored order.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename = "LayerSpec")]
pub(crate) enum StoredLayerSpec {
    Conv2D(PlainConv2D),
    Linear(LinearConfig),
    MaxPooling(PoolConfig),
    AvgPooling(PoolConfig),
    BatchNormalization(BatchNormConfig),
    Relu,
    LeakyRelu { slope: f32 },
    Sigmoid,
    Tanh,
    Softmax,
    Flatten,
    Dropout { p: f32, seed: u64 },
    Conv2DGeneral(Conv2DConfig),
    GlobalAvgPooling,
    Sequential(#[serde(deserialize_with = "vec_at_most::<MAX_LAYERS, _, _>")] Vec<StoredNamed>),
    Residual(StoredResidual),
    Custom(CustomSpec),
    Standardize { mean: f32, std: f32 },
}

/// [`NamedLayerSpec`] as stored.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct StoredNamed {
    name: String,
    layer: LayerSpec,
}

/// [`ResidualSpec`] as stored.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct StoredResidual {
    #[serde(deserialize_with = "vec_at_most::<MAX_LAYERS, _, _>")]
    body: Vec<StoredNamed>,
    #[serde(deserialize_with = "vec_at_most::<MAX_LAYERS, _, _>")]
    shortcut: Vec<StoredNamed>,
    activation: Option<Box<LayerSpec>>,
}

fn store_named(layers: Vec<NamedLayerSpec>) -> Vec<StoredNamed> {
    layers
        .into_iter()
        .map(|l| StoredNamed {
            name: l.name,
            layer: l.layer,
        })
        .collect()
}

fn load_named(layers: Vec<StoredNamed>) -> Vec<NamedLayerSpec> {
    layers
        .into_iter()
        .map(|l| NamedLayerSpec::new(l.name, l.layer))
        .collect()
}

impl From<LayerSpec> for StoredLayerSpec {
    fn from(spec: LayerSpec) -> Self {
        match spec {
            LayerSpec::Conv2D(c) if c.dilation == [1, 1] && c.groups == 1 => {
                Self::Conv2D(PlainConv2D {
                    in_channels: c.in_channels,
                    out_channels: c.out_channels,
                    kernel: c.kernel,
                    stride: c.stride,
                    padding: c.padding,
                    bias: c.bias,
                })
            }
            LayerSpec::Conv2D(c) => Self::Conv2DGeneral(c),
            LayerSpec::Linear(c) => Self::Linear(c),
            LayerSpec::MaxPooling(c) => Self::MaxPooling(c),
            LayerSpec::AvgPooling(c) => Self::AvgPooling(c),
            LayerSpec::BatchNormalization(c) => Self::BatchNormalization(c),
            LayerSpec::Relu => Self::Relu,
            LayerSpec::LeakyRelu { slope } => Self::LeakyRelu { slope },
            LayerSpec::Sigmoid => Self::Sigmoid,
            LayerSpec::Tanh => Self::Tanh,
            LayerSpec::Softmax => Self::Softmax,
            LayerSpec::Flatten => Self::Flatten,
            LayerSpec::Dropout { p, seed } => Self::Dropout { p, seed },
            LayerSpec::GlobalAvgPooling => Self::GlobalAvgPooling,
            LayerSpec::Sequential(layers) => Self::Sequential(store_named(layers)),
            LayerSpec::Residual(r) => Self::Residual(StoredResidual {
                body: store_named(r.body),
                shortcut: store_named(r.shortcut),
                activation: r.activation,
            }),
            LayerSpec::Custom(c) => Self::Custom(c),
            LayerSpec::Standardize { mean, std } => Self::Standardize { mean, std },
        }
    }
}

impl From<StoredLayerSpec> for LayerSpec {
    fn from(stored: StoredLayerSpec) -> Self {
        match stored {
            StoredLayerSpec::Conv2D(c) => Self::Conv2D(
                Conv2DConfig::new(c.in_channels, c.out_channels, c.kernel)
                    .with_stride(c.stride)
                    .with_padding(c.padding)
                    .with_bias(c.bias),
            ),
            StoredLayerSpec::Conv2DGeneral(c) => Self::Conv2D(c),
            StoredLayerSpec::Linear(c) => Self::Linear(c),
            StoredLayerSpec::MaxPooling(c) => Self::MaxPooling(c),
            StoredLayerSpec::AvgPooling(c) => Self::AvgPooling(c),
            StoredLayerSpec::BatchNormalization(c) => Self::BatchNormalization(c),
            StoredLayerSpec::Relu => Self::Relu,
            StoredLayerSpec::LeakyRelu { slope } => Self::LeakyRelu { slope },
            StoredLayerSpec::Sigmoid => Self::Sigmoid,
            StoredLayerSpec::Tanh => Self::Tanh,
            StoredLayerSpec::Softmax => Self::Softmax,
            StoredLayerSpec::Flatten => Self::Flatten,
            StoredLayerSpec::Dropout { p, seed } => Self::Dropout { p, seed },
            StoredLayerSpec::GlobalAvgPooling => Self::GlobalAvgPooling,
            StoredLayerSpec::Sequential(layers) => Self::Sequential(load_named(layers)),
            StoredLayerSpec::Residual(r) => Self::Residual(ResidualSpec {
                body: load_named(r.body),
                shortcut: load_named(r.shortcut),
                activation: r.activation,
            }),
            StoredLayerSpec::Custom(c) => Self::Custom(c),
            StoredLayerSpec::Standardize { mean, std } => Self::Standardize { mean, std },
        }
    }
}

thread_local! {
    /// How deep the spec being read nests, on this thread.
    static DEPTH: Cell<usize> = const { Cell::new(0) };
}

/// Counts one level of nesting while it lives.
pub(crate) struct DepthGuard;

impl DepthGuard {
    /// One level deeper, or an error past [`MAX_DEPTH`].
    pub(crate) fn enter() -> Result<Self, String> {
        let depth = DEPTH.with(|d| {
            d.set(d.get() + 1);
            d.get()
        });
        // Made before the check, so that dropping it on the error undoes the count.
        let guard = Self;
        if depth > MAX_DEPTH {
            return Err(format!("layers nest more than {MAX_DEPTH} containers deep"));
        }
        Ok(guard)
    }
}

impl Drop for DepthGuard {
    fn drop(&mut self) {
        DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
    }
}

impl Serialize for LayerSpec {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            crate::spec_json::JsonLayer::from(self.clone()).serialize(serializer)
        } else {
            StoredLayerSpec::from(self.clone()).serialize(serializer)
        }
    }
}

impl<'de> Deserialize<'de> for LayerSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spec = if deserializer.is_human_readable() {
            // `into_spec` counts the levels of the JSON form.
            crate::spec_json::JsonLayer::deserialize(deserializer)?
                .into_spec()
                .map_err(D::Error::custom)?
        } else {
            let _depth = DepthGuard::enter().map_err(D::Error::custom)?;
            LayerSpec::from(StoredLayerSpec::deserialize(deserializer)?)
        };
        check_names(&spec).map_err(D::Error::custom)?;
        Ok(spec)
    }
}

/// Checks the names and custom configurations directly inside `spec` (nested specs were checked
/// when they were read).
pub(crate) fn check_names(spec: &LayerSpec) -> Result<(), String> {
    let lists: Vec<&[NamedLayerSpec]> = match spec {
        LayerSpec::Sequential(layers) => vec![layers],
        LayerSpec::Residual(r) => vec![&r.body, &r.shortcut],
        LayerSpec::Custom(c) => {
            if c.kind.is_empty() || c.kind.len() > MAX_NAME_LEN {
                return Err(format!(
                    "a custom layer kind has 1 to {MAX_NAME_LEN} characters, got {:?}",
                    c.kind.chars().take(MAX_NAME_LEN).collect::<String>()
                ));
            }
            if c.config.len() > MAX_CONFIG_LEN {
                return Err(format!(
                    "the configuration of custom layer {} has {} bytes, more than {MAX_CONFIG_LEN}",
                    c.kind,
                    c.config.len()
                ));
            }
            return Ok(());
        }
        _ => return Ok(()),
    };
    for list in lists {
        check_list(list)?;
    }
    Ok(())
}

/// Valid names, each once.
fn check_list(list: &[NamedLayerSpec]) -> Result<(), String> {
    let mut seen = std::collections::HashSet::new();
    for layer in list {
        let name = &layer.name;
        let valid = !name.is_empty()
            && name.len() <= MAX_NAME_LEN
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && name != "shortcut";
        if !valid {
            return Err(format!(
                "layer name {:?}: use 1 to {MAX_NAME_LEN} letters, digits or `_` (and not \
                 `shortcut`)",
                name.chars().take(MAX_NAME_LEN).collect::<String>()
            ));
        }
        if !seen.insert(name.as_str()) {
            return Err(format!("two layers of one container are named {name:?}"));
        }
    }
    Ok(())
}
