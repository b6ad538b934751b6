//! Layers of your own: register a kind once, and its layers are described, saved, loaded,
//! exported and trained like the built-in ones, without changing this crate.
//!
//! The design: a process-wide table from a kind's name to a builder that reads the kind's
//! configuration. A layer of your own returns [`LayerSpec::Custom`](crate::LayerSpec::Custom) from [`Layer::spec`] with
//! its kind and configuration (any `serde` value, kept as JSON text); whoever meets that spec
//! later (loading a model file, a checkpoint, a JSON network file) asks the table for the
//! builder. A table rather than a trait object in the spec keeps specs plain data (comparable,
//! cloneable, storable) and keeps files free of code; the cost is that a program registers its
//! kinds before it loads a file that uses them (an unregistered kind is an error naming it).
//!
//! Building a registered layer must check its configuration before allocating: configurations
//! come from files.
//!
//! ```
//! use nn_layers::registry::register_layer;
//! use nn_layers::{CustomSpec, Layer, LayerSpec, Mode, NetworkSpec, Result, Tensor};
//!
//! /// y = factor · x.
//! #[derive(Debug)]
//! struct Scale { factor: f32 }
//!
//! impl Layer for Scale {
//!     fn describe(&self) -> String { format!("Scale({})", self.factor) }
//!     fn forward(&mut self, x: &Tensor, _: Mode) -> Result<Tensor> { Ok(x * self.factor) }
//!     fn backward(&mut self, g: &Tensor) -> Result<Tensor> { Ok(g * self.factor) }
//!     fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> { Ok(input.to_vec()) }
//!     fn spec(&self) -> Option<LayerSpec> {
//!         CustomSpec::new("scale", &self.factor).ok().map(LayerSpec::Custom)
//!     }
//! }
//!
//! register_layer("scale", |factor: f32, _rng| Ok(Scale { factor })).unwrap();
//! let spec: NetworkSpec = serde_json::from_str(
//!     r#"{"input": [3], "layers": [{"type": "Custom", "kind": "scale", "config": 2.0}]}"#,
//! ).unwrap();
//! let mut net = spec.build(&mut core_tensor::random::seeded_rng(0)).unwrap();
//! let y = net.forward(&Tensor::ones(vec![1, 3]), Mode::Eval).unwrap();
//! assert_eq!(y[[0, 1]], 2.0);
//! assert_eq!(net.network_spec().unwrap(), spec);
//! ```

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use core_tensor::random::SeededRng;
use serde::de::DeserializeOwned;

use crate::error::{LayerError, Result};
use crate::layer::Layer;
use crate::spec::{CustomSpec, MAX_NAME_LEN};

/// A registered kind's builder, reading the configuration from JSON.
type Builder = Arc<dyn Fn(&str, &mut SeededRng) -> Result<Box<dyn Layer>> + Send + Sync>;

static REGISTRY: RwLock<Option<HashMap<String, Builder>>> = RwLock::new(None);

/// The names built-in kinds use, which a registered kind cannot take.
const BUILT_IN: [&str; 17] = [
    "Conv2D",
    "Linear",
    "MaxPooling",
    "AvgPooling",
    "BatchNormalization",
    "Relu",
    "LeakyRelu",
    "Sigmoid",
    "Tanh",
    "Softmax",
    "Flatten",
    "Dropout",
    "GlobalAvgPooling",
    "Standardize",
    "Sequential",
    "Residual",
    "Custom",
];

/// Registers the layer kind `kind`: a [`LayerSpec::Custom`](crate::LayerSpec::Custom) of that kind is built by `build`
/// from its configuration (read as a `C`) and a generator for initial parameters. Registering a
/// kind again replaces its builder.
///
/// # Errors
/// A kind that is empty, longer than 64 characters or the name of a built-in kind.
pub fn register_layer<C, L, F>(kind: &str, build: F) -> Result<()>
where
    C: DeserializeOwned,
    L: Layer + 'static,
    F: Fn(C, &mut SeededRng) -> Result<L> + Send + Sync + 'static,
{
    if kind.is_empty() || kind.len() > MAX_NAME_LEN || BUILT_IN.contains(&kind) {
        return Err(LayerError::Config {
            layer: kind.chars().take(MAX_NAME_LEN).collect(),
            message: format!(
                "a registered kind has 1 to {MAX_NAME_LEN} characters and is not a built-in \
                 kind's name"
            ),
        });
    }
    let owned = kind.to_string();
    let builder: Builder = Arc::new(move |config: &str, rng: &mut SeededRng| {
        let config: C = serde_json::from_str(config).map_err(|e| LayerError::Config {
            layer: owned.clone(),
            message: format!("cannot read the configuration {config}: {e}"),
        })?;
        Ok(Box::new(build(config, rng)?) as Box<dyn Layer>)
    });
    let mut table = REGISTRY.write().unwrap_or_else(PoisonError::into_inner);
    table
        .get_or_insert_with(HashMap::new)
        .insert(kind.to_string(), builder);
    Ok(())
}

/// Whether `kind` is registered.
pub fn is_registered(kind: &str) -> bool {
    REGISTRY
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .as_ref()
        .is_some_and(|t| t.contains_key(kind))
}

/// Builds the layer `spec` describes with its kind's registered builder.
///
/// # Errors
/// An unregistered kind, or the builder's error.
pub fn build(spec: &CustomSpec, rng: &mut SeededRng) -> Result<Box<dyn Layer>> {
    let builder = REGISTRY
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .as_ref()
        .and_then(|t| t.get(&spec.kind).cloned())
        .ok_or_else(|| LayerError::Config {
            layer: spec.kind.clone(),
            message: "no layer of this kind is registered; call \
                      nn_layers::registry::register_layer before building or loading it"
                .into(),
        })?;
    let layer = builder(&spec.config, rng)?;
    if layer.spec().is_none() {
        return Err(LayerError::Config {
            layer: spec.kind.clone(),
            message: "the built layer has no spec; return LayerSpec::Custom from Layer::spec"
                .into(),
        });
    }
    Ok(layer)
}
