//! The ONNX file read back with the same protobuf schema: the graph, its weights, its batch
//! dimension. (onnxruntime runs the files in CI: `scripts/check_interop.py`.)

#![cfg(feature = "onnx")]

use core_tensor::random::seeded_rng;
use nn_interop::onnx::proto::{ModelProto, NodeProto};
use nn_interop::{ONNX_OPSET, to_onnx};
use nn_layers::NamedState;
use nn_layers::{Sequential, Tensor, models};
use prost::Message;

fn decoded(net: &Sequential) -> ModelProto {
    ModelProto::decode(to_onnx(net).unwrap().as_slice()).unwrap()
}

fn ints(node: &NodeProto, name: &str) -> Vec<i64> {
    let a = node
        .attribute
        .iter()
        .find(|a| a.name.as_deref() == Some(name));
    a.unwrap_or_else(|| panic!("{name} missing")).ints.clone()
}

fn dims(v: &nn_interop::onnx::proto::ValueInfoProto) -> Vec<String> {
    let t = v.r#type.as_ref().unwrap().tensor_type.as_ref().unwrap();
    t.shape
        .as_ref()
        .unwrap()
        .dim
        .iter()
        .map(|d| match (&d.dim_param, d.dim_value) {
            (Some(p), _) => p.clone(),
            (None, Some(v)) => v.to_string(),
            (None, None) => "?".into(),
        })
        .collect()
}

#[test]
fn lenet5_becomes_one_node_per_layer_with_its_weights() {
    let net = models::lenet5(&mut seeded_rng(4)).unwrap();
    let model = decoded(&net);
    assert_eq!(model.opset_import[0].version, Some(ONNX_OPSET));
    let graph = model.graph.unwrap();
    let ops: Vec<&str> = graph
        .node
        .iter()
        .map(|n| n.op_type.as_deref().unwrap())
        .collect();
    assert_eq!(
        ops,
        [
            "Conv",
            "Relu",
            "AveragePool",
            "Conv",
            "Relu",
            "AveragePool",
            "Conv",
            "Relu",
            "Flatten",
            "Gemm",
            "Relu",
            "Gemm"
        ]
    );
    assert_eq!(dims(&graph.input[0]), ["batch", "1", "28", "28"]);
    assert_eq!(dims(&graph.output[0]), ["batch", "10"]);
    // Values flow from node to node, from the input to the output.
    assert_eq!(graph.node[0].input[0], "input");
    for pair in graph.node.windows(2) {
        assert_eq!(pair[1].input[0], pair[0].output[0]);
    }
    assert_eq!(graph.node.last().unwrap().output, ["output"]);
    // Conv 1: 5x5 kernel, padding 2 on every side; the weights are the parameters, bit for bit.
    assert_eq!(ints(&graph.node[0], "pads"), [2, 2, 2, 2]);
    assert_eq!(ints(&graph.node[0], "kernel_shape"), [5, 5]);
    assert_eq!(ints(&graph.node[2], "strides"), [2, 2]);
    let params = net.params();
    assert_eq!(graph.initializer.len(), params.len());
    for (init, (name, p)) in graph.initializer.iter().zip(params) {
        assert_eq!(init.name.as_deref(), Some(name.as_str()));
        let dims: Vec<usize> = init.dims.iter().map(|&d| d as usize).collect();
        assert_eq!(dims, p.value.shape());
        let values: Vec<f32> = init
            .raw_data
            .as_ref()
            .unwrap()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        assert_eq!(
            values,
            p.value.iter().copied().collect::<Vec<_>>(),
            "{name}"
        );
    }
    // The same network gives the same bytes.
    assert_eq!(to_onnx(&net).unwrap(), to_onnx(&net).unwrap());
}

#[test]
fn batch_norm_exports_its_running_statistics() {
    let net = models::seed_bn_net(&mut seeded_rng(4)).unwrap();
    let graph = decoded(&net).graph.unwrap();
    let bn = &graph.node[2];
    assert_eq!(bn.op_type.as_deref(), Some("BatchNormalization"));
    assert_eq!(
        bn.input[1..],
        ["2.weight", "2.bias", "2.running_mean", "2.running_var"]
    );
    let eps = bn
        .attribute
        .iter()
        .find(|a| a.name.as_deref() == Some("epsilon"));
    assert_eq!(eps.unwrap().f, Some(1e-5));
}

#[test]
fn a_nested_network_exports_under_its_path_names() {
    let inner = models::lenet5(&mut seeded_rng(0)).unwrap();
    let outer = Sequential::new(&[1, 28, 28]).add(inner).unwrap();
    let graph = decoded(&outer).graph.unwrap();
    assert_eq!(graph.node[0].input, ["input", "0.0.weight", "0.0.bias"]);
    assert_eq!(graph.node.last().unwrap().output, ["output"]);
    assert_eq!(graph.initializer.len(), 10);
}

/// A layer of a user's own without an ONNX form.
#[derive(Debug)]
struct Mystery;

impl nn_layers::Layer for Mystery {
    fn describe(&self) -> String {
        "Mystery".into()
    }
    fn forward(&mut self, x: &Tensor, _: nn_layers::Mode) -> nn_layers::Result<Tensor> {
        Ok(x.clone())
    }
    fn backward(&mut self, g: &Tensor) -> nn_layers::Result<Tensor> {
        Ok(g.clone())
    }
    fn output_shape(&self, input: &[usize]) -> nn_layers::Result<Vec<usize>> {
        Ok(input.to_vec())
    }
    fn spec(&self) -> Option<nn_layers::LayerSpec> {
        nn_layers::CustomSpec::new("onnx_test_mystery", &())
            .ok()
            .map(nn_layers::LayerSpec::Custom)
    }
}

#[test]
fn a_layer_without_an_onnx_form_is_refused_naming_it_and_the_fix() {
    let net = Sequential::new(&[3]).add(Mystery).unwrap();
    let err = to_onnx(&net).unwrap_err().to_string();
    assert!(
        err.contains("layer 0") && err.contains("register_onnx_export"),
        "{err}"
    );
}
