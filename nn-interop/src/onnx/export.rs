//! A `Sequential` as an ONNX graph: one node per layer (inference form), weights as initialisers
//! under their PyTorch names.

use std::collections::HashMap;
use std::path::Path;

use nn_layers::{LayerSpec, NamedState, Sequential, Tensor};
use prost::Message;

use super::proto::{
    ATTRIBUTE_FLOAT, ATTRIBUTE_INT, ATTRIBUTE_INTS, AttributeProto, DATA_TYPE_FLOAT, Dimension,
    GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto, TensorShapeProto,
    TypeProto, TypeProtoTensor, ValueInfoProto,
};
use crate::error::{InteropError, Result};

/// The ONNX operator set the exporter writes (ONNX 1.12, 2022; onnxruntime 1.12 and later).
pub const ONNX_OPSET: i64 = 17;
/// The ONNX IR version that goes with [`ONNX_OPSET`].
pub const ONNX_IR_VERSION: i64 = 8;
/// The name of the graph's input: `(batch, ...)` of the network's input sample shape.
pub const ONNX_INPUT: &str = "input";
/// The name of the graph's output.
pub const ONNX_OUTPUT: &str = "output";
/// The name of the free batch dimension of the input and output.
pub const ONNX_BATCH_DIM: &str = "batch";

/// The network in eval mode as the bytes of an ONNX model (opset [`ONNX_OPSET`]), with a free
/// batch dimension ([`ONNX_BATCH_DIM`]) on its input [`ONNX_INPUT`] and output [`ONNX_OUTPUT`].
///
/// Layer by layer: Conv2D → `Conv`, Linear → `Gemm` (transB = 1, weights as PyTorch stores
/// them), MaxPooling → `MaxPool`, AvgPooling → `AveragePool`, BatchNormalization → inference
/// `BatchNormalization` with the running statistics, Relu, LeakyRelu, Sigmoid, Tanh, Softmax
/// (axis 1), Flatten (axis 1), Dropout → `Identity`, Standardize → `Sub` and `Div`,
/// GlobalAvgPooling → `GlobalAveragePool` and `Flatten`; a nested Sequential is its layers in order, a Residual its body, its shortcut,
/// an `Add` and its activation. Initialisers carry the state names. The same network gives the
/// same bytes.
///
/// # Errors
/// A layer without a spec, or a registered layer of your own whose kind has no ONNX form
/// ([`crate::onnx::register_onnx_export`]), named by its path.
///
/// ```
/// let net = nn_layers::models::lenet5(&mut core_tensor::random::seeded_rng(1))?;
/// let bytes = nn_interop::to_onnx(&net)?;
/// assert!(bytes.len() > 61_706 * 4); // every weight, as raw float32
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn to_onnx(net: &Sequential) -> Result<Vec<u8>> {
    let spec = net
        .network_spec()
        .map_err(|e| InteropError::Unsupported(e.to_string()))?;
    let values: HashMap<String, &Tensor> = net
        .params()
        .into_iter()
        .map(|(n, p)| (n, &p.value))
        .chain(net.buffers())
        .collect();
    let mut emitter = Emitter {
        values: &values,
        graph: GraphProto {
            name: Some("nn-rs".into()),
            input: vec![value_info(ONNX_INPUT, &spec.input)],
            output: vec![value_info(ONNX_OUTPUT, net.output_sample_shape())],
            ..GraphProto::default()
        },
    };
    let mut value = ONNX_INPUT.to_string();
    for (i, layer) in spec.layers.iter().enumerate() {
        value = emitter.layer(&i.to_string(), layer, value)?;
    }
    let mut graph = emitter.graph;
    // The last node's output is the graph's output.
    match graph.node.last_mut() {
        Some(last) if value != ONNX_INPUT => {
            for output in &mut last.output {
                if *output == value {
                    *output = ONNX_OUTPUT.into();
                }
            }
        }
        _ => graph.node.push(NodeProto {
            input: vec![value],
            output: vec![ONNX_OUTPUT.into()],
            name: Some("identity".into()),
            op_type: Some("Identity".into()),
            attribute: Vec::new(),
        }),
    }
    let model = ModelProto {
        ir_version: Some(ONNX_IR_VERSION),
        opset_import: vec![OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(ONNX_OPSET),
        }],
        producer_name: Some("nn-rs".into()),
        producer_version: Some(env!("CARGO_PKG_VERSION").into()),
        doc_string: Some(format!("{net}")),
        graph: Some(graph),
    };
    Ok(model.encode_to_vec())
}

/// Writes [`to_onnx`] to `path` atomically (temporary file, fsync, rename).
///
/// # Errors
/// As [`to_onnx`], or the file cannot be written.
pub fn save_onnx(net: &Sequential, path: &Path) -> Result<()> {
    let bytes = to_onnx(net)?;
    nn_atomic_write::write_atomically(path, &bytes)?;
    Ok(())
}

/// Adds the nodes of a network's layers to a graph, with their tensors as initialisers under
/// their state names.
struct Emitter<'a> {
    values: &'a HashMap<String, &'a Tensor>,
    graph: GraphProto,
}

impl Emitter<'_> {
    /// Adds the nodes of `layer`, whose state is named `path.…`, reading the value `input`;
    /// returns the name of its output value.
    fn layer(&mut self, path: &str, layer: &LayerSpec, input: String) -> Result<String> {
        match layer {
            LayerSpec::Sequential(layers) => {
                let mut value = input;
                for l in layers {
                    value = self.layer(&format!("{path}.{}", l.name), &l.layer, value)?;
                }
                Ok(value)
            }
            LayerSpec::Residual(r) => {
                let mut body = input.clone();
                for l in &r.body {
                    body = self.layer(&format!("{path}.{}", l.name), &l.layer, body)?;
                }
                let mut shortcut = input;
                for l in &r.shortcut {
                    let name = format!("{path}.shortcut.{}", l.name);
                    shortcut = self.layer(&name, &l.layer, shortcut)?;
                }
                let sum = self.node(path, "Add", vec![body, shortcut], Vec::new(), "sum");
                match &r.activation {
                    Some(a) => self.layer(&format!("{path}.activation"), a, sum),
                    None => Ok(sum),
                }
            }
            LayerSpec::GlobalAvgPooling => {
                let pooled =
                    self.node(path, "GlobalAveragePool", vec![input], Vec::new(), "pooled");
                let flat = vec![int("axis", 1)];
                Ok(self.node(path, "Flatten", vec![pooled], flat, "output"))
            }
            LayerSpec::Standardize { mean, std } => {
                let mut sub = vec![input];
                self.constant(path, "mean", 1, *mean, &mut sub);
                let centred = self.node(path, "Sub", sub, Vec::new(), "centred");
                let mut div = vec![centred];
                self.constant(path, "std", 1, *std, &mut div);
                Ok(self.node(path, "Div", div, Vec::new(), "output"))
            }
            LayerSpec::Custom(custom) => {
                let nodes = super::custom::lower(path, custom)?;
                let mut value = input;
                for (k, node) in nodes.into_iter().enumerate() {
                    let mut inputs = vec![value];
                    for w in &node.weights {
                        self.weight(path, w, &mut inputs)?;
                    }
                    let attributes = node.attributes.iter().map(onnx_attribute).collect();
                    let name = format!("{path}.{k}");
                    value = self.node(&name, &node.op, inputs, attributes, "output");
                }
                Ok(value)
            }
            leaf => {
                let mut inputs = vec![input];
                let (op, attributes) = self.leaf(path, leaf, &mut inputs)?;
                Ok(self.node(path, op, inputs, attributes, "output"))
            }
        }
    }

    /// Adds a node `path.op` and returns its output value `path.output_name`.
    fn node(
        &mut self,
        path: &str,
        op: &str,
        input: Vec<String>,
        attribute: Vec<AttributeProto>,
        output_name: &str,
    ) -> String {
        let output = format!("{path}.{output_name}");
        self.graph.node.push(NodeProto {
            input,
            output: vec![output.clone()],
            name: Some(format!("{path}.{op}")),
            op_type: Some(op.into()),
            attribute,
        });
        output
    }

    /// The operator and attributes of a layer that is one node; its tensors are added to the
    /// graph and to `inputs`.
    fn leaf(
        &mut self,
        path: &str,
        layer: &LayerSpec,
        inputs: &mut Vec<String>,
    ) -> Result<(&'static str, Vec<AttributeProto>)> {
        Ok(match layer {
            LayerSpec::Conv2D(c) => {
                self.weight(path, "weight", inputs)?;
                if c.bias {
                    self.weight(path, "bias", inputs)?;
                }
                let [ph, pw] = c.padding;
                (
                    "Conv",
                    vec![
                        ints("kernel_shape", &c.kernel),
                        ints("strides", &c.stride),
                        ints("pads", &[ph, pw, ph, pw]),
                        ints("dilations", &c.dilation),
                        int("group", c.groups as i64),
                    ],
                )
            }
            LayerSpec::Linear(c) => {
                self.weight(path, "weight", inputs)?;
                if c.bias {
                    self.weight(path, "bias", inputs)?;
                }
                ("Gemm", vec![int("transB", 1)])
            }
            LayerSpec::MaxPooling(c) => ("MaxPool", pool_attributes(c.kernel, c.stride)),
            LayerSpec::AvgPooling(c) => ("AveragePool", pool_attributes(c.kernel, c.stride)),
            LayerSpec::BatchNormalization(c) => {
                if c.affine {
                    self.weight(path, "weight", inputs)?;
                    self.weight(path, "bias", inputs)?;
                } else {
                    self.constant(path, "scale", c.num_features, 1.0, inputs);
                    self.constant(path, "shift", c.num_features, 0.0, inputs);
                }
                self.weight(path, "running_mean", inputs)?;
                self.weight(path, "running_var", inputs)?;
                ("BatchNormalization", vec![float("epsilon", c.eps)])
            }
            LayerSpec::Relu => ("Relu", Vec::new()),
            LayerSpec::LeakyRelu { slope } => ("LeakyRelu", vec![float("alpha", *slope)]),
            LayerSpec::Sigmoid => ("Sigmoid", Vec::new()),
            LayerSpec::Tanh => ("Tanh", Vec::new()),
            LayerSpec::Softmax => ("Softmax", vec![int("axis", 1)]),
            LayerSpec::Flatten => ("Flatten", vec![int("axis", 1)]),
            LayerSpec::Dropout { .. } => ("Identity", Vec::new()),
            other => {
                return Err(InteropError::Unsupported(format!(
                    "layer {path} ({}) has no ONNX equivalent this exporter knows",
                    other.kind()
                )));
            }
        })
    }

    /// Adds the tensor `path.name` (`weight`, `running_mean` ...) as an initialiser and an input.
    fn weight(&mut self, path: &str, name: &str, inputs: &mut Vec<String>) -> Result<()> {
        let full = format!("{path}.{name}");
        let t = self
            .values
            .get(&full)
            .ok_or_else(|| InteropError::Unsupported(format!("layer {path}: no tensor {full}")))?;
        self.graph
            .initializer
            .push(initializer(&full, t.shape(), t.iter().copied()));
        inputs.push(full);
        Ok(())
    }

    /// Adds a constant vector (batch norm without affine parameters, standardisation).
    fn constant(
        &mut self,
        path: &str,
        name: &str,
        len: usize,
        value: f32,
        inputs: &mut Vec<String>,
    ) {
        let full = format!("{path}.{name}");
        self.graph
            .initializer
            .push(initializer(&full, &[len], std::iter::repeat_n(value, len)));
        inputs.push(full);
    }
}

fn onnx_attribute(a: &super::custom::OnnxAttribute) -> AttributeProto {
    use super::custom::OnnxAttribute;
    match a {
        OnnxAttribute::Int(name, v) => int(name, *v),
        OnnxAttribute::Float(name, v) => float(name, *v),
        OnnxAttribute::Ints(name, v) => AttributeProto {
            ints: v.clone(),
            ..attribute(name, ATTRIBUTE_INTS)
        },
    }
}

fn initializer(name: &str, shape: &[usize], values: impl Iterator<Item = f32>) -> TensorProto {
    TensorProto {
        dims: shape.iter().map(|&d| d as i64).collect(),
        data_type: Some(DATA_TYPE_FLOAT),
        name: Some(name.into()),
        raw_data: Some(values.flat_map(f32::to_le_bytes).collect()),
    }
}

fn pool_attributes(kernel: [usize; 2], stride: [usize; 2]) -> Vec<AttributeProto> {
    vec![
        ints("kernel_shape", &kernel),
        ints("strides", &stride),
        ints("pads", &[0, 0, 0, 0]),
    ]
}

/// A float32 tensor value `(batch, sample...)`.
fn value_info(name: &str, sample: &[usize]) -> ValueInfoProto {
    let batch = Dimension {
        dim_value: None,
        dim_param: Some(ONNX_BATCH_DIM.into()),
    };
    let dims = sample.iter().map(|&d| Dimension {
        dim_value: Some(d as i64),
        dim_param: None,
    });
    ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(TypeProto {
            tensor_type: Some(TypeProtoTensor {
                elem_type: Some(DATA_TYPE_FLOAT),
                shape: Some(TensorShapeProto {
                    dim: std::iter::once(batch).chain(dims).collect(),
                }),
            }),
        }),
    }
}

fn attribute(name: &str, kind: i32) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(kind),
        ..AttributeProto::default()
    }
}

fn int(name: &str, value: i64) -> AttributeProto {
    AttributeProto {
        i: Some(value),
        ..attribute(name, ATTRIBUTE_INT)
    }
}

fn float(name: &str, value: f32) -> AttributeProto {
    AttributeProto {
        f: Some(value),
        ..attribute(name, ATTRIBUTE_FLOAT)
    }
}

fn ints(name: &str, values: &[usize]) -> AttributeProto {
    AttributeProto {
        ints: values.iter().map(|&v| v as i64).collect(),
        ..attribute(name, ATTRIBUTE_INTS)
    }
}
