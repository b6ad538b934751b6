//! How a [`LayerSpec`] is stored: the stored form of files written before convolutions had
//! dilation and groups, extended rather than changed, so that those files still load and a
//! network without dilation or groups is stored byte for byte as before.
//!
//! A convolution with dilation 1 and one group is stored as `Conv2D` with its six original fields;
//! any other as `Conv2DGeneral`, a variant added after all the others (bincode stores a variant by
//! its index, so the old indices keep their meaning).

use serde::{Deserialize, Serialize};

use crate::layers::{BatchNormConfig, Conv2DConfig, LinearConfig, PoolConfig};
use crate::spec::LayerSpec;

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
        }
    }
}
