//! Train and eval modes, bad input, and independence of networks.

use core_tensor::random::seeded_rng;
use nn_layers::*;

fn ones(shape: &[usize]) -> Tensor {
    ndarray::ArrayD::ones(shape)
}

fn ramp(shape: &[usize]) -> Tensor {
    let n: usize = shape.iter().product();
    ndarray::ArrayD::from_shape_vec(
        shape,
        (0..n).map(|i| (i % 13) as f32 / 13.0 - 0.4).collect(),
    )
    .unwrap()
}

#[test]
fn dropout_drops_in_train_and_is_identity_in_eval() {
    let mut d = Dropout::new(0.5, 7).unwrap();
    let x = ones(&[64, 100]);
    let eval = d.forward(&x, Mode::Eval).unwrap();
    assert_eq!(eval, x);
    let train = d.forward(&x, Mode::Train).unwrap();
    let zeros = train.iter().filter(|&&v| v == 0.0).count();
    assert!((2800..3600).contains(&zeros), "{zeros} of 6400 dropped");
    assert!(train.iter().all(|&v| v == 0.0 || v == 2.0));
    // The gradient flows through the kept elements only, scaled alike.
    let dx = d.backward(&ones(&[64, 100])).unwrap();
    assert_eq!(dx, train);
    // Same seed, same mask; the next call draws a new one.
    let mut again = Dropout::new(0.5, 7).unwrap();
    assert_eq!(again.forward(&x, Mode::Train).unwrap(), train);
    assert_ne!(again.forward(&x, Mode::Train).unwrap(), train);
    assert!(Dropout::new(1.0, 0).is_err());
}

#[test]
fn dropout_masks_come_from_the_dropout_stream_of_their_seed() {
    use core_tensor::random::{RngCore, seeded_stream, streams};
    // Dropout(p = 0.5) drops an element when the top 24 bits of its word are below 2^23, i.e.
    // when the word's top bit is clear.
    let mask_of = |mut rng: core_tensor::random::SeededRng| -> Vec<bool> {
        (0..256).map(|_| rng.next_u32() >> 31 == 0).collect()
    };
    let mut d = Dropout::new(0.5, 42).unwrap();
    let dropped: Vec<bool> = d
        .forward(&ones(&[256]), Mode::Train)
        .unwrap()
        .iter()
        .map(|&v| v == 0.0)
        .collect();
    assert_eq!(dropped, mask_of(seeded_stream(42, streams::DROPOUT)));
    // Not the words the initialiser draws from the same seed.
    assert_ne!(dropped, mask_of(seeded_rng(42)));
}

#[test]
fn batch_norm_uses_batch_statistics_in_train_and_running_ones_in_eval() {
    let mut bn = BatchNormConfig::new(2).init().unwrap();
    let x = ramp(&[4, 2, 3, 3]).mapv(|v| v * 5.0 + 3.0);
    let train = bn.forward(&x, Mode::Train).unwrap();
    // Batch statistics: each channel of the output has mean 0.
    for c in 0..2 {
        let ch = train.index_axis(ndarray::Axis(1), c);
        assert!(ch.mean().unwrap().abs() < 1e-5);
    }
    // Eval after one step: running mean = 0.1 * batch mean, so the output is far from mean 0.
    let eval = bn.forward(&x, Mode::Eval).unwrap();
    assert!(eval.index_axis(ndarray::Axis(1), 0).mean().unwrap() > 1.0);
    assert_ne!(train, eval);
    // Eval mode does not move the running statistics, nor count a batch.
    let before = bn.running_mean().clone();
    bn.forward(&x, Mode::Eval).unwrap();
    assert_eq!(&before, bn.running_mean());
    assert_eq!(bn.num_batches_tracked(), 1);
    bn.forward(&x, Mode::Train).unwrap();
    assert_eq!(bn.counters(), [("num_batches_tracked".to_string(), 2)]);
    bn.set_counter("num_batches_tracked", 7).unwrap();
    assert_eq!(bn.num_batches_tracked(), 7);
    assert!(bn.set_counter("steps", 1).is_err());
}

#[test]
fn every_layer_describes_itself_as_a_spec_that_rebuilds_it() {
    let spec = NetworkSpec {
        input: vec![2, 8, 8],
        layers: vec![
            LayerSpec::Conv2D(
                Conv2DConfig::new(2, 3, [3, 3])
                    .with_padding([1, 1])
                    .with_stride([2, 1]),
            ),
            LayerSpec::BatchNormalization(BatchNormConfig::new(3).with_eps(1e-3)),
            LayerSpec::LeakyRelu { slope: 0.2 },
            LayerSpec::MaxPooling(PoolConfig::new([2, 2])),
            LayerSpec::AvgPooling(PoolConfig::new([2, 2]).with_stride([1, 1])),
            LayerSpec::Tanh,
            LayerSpec::Flatten,
            LayerSpec::Dropout { p: 0.25, seed: 9 },
            LayerSpec::Linear(LinearConfig::new(9, 4).with_bias(false)),
            LayerSpec::Sigmoid,
            LayerSpec::Relu,
            LayerSpec::Softmax,
        ],
    };
    let net = spec.build(&mut seeded_rng(1)).unwrap();
    assert_eq!(net.network_spec().unwrap(), spec);
    assert_eq!(
        models::lenet5(&mut seeded_rng(0))
            .unwrap()
            .network_spec()
            .unwrap(),
        models::lenet5_spec()
    );
    // A nested network has a spec, which builds the same network again.
    let nested = Sequential::new(&[2, 8, 8]).add(net).unwrap();
    let nested_spec = nested.network_spec().unwrap();
    assert_eq!(
        nested_spec.layers,
        vec![LayerSpec::Sequential(NamedLayerSpec::numbered(spec.layers))]
    );
    let rebuilt = nested_spec.build(&mut seeded_rng(1)).unwrap();
    assert_eq!(rebuilt.params().len(), nested.params().len());
    assert_eq!(rebuilt.params()[0].0, "0.0.weight");
}

#[test]
fn shape_mismatch_in_sequential_names_layer_and_shapes() {
    let rng = &mut seeded_rng(0);
    let err = Sequential::new(&[1, 28, 28])
        .add(Conv2DConfig::new(1, 6, [5, 5]).init(rng).unwrap())
        .unwrap()
        .add(Conv2DConfig::new(3, 8, [3, 3]).init(rng).unwrap())
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("layer 1") && msg.contains("Conv2D(3, 8") && msg.contains("[6, 24, 24]"),
        "{msg}"
    );
}

#[test]
fn wrong_input_rank_and_shape_are_errors() {
    let mut net = models::lenet5(&mut seeded_rng(0)).unwrap();
    let msg = net
        .forward(&ones(&[4, 28, 28]), Mode::Train)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("(N, 1, 28, 28)") && msg.contains("[4, 28, 28]"),
        "{msg}"
    );
    assert!(net.forward(&ones(&[4, 1, 32, 32]), Mode::Train).is_err());
    let mut lin = LinearConfig::new(4, 2).init(&mut seeded_rng(0)).unwrap();
    let msg = lin
        .forward(&ones(&[3, 5]), Mode::Train)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("(N, 4)") && msg.contains("[3, 5]"), "{msg}");
    let mut conv = Conv2DConfig::new(2, 2, [3, 3])
        .init(&mut seeded_rng(0))
        .unwrap();
    assert!(conv.forward(&ones(&[1, 2, 2, 2]), Mode::Train).is_err()); // kernel larger than input
    assert!(conv.forward(&ones(&[1, 3, 5, 5]), Mode::Train).is_err()); // channels
}

#[test]
fn backward_before_forward_is_an_error() {
    let rng = &mut seeded_rng(0);
    let mut layers: Vec<Box<dyn Layer>> = vec![
        Box::new(Conv2DConfig::new(1, 1, [2, 2]).init(rng).unwrap()),
        Box::new(LinearConfig::new(2, 2).init(rng).unwrap()),
        Box::new(PoolConfig::new([2, 2]).max().unwrap()),
        Box::new(PoolConfig::new([2, 2]).avg().unwrap()),
        Box::new(BatchNormConfig::new(2).init().unwrap()),
        Box::new(Relu::new()),
        Box::new(Softmax::new()),
        Box::new(Flatten::new()),
        Box::new(Dropout::new(0.1, 0).unwrap()),
    ];
    for layer in &mut layers {
        let err = layer.backward(&ones(&[1, 2])).unwrap_err();
        assert!(
            err.to_string()
                .contains("backward called before a forward pass"),
            "{}: {err}",
            layer.describe()
        );
    }
    // Eval mode keeps nothing either.
    let mut relu = Relu::new();
    relu.forward(&ones(&[1, 2]), Mode::Eval).unwrap();
    assert!(relu.backward(&ones(&[1, 2])).is_err());
    // Nor does a convolution's eval forward after a training one: its backward would otherwise
    // use the training input.
    let mut conv = Conv2DConfig::new(1, 2, [2, 2]).init(rng).unwrap();
    let y = conv.forward(&ones(&[1, 1, 3, 3]), Mode::Train).unwrap();
    assert!(conv.backward(&y).is_ok());
    conv.forward(&ones(&[1, 1, 3, 3]), Mode::Eval).unwrap();
    let err = conv.backward(&y).unwrap_err();
    assert!(
        err.to_string()
            .contains("backward called before a forward pass"),
        "{err}"
    );
}

#[test]
fn gradient_of_the_wrong_shape_is_an_error() {
    let mut lin = LinearConfig::new(3, 2).init(&mut seeded_rng(0)).unwrap();
    lin.forward(&ones(&[4, 3]), Mode::Train).unwrap();
    let msg = lin.backward(&ones(&[4, 3])).unwrap_err().to_string();
    assert!(msg.contains("[4, 3]") && msg.contains("[4, 2]"), "{msg}");
}

#[test]
fn label_out_of_range_is_an_error() {
    let logits = ones(&[2, 10]);
    let err = CrossEntropyLoss::new()
        .forward(&logits, &[3, 10])
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("label 10 at index 1 is outside 0..10"),
        "{err}"
    );
    assert!(CrossEntropyLoss::new().forward(&logits, &[3]).is_err());
    assert!(MseLoss::new().forward(&logits, &ones(&[2, 9])).is_err());
}

#[test]
fn cross_entropy_is_stable_for_huge_logits() {
    let logits = ndarray::arr2(&[[1000.0_f32, -1000.0, 0.0], [-1000.0, 1000.0, 1000.0]]).into_dyn();
    let out = CrossEntropyLoss::new().forward(&logits, &[0, 2]).unwrap();
    assert!(
        out.loss.is_finite() && (out.loss - 2f32.ln() / 2.0).abs() < 1e-5,
        "{}",
        out.loss
    );
    assert!(out.grad.iter().all(|v| v.is_finite()));
}

#[test]
fn two_networks_share_nothing() {
    let mut a = models::lenet5(&mut seeded_rng(1)).unwrap();
    let b = models::lenet5(&mut seeded_rng(1)).unwrap();
    let x = ramp(&[2, 1, 28, 28]);
    let y = a.forward(&x, Mode::Train).unwrap();
    a.backward(&ones(y.shape())).unwrap();
    for ((_, pa), (_, pb)) in a.params().into_iter().zip(b.params()) {
        assert_eq!(pa.value, pb.value);
        assert!(pb.grad.iter().all(|&g| g == 0.0));
    }
    assert!(
        a.params()
            .iter()
            .any(|(_, p)| p.grad.iter().any(|&g| g != 0.0))
    );
}

#[test]
fn summary_lists_layers_shapes_and_counts() {
    let net = models::lenet5(&mut seeded_rng(0)).unwrap();
    let s = net.to_string();
    assert!(
        s.contains("Conv2D(1, 6, kernel=(5, 5), padding=(2, 2))"),
        "{s}"
    );
    assert!(
        s.contains("(N, 6, 28, 28)") && s.contains("(N, 120, 1, 1)") && s.contains("(N, 10)"),
        "{s}"
    );
    assert!(s.contains("Trainable parameters: 61706"), "{s}");
    assert!(
        s.lines()
            .any(|l| l.trim_start().starts_with("9 ") && l.trim_end().ends_with("10164")),
        "{s}"
    );
}

#[test]
fn in_place_forward_equals_the_borrowing_one() {
    let x = ramp(&[3, 2, 4, 4]);
    let layers = || -> [Box<dyn Layer>; 2] {
        [
            Box::new(Relu::new()),
            Box::new(nn_layers::Standardize::new(0.25, 0.75).unwrap()),
        ]
    };
    for mode in [Mode::Train, Mode::Eval] {
        for (mut a, mut b) in layers().into_iter().zip(layers()) {
            let ya = a.forward(&x, mode).unwrap();
            let mut ws = nn_layers::Workspace::new();
            let yb = b.forward_owned(x.clone(), mode, &mut ws).unwrap();
            assert_eq!(ya, yb, "{}", a.describe());
            let g = ramp(&[3, 2, 4, 4]);
            if mode == Mode::Train {
                let gb = b.backward_owned(g.clone(), &mut ws).unwrap();
                assert_eq!(a.backward(&g).unwrap(), gb, "{}", a.describe());
            } else {
                assert!(b.backward_owned(g, &mut ws).is_err(), "{}", a.describe());
            }
        }
    }
}

#[test]
fn sequentials_nest_with_path_names() {
    let rng = &mut seeded_rng(2);
    let block = Sequential::new(&[1, 6, 6])
        .add(Conv2DConfig::new(1, 2, [3, 3]).init(rng).unwrap())
        .unwrap()
        .add(BatchNormConfig::new(2).init().unwrap())
        .unwrap();
    let mut net = Sequential::new(&[1, 6, 6])
        .add(block)
        .unwrap()
        .add(Flatten::new())
        .unwrap()
        .add(LinearConfig::new(32, 3).init(rng).unwrap())
        .unwrap();
    let names: Vec<String> = net.params().into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        [
            "0.0.weight",
            "0.0.bias",
            "0.1.weight",
            "0.1.bias",
            "2.weight",
            "2.bias"
        ]
    );
    assert_eq!(net.buffers()[1].0, "0.1.running_var");
    let y = net.forward(&ramp(&[2, 1, 6, 6]), Mode::Train).unwrap();
    assert_eq!(y.shape(), &[2, 3]);
    assert_eq!(net.backward(&ones(&[2, 3])).unwrap().shape(), &[2, 1, 6, 6]);
    // A nested network built for another input shape is refused.
    let other = Sequential::new(&[3, 6, 6]);
    assert!(Sequential::new(&[1, 6, 6]).add(other).is_err());
}

#[test]
fn eval_in_slices_equals_sample_by_sample_and_train_mode_is_whole() {
    let mut net = models::seed_bn_net(&mut seeded_rng(5)).unwrap();
    let n = 2 * EVAL_SLICE + 37;
    let x = ramp(&[n, 1, 28, 28]);
    net.forward(&x.mapv(|v| v * 3.0), Mode::Train).unwrap(); // move the running statistics
    let whole = net.forward(&x, Mode::Eval).unwrap();
    assert_eq!(whole.shape(), &[n, 10]);
    for i in [0, EVAL_SLICE - 1, EVAL_SLICE, n - 1] {
        let one = x
            .slice_axis(ndarray::Axis(0), ndarray::Slice::from(i..i + 1))
            .to_owned();
        let y = net.forward(&one, Mode::Eval).unwrap();
        assert_eq!(
            y.slice(ndarray::s![0, ..]),
            whole.slice(ndarray::s![i, ..]),
            "sample {i}"
        );
    }
    // The owned and borrowed forms agree, and a wrong input is still refused up front.
    assert_eq!(
        net.forward_owned(x.clone(), Mode::Eval, &mut nn_layers::Workspace::new())
            .unwrap(),
        whole
    );
    assert!(net.forward(&ramp(&[n, 2, 28, 28]), Mode::Eval).is_err());
}

#[test]
fn configs_out_of_range_are_errors_not_panics_or_aborts() {
    use nn_layers::{BatchNormConfig, Conv2DConfig, LayerError, LinearConfig, PoolConfig};
    let mut rng = core_tensor::random::seeded_rng(0);
    let conv = |c: Conv2DConfig| c.init(&mut core_tensor::random::seeded_rng(0)).map(|_| ());
    for bad in [
        Conv2DConfig::new(1, 1 << 62, [5, 5]),
        Conv2DConfig::new(1, 1 << 33, [5, 5]),
        Conv2DConfig::new(1 << 20, 1 << 20, [5, 5]),
        Conv2DConfig::new(1, 6, [5, 5]).with_padding([(1 << 63) + 2, 2]),
        Conv2DConfig::new(1, 6, [0, 5]),
        Conv2DConfig::new(1, 6, [5, 5]).with_stride([0, 1]),
        Conv2DConfig::new(1, 6, [5, 5]).with_dilation([1, 0]),
        Conv2DConfig::new(4, 6, [5, 5]).with_groups(4),
        Conv2DConfig::new(4, 6, [5, 5]).with_groups(0),
    ] {
        let e = conv(bad).unwrap_err();
        assert!(matches!(e, LayerError::Config { .. }), "{bad:?}: {e}");
    }
    for bad in [
        LinearConfig::new(usize::MAX, 2),
        LinearConfig::new(2, 1 << 31),
        LinearConfig::new(1 << 20, 1 << 20),
        LinearConfig::new(0, 2),
    ] {
        assert!(bad.init(&mut rng).is_err(), "{bad:?}");
    }
    assert!(BatchNormConfig::new(1 << 40).init().is_err());
    assert!(PoolConfig::new([usize::MAX, 2]).max().is_err());
    // The spec says so before anything is built.
    let spec = NetworkSpec {
        input: vec![1, 28, 28],
        layers: vec![LayerSpec::Linear(LinearConfig::new(usize::MAX, 2))],
    };
    let e = spec.state_shapes().unwrap_err().to_string();
    assert!(e.contains("layer 0") && e.contains("in_features"), "{e}");
    let spec = NetworkSpec {
        input: vec![1 << 40, 28],
        layers: vec![LayerSpec::Flatten],
    };
    assert!(spec.state_shapes().is_err() && spec.build(&mut rng).is_err());
}

#[test]
fn relu_keeps_nan_as_pytorch_does_and_passes_no_gradient_through_it() {
    let x = Tensor::from_shape_vec(vec![1, 4], vec![f32::NAN, -1.0, 0.0, 2.0]).unwrap();
    let mut relu = Relu::new();
    for y in [
        relu.forward(&x, Mode::Eval).unwrap(),
        relu.forward_owned(x.clone(), Mode::Eval, &mut nn_layers::Workspace::new())
            .unwrap(),
        relu.forward(&x, Mode::Train).unwrap(),
    ] {
        assert!(y[[0, 0]].is_nan());
        assert_eq!(
            y.iter().skip(1).copied().collect::<Vec<_>>(),
            [0.0, 0.0, 2.0]
        );
    }
    let dx = relu.backward(&Tensor::ones(vec![1, 4])).unwrap();
    assert_eq!(dx.iter().copied().collect::<Vec<_>>(), [0.0, 0.0, 0.0, 1.0]);
}

#[test]
fn nan_propagates_through_every_layer_of_lenet5() {
    let mut net = nn_layers::models::lenet5(&mut core_tensor::random::seeded_rng(0)).unwrap();
    let mut x = Tensor::zeros(vec![2, 1, 28, 28]);
    x[[0, 0, 14, 14]] = f32::NAN;
    let y = net.forward(&x, Mode::Train).unwrap();
    assert!(
        y.index_axis(ndarray::Axis(0), 0).iter().all(|v| v.is_nan()),
        "{y}"
    );
    assert!(
        y.index_axis(ndarray::Axis(0), 1)
            .iter()
            .all(|v| v.is_finite()),
        "{y}"
    );
}
