//! Specs: every kind through JSON and the binary form and back, built and described again; the
//! checks on names and nesting; backward after an eval forward or a backward; layers of one's
//! own.

use core_tensor::random::seeded_rng;
use nn_layers::*;

/// One network with every kind of layer, containers nested.
fn every_kind() -> NetworkSpec {
    let conv =
        |cin, cout| LayerSpec::Conv2D(Conv2DConfig::new(cin, cout, [3, 3]).with_padding([1, 1]));
    NetworkSpec {
        input: vec![2, 8, 8],
        layers: vec![
            conv(2, 4),
            LayerSpec::Conv2D(
                Conv2DConfig::new(4, 4, [3, 3])
                    .with_padding([2, 2])
                    .with_dilation([2, 2])
                    .with_groups(4),
            ),
            LayerSpec::BatchNormalization(BatchNormConfig::new(4).with_momentum(0.2)),
            LayerSpec::LeakyRelu { slope: 0.1 },
            LayerSpec::Residual(ResidualSpec::basic_block(4, 4, 1)),
            LayerSpec::Residual(ResidualSpec::basic_block(4, 6, 2)),
            LayerSpec::Sequential(vec![
                NamedLayerSpec::new("conv", conv(6, 6)),
                NamedLayerSpec::new("act", LayerSpec::Sigmoid),
            ]),
            LayerSpec::MaxPooling(PoolConfig::new([2, 2]).with_stride([1, 1])),
            LayerSpec::AvgPooling(PoolConfig::new([2, 2])),
            LayerSpec::Tanh,
            LayerSpec::Standardize {
                mean: 0.25,
                std: 2.0,
            },
            LayerSpec::Relu,
            LayerSpec::GlobalAvgPooling,
            LayerSpec::Dropout { p: 0.25, seed: 3 },
            LayerSpec::Linear(LinearConfig::new(6, 5).with_bias(false)),
            LayerSpec::Softmax,
            LayerSpec::Flatten,
        ],
    }
}

#[test]
fn every_kind_round_trips_through_json_and_the_binary_form() {
    let spec = every_kind();
    let json = serde_json::to_string_pretty(&spec).unwrap();
    assert_eq!(serde_json::from_str::<NetworkSpec>(&json).unwrap(), spec);
    let config = bincode::config::standard();
    let bytes = bincode::serde::encode_to_vec(&spec, config).unwrap();
    let (back, _): (NetworkSpec, usize) =
        bincode::serde::decode_from_slice(&bytes, config).unwrap();
    assert_eq!(back, spec);
    // The built network describes itself as the spec it came from.
    let net = spec.build(&mut seeded_rng(0)).unwrap();
    assert_eq!(net.network_spec().unwrap(), spec);
    assert_eq!(net.output_sample_shape(), &[5]);
    let names: Vec<String> = net.params().into_iter().map(|(n, _)| n).collect();
    for name in ["4.conv1.weight", "5.shortcut.0.weight", "6.conv.bias"] {
        assert!(names.contains(&name.to_string()), "{name} in {names:?}");
    }
}

#[test]
fn json_defaults_are_pytorchs() {
    let layer: LayerSpec = serde_json::from_str(
        r#"{"type": "Conv2D", "in_channels": 3, "out_channels": 8, "kernel": [3, 3]}"#,
    )
    .unwrap();
    assert_eq!(layer, LayerSpec::Conv2D(Conv2DConfig::new(3, 8, [3, 3])));
    let pool: LayerSpec =
        serde_json::from_str(r#"{"type": "MaxPooling", "kernel": [3, 3]}"#).unwrap();
    assert_eq!(pool, LayerSpec::MaxPooling(PoolConfig::new([3, 3])));
}

#[test]
fn wrong_json_is_an_error_that_names_the_problem() {
    let cases = [
        (r#"{"type": "Conv3D"}"#, "unknown variant"),
        (
            r#"{"type": "Linear", "in_features": 3, "out_features": 2, "bias_": true}"#,
            "unknown field",
        ),
        (r#"{"type": "Linear", "in_features": 3}"#, "out_features"),
        (
            r#"{"type": "Sequential", "layers": [{"name": "a.b", "type": "Relu"}]}"#,
            "layer name",
        ),
        (
            r#"{"type": "Sequential", "layers": [{"name": "a", "type": "Relu"}, {"name": "a", "type": "Tanh"}]}"#,
            "two layers",
        ),
    ];
    for (json, expected) in cases {
        let err = serde_json::from_str::<LayerSpec>(json)
            .unwrap_err()
            .to_string();
        assert!(err.contains(expected), "{json}: {err}");
    }
}

/// A spec that nests `depth` Sequentials.
fn nested(depth: usize) -> LayerSpec {
    (0..depth).fold(LayerSpec::Relu, |inner, _| {
        LayerSpec::Sequential(NamedLayerSpec::numbered([inner]))
    })
}

#[test]
fn nesting_is_bounded_in_both_forms() {
    let config = bincode::config::standard();
    let ok = bincode::serde::encode_to_vec(nested(MAX_DEPTH - 1), config).unwrap();
    assert!(bincode::serde::decode_from_slice::<LayerSpec, _>(&ok, config).is_ok());
    let deep = bincode::serde::encode_to_vec(nested(MAX_DEPTH + 5), config).unwrap();
    let err = bincode::serde::decode_from_slice::<LayerSpec, _>(&deep, config).unwrap_err();
    assert!(err.to_string().contains("nest"), "{err}");
    let json = serde_json::to_string(&nested(MAX_DEPTH + 5)).unwrap();
    assert!(serde_json::from_str::<LayerSpec>(&json).is_err());
    // After an error the depth count starts again from zero.
    assert!(bincode::serde::decode_from_slice::<LayerSpec, _>(&ok, config).is_ok());
}

#[test]
fn backward_after_an_eval_forward_is_an_error_for_every_layer() {
    let spec = every_kind();
    let mut input = spec.input.clone();
    let mut rng = seeded_rng(1);
    for (i, layer) in spec.layers.iter().enumerate() {
        let mut built = layer.build(&input, &mut rng).unwrap();
        let shape: Vec<usize> = std::iter::once(2).chain(input.iter().copied()).collect();
        let n: usize = shape.iter().product();
        let values = (0..n).map(|v| (v % 7) as f32 * 0.3 - 0.9).collect();
        let x = Tensor::from_shape_vec(shape, values).unwrap();
        let y = built.forward(&x, Mode::Train).unwrap();
        built.backward(&Tensor::ones(y.raw_dim())).unwrap();
        built.forward(&x, Mode::Eval).unwrap();
        let err = built.backward(&Tensor::ones(y.raw_dim())).unwrap_err();
        assert!(
            err.to_string()
                .contains("before a forward pass in train mode"),
            "layer {i} ({}): {err}",
            built.describe()
        );
        input = built.output_shape(&input).unwrap();
    }
}

#[test]
fn a_convolution_takes_one_backward_pass_per_training_forward() {
    // Padded (the plan keeps a copy) and unpadded (the plan keeps the input itself): the same
    // rule for both.
    for padding in [[1, 1], [0, 0]] {
        let config = Conv2DConfig::new(2, 4, [3, 3]).with_padding(padding);
        let mut conv = LayerSpec::Conv2D(config)
            .build(&[2, 8, 8], &mut seeded_rng(3))
            .unwrap();
        let x = Tensor::from_shape_fn(vec![9, 2, 8, 8], |i| (i[3] as f32 - 3.5) * 0.1);
        let y = conv.forward(&x, Mode::Train).unwrap();
        let dy = Tensor::ones(y.raw_dim());
        let dx = conv.backward(&dy).unwrap();
        let err = conv.backward(&dy).unwrap_err();
        assert!(
            err.to_string()
                .contains("before a forward pass in train mode"),
            "{padding:?}: {err}"
        );
        conv.forward(&x, Mode::Train).unwrap();
        assert_eq!(conv.backward(&dy).unwrap(), dx, "{padding:?}");
    }
}

/// `y = factor · x`, a layer of a user's own.
#[derive(Debug)]
struct Scale {
    factor: f32,
    trained: bool,
}

impl Layer for Scale {
    fn describe(&self) -> String {
        format!("Scale({})", self.factor)
    }
    fn forward(&mut self, x: &Tensor, mode: Mode) -> Result<Tensor> {
        self.trained = mode == Mode::Train;
        Ok(x * self.factor)
    }
    fn backward(&mut self, grad: &Tensor) -> Result<Tensor> {
        if !self.trained {
            return Err(LayerError::BackwardBeforeForward {
                layer: self.describe(),
            });
        }
        Ok(grad * self.factor)
    }
    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        Ok(input.to_vec())
    }
    fn spec(&self) -> Option<LayerSpec> {
        CustomSpec::new("specs_test_scale", &self.factor)
            .ok()
            .map(LayerSpec::Custom)
    }
}

#[test]
fn a_registered_layer_is_built_from_its_spec_in_any_container() {
    registry::register_layer("specs_test_scale", |factor: f32, _| {
        Ok(Scale {
            factor,
            trained: false,
        })
    })
    .unwrap();
    let custom = Scale {
        factor: 3.0,
        trained: false,
    }
    .spec()
    .unwrap();
    let spec = NetworkSpec {
        input: vec![2],
        layers: vec![
            custom.clone(),
            LayerSpec::Residual(ResidualSpec {
                body: NamedLayerSpec::numbered([custom.clone()]),
                shortcut: Vec::new(),
                activation: None,
            }),
        ],
    };
    let json = serde_json::to_string(&spec).unwrap();
    assert!(
        json.contains(r#""kind":"specs_test_scale","config":3.0"#),
        "{json}"
    );
    let mut net = serde_json::from_str::<NetworkSpec>(&json)
        .unwrap()
        .build(&mut seeded_rng(0))
        .unwrap();
    let y = net.forward(&Tensor::ones(vec![1, 2]), Mode::Eval).unwrap();
    assert_eq!(y[[0, 0]], 3.0 * 3.0 + 3.0);
    assert_eq!(net.network_spec().unwrap(), spec);
    // A kind nobody registered, and built-in names, are errors that say what to do.
    let unknown = LayerSpec::Custom(CustomSpec::new("specs_test_nobody", &()).unwrap());
    let err = unknown
        .build(&[2], &mut seeded_rng(0))
        .unwrap_err()
        .to_string();
    assert!(err.contains("register_layer"), "{err}");
    assert!(registry::register_layer("Conv2D", |(): (), _| Ok(Relu::new())).is_err());
}
