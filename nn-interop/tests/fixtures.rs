//! Trained LeNet5, the seed's batch-norm network and a small ResNet, exported for the Python
//! clients.
//!
//! Writes, for each network, `NAME.safetensors`, `NAME.onnx` and `NAME.expected.json` (every
//! tensor's values, 100 MNIST test images and our eval-mode logits for them) into
//! `target/tmp/interop/` (Cargo's `CARGO_TARGET_TMPDIR`). `scripts/check_interop.py` then checks
//! them with numpy, safetensors and onnxruntime; `.ci/run` does both.

#![cfg(feature = "onnx")]

use nn_layers::NamedState;
use std::path::PathBuf;

use nn_data::{Dataset, Mnist, Normalization, bundled_mnist_dir};
use nn_interop::{load_safetensors, save_onnx, save_safetensors};
use nn_layers::{
    BatchNormConfig, Conv2DConfig, CustomSpec, Layer, LayerSpec, LinearConfig, Mode,
    NamedLayerSpec, NetworkSpec, Param, PoolConfig, ResidualSpec, Sequential, Tensor, models,
};
use nn_train::{FitConfig, Model, OptimizerKind, OptimizerSpec, Progress, argmax_rows};
use serde_json::{Value, json};

fn out_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("interop");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `spec` trained for one epoch on the first 2 000 training images (Adam 1e-3, batch 64).
fn trained(spec: NetworkSpec, train: &Dataset) -> Sequential {
    let adam = OptimizerSpec {
        kind: OptimizerKind::Adam,
        lr: 1e-3,
    };
    let mut model = Model::new(spec, adam, 7).unwrap();
    let config = FitConfig {
        epochs: 1,
        batch_size: 64,
        shuffle_seed: 7,
        progress: Progress::Quiet,
    };
    model.fit(train, None, &config, |_, _| Ok(())).unwrap();
    model.into_net()
}

fn tensor_json(t: &Tensor) -> Value {
    json!({"dtype": "F32", "shape": t.shape(), "values": t.iter().collect::<Vec<_>>()})
}

fn export(name: &str, net: &mut Sequential, images: &Tensor) {
    let dir = out_dir();
    let logits = net.forward(images, Mode::Eval).unwrap();
    let mut tensors = serde_json::Map::new();
    for (n, p) in net.params() {
        tensors.insert(n, tensor_json(&p.value));
    }
    for (n, b) in net.buffers() {
        tensors.insert(n, tensor_json(b));
    }
    for (n, c) in net.counters() {
        tensors.insert(n, json!({"dtype": "I64", "shape": [], "values": [c]}));
    }
    let expected = json!({
        "model": name,
        "tensors": tensors,
        "input": tensor_json(images),
        "logits": tensor_json(&logits),
        "predictions": argmax_rows(&logits),
    });
    let safetensors = dir.join(format!("{name}.safetensors"));
    save_safetensors(net, &safetensors).unwrap();
    save_onnx(net, &dir.join(format!("{name}.onnx"))).unwrap();
    std::fs::write(
        dir.join(format!("{name}.expected.json")),
        serde_json::to_vec(&expected).unwrap(),
    )
    .unwrap();

    // Round trip: a network with other weights, loaded from the file, predicts the same.
    let mut other = net
        .network_spec()
        .unwrap()
        .build(&mut core_tensor::random::seeded_rng(99))
        .unwrap();
    assert_ne!(other.forward(images, Mode::Eval).unwrap(), logits);
    load_safetensors(&mut other, &safetensors).unwrap();
    assert_eq!(other.forward(images, Mode::Eval).unwrap(), logits);
    assert_eq!(other.counters(), net.counters());
}

#[test]
fn trained_networks_are_exported_for_the_python_check() {
    let mnist = Mnist::load(&bundled_mnist_dir()).unwrap();
    let train = mnist.train.take(2_000);
    let indices: Vec<usize> = (0..100).collect();
    let images = mnist
        .test
        .batch(&indices, Normalization::Unit)
        .unwrap()
        .images
        .into_dyn();

    let mut lenet5 = trained(models::lenet5_spec(), &train);
    export("lenet5", &mut lenet5, &images);

    let mut bn = trained(models::seed_bn_net_spec(), &train);
    // Eval mode uses the running statistics: it must differ from train mode, or the check of
    // the exported inference form would not test them.
    let eval = bn.forward(&images, Mode::Eval).unwrap();
    assert_ne!(bn.forward(&images, Mode::Train).unwrap(), eval);
    assert_eq!(bn.counters()[0].1, 2_000_u64.div_ceil(64) + 1);
    export("seed_bn_net", &mut bn, &images);

    let mut residual = trained(residual_spec(), &train);
    export("residual", &mut residual, &images);
}

/// A small ResNet: a stem, a block with the identity shortcut, one with a projection, a nested
/// Sequential with named layers, global average pooling and a linear head. Its state names are
/// PyTorch's (`1.conv1.weight`, `2.shortcut.0.weight`, `3.conv.bias` ...).
fn residual_spec() -> NetworkSpec {
    use LayerSpec::*;
    NetworkSpec {
        input: vec![1, 28, 28],
        layers: vec![
            Conv2D(
                Conv2DConfig::new(1, 4, [3, 3])
                    .with_stride([2, 2])
                    .with_padding([1, 1]),
            ),
            Residual(ResidualSpec::basic_block(4, 4, 1)),
            Residual(ResidualSpec::basic_block(4, 8, 2)),
            Sequential(vec![
                NamedLayerSpec::new("conv", Conv2D(Conv2DConfig::new(8, 8, [1, 1]))),
                NamedLayerSpec::new("act", Relu),
            ]),
            GlobalAvgPooling,
            Linear(LinearConfig::new(8, 10)),
        ],
    }
}

/// Every layer kind with non-default settings (convolutions strided, dilated, grouped and
/// depthwise): the exporter's coverage beyond the two networks.
fn every_layer_spec() -> NetworkSpec {
    use LayerSpec::*;
    NetworkSpec {
        input: vec![1, 28, 28],
        layers: vec![
            Standardize {
                mean: 0.13,
                std: 0.31,
            },
            Conv2D(
                Conv2DConfig::new(1, 3, [3, 3])
                    .with_stride([2, 1])
                    .with_padding([1, 2]),
            ),
            Conv2D(
                Conv2DConfig::new(3, 6, [3, 3])
                    .with_padding([2, 2])
                    .with_dilation([2, 2])
                    .with_groups(3),
            ),
            Conv2D(
                Conv2DConfig::new(6, 6, [3, 3])
                    .with_padding([1, 1])
                    .with_groups(6)
                    .with_bias(false),
            ),
            BatchNormalization(BatchNormConfig::new(6).with_affine(false).with_eps(1e-3)),
            LeakyRelu { slope: 0.2 },
            MaxPooling(PoolConfig::new([2, 3]).with_stride([2, 2])),
            AvgPooling(PoolConfig::new([2, 2]).with_stride([1, 1])),
            Tanh,
            Flatten,
            Dropout { p: 0.3, seed: 4 },
            Linear(LinearConfig::new(468, 16).with_bias(false)),
            BatchNormalization(BatchNormConfig::new(16)),
            Sigmoid,
            Linear(LinearConfig::new(16, 10)),
            Relu,
            Custom(CustomSpec::new("fixture_scale", &()).unwrap()),
            Softmax,
        ],
    }
}

/// `y = a · x` with one learnable `a`: a layer of a user's own, exported as ONNX's `Mul`.
#[derive(Debug)]
struct Scale {
    a: Param,
}

impl Layer for Scale {
    fn describe(&self) -> String {
        "Scale".into()
    }
    fn forward(&mut self, x: &Tensor, _: Mode) -> nn_layers::Result<Tensor> {
        Ok(x * self.a.value[[0]])
    }
    fn backward(&mut self, grad: &Tensor) -> nn_layers::Result<Tensor> {
        Ok(grad * self.a.value[[0]])
    }
    fn output_shape(&self, input: &[usize]) -> nn_layers::Result<Vec<usize>> {
        Ok(input.to_vec())
    }
    fn spec(&self) -> Option<LayerSpec> {
        CustomSpec::new("fixture_scale", &())
            .ok()
            .map(LayerSpec::Custom)
    }
    fn visit<'a>(&'a self, visitor: &mut nn_layers::state::Visitor<'_, 'a>) {
        visitor("a", nn_layers::State::Param(&self.a));
    }
    fn visit_mut<'a>(&'a mut self, visitor: &mut nn_layers::state::VisitorMut<'_, 'a>) {
        visitor("a", nn_layers::StateMut::Param(&mut self.a));
    }
}

#[test]
fn every_layer_kind_is_exported_for_the_python_check() {
    nn_layers::registry::register_layer("fixture_scale", |(): (), _| {
        Ok(Scale {
            a: Param::new(Tensor::from_elem(vec![1], 0.75)),
        })
    })
    .unwrap();
    nn_interop::onnx::register_onnx_export("fixture_scale", |_| {
        Ok(vec![
            nn_interop::onnx::OnnxNode::new("Mul").with_weights(["a"]),
        ])
    })
    .unwrap();
    let mut net = every_layer_spec()
        .build(&mut core_tensor::random::seeded_rng(3))
        .unwrap();
    let images = Tensor::from_shape_fn(vec![100, 1, 28, 28], |i| {
        ((i[0] * 7 + i[2] * 3 + i[3] * 5) % 17) as f32 / 8.0 - 1.0
    });
    // Move the running statistics away from 0 and 1 with a few train-mode passes.
    for _ in 0..3 {
        net.forward(&images, Mode::Train).unwrap();
    }
    export("every_layer", &mut net, &images);
}
