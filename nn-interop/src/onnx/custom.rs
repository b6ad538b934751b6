//! ONNX forms of layers of one's own: a registered layer kind (see `nn_layers::registry`) is
//! exported as the chain of ONNX nodes its lowering gives.
//!
//! ```
//! use nn_interop::onnx::{OnnxAttribute, OnnxNode, register_onnx_export};
//! // A layer `y = x · a` with a parameter `a` of one value: ONNX's `Mul` with `a` as its second
//! // input (the exporter adds the layer's tensor `a` as an initialiser).
//! register_onnx_export("scale", |_spec| {
//!     Ok(vec![OnnxNode::new("Mul").with_weights(["a"])])
//! })
//! .unwrap();
//! // A leaky ReLU of one's own with its slope in the configuration.
//! register_onnx_export("my_leaky", |spec| {
//!     let slope: f32 = spec.config.parse().unwrap_or(0.01);
//!     Ok(vec![OnnxNode::new("LeakyRelu").with_attribute(OnnxAttribute::Float("alpha".into(), slope))])
//! })
//! .unwrap();
//! ```

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use nn_layers::CustomSpec;

use crate::error::{InteropError, Result};

/// One ONNX node of a lowered layer: it reads the previous node's output (the layer's input for
/// the first), then the layer's tensors named in `weights`, in that order.
#[derive(Debug, Clone, PartialEq)]
pub struct OnnxNode {
    /// The ONNX operator, e.g. `Mul`.
    pub op: String,
    /// The layer's tensors (parameter or buffer names, e.g. `a`) given as the node's further
    /// inputs, as initialisers.
    pub weights: Vec<String>,
    /// The node's attributes.
    pub attributes: Vec<OnnxAttribute>,
}

impl OnnxNode {
    /// A node of operator `op` with no further inputs or attributes.
    pub fn new(op: impl Into<String>) -> Self {
        Self {
            op: op.into(),
            weights: Vec::new(),
            attributes: Vec::new(),
        }
    }

    /// Adds the layer's tensors `names` as further inputs.
    pub fn with_weights<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.weights.extend(names.into_iter().map(Into::into));
        self
    }

    /// Adds an attribute.
    pub fn with_attribute(mut self, attribute: OnnxAttribute) -> Self {
        self.attributes.push(attribute);
        self
    }
}

/// An ONNX attribute by name.
#[derive(Debug, Clone, PartialEq)]
pub enum OnnxAttribute {
    /// An integer.
    Int(String, i64),
    /// A float.
    Float(String, f32),
    /// A list of integers.
    Ints(String, Vec<i64>),
}

/// A registered kind's lowering.
type Lowering = Arc<dyn Fn(&CustomSpec) -> Result<Vec<OnnxNode>> + Send + Sync>;

static LOWERINGS: RwLock<Option<HashMap<String, Lowering>>> = RwLock::new(None);

/// Registers how layers of the registered kind `kind` are exported: `lower` gives the chain of
/// ONNX nodes for a layer's spec. Registering a kind again replaces its lowering.
///
/// # Errors
/// An empty kind.
pub fn register_onnx_export<F>(kind: &str, lower: F) -> Result<()>
where
    F: Fn(&CustomSpec) -> Result<Vec<OnnxNode>> + Send + Sync + 'static,
{
    if kind.is_empty() {
        return Err(InteropError::Unsupported("a layer kind has a name".into()));
    }
    LOWERINGS
        .write()
        .unwrap_or_else(PoisonError::into_inner)
        .get_or_insert_with(HashMap::new)
        .insert(kind.to_string(), Arc::new(lower));
    Ok(())
}

/// The nodes of a custom layer, or an error saying how to give it an ONNX form.
pub(crate) fn lower(path: &str, spec: &CustomSpec) -> Result<Vec<OnnxNode>> {
    let lowering = LOWERINGS
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .as_ref()
        .and_then(|t| t.get(&spec.kind).cloned())
        .ok_or_else(|| {
            InteropError::Unsupported(format!(
                "layer {path} (custom kind {}) has no ONNX form: register one with \
                 nn_interop::onnx::register_onnx_export",
                spec.kind
            ))
        })?;
    let nodes = lowering(spec)?;
    if nodes.is_empty() {
        return Err(InteropError::Unsupported(format!(
            "layer {path}: the ONNX form of kind {} has no node",
            spec.kind
        )));
    }
    Ok(nodes)
}
