//! Any configuration and any input: a layer is built or refused, and its forward and backward
//! passes return a value or an error, never a panic (sizes huge, zero, or larger than the input).

use nn_layers::{Conv2DConfig, Layer, LinearConfig, Mode, PoolConfig, Tensor};
use proptest::prelude::*;

/// Small sizes mostly, now and then one past a limit (refused by the configuration). None that
/// a test machine would have to allocate.
fn size(least: usize) -> impl Strategy<Value = usize> {
    prop_oneof![
        4 => least..6_usize,
        1 => prop::sample::select(vec![0, (1 << 24) + 1, 1 << 40, (1 << 63) + 2, usize::MAX]),
    ]
}

/// A padding: as [`size`], or a valid one whose padded plane has 2^40 elements (refused by the
/// kernel before it allocates).
fn padding() -> impl Strategy<Value = usize> {
    prop_oneof![4 => size(0), 1 => Just(1_usize << 20)]
}

fn input() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(0..7_usize, 1..6)
}

/// Forward in both modes, then backward with a gradient of ones: whatever each returns.
fn exercise(layer: &mut dyn Layer, shape: &[usize]) {
    let x = Tensor::from_elem(shape.to_vec(), 0.5);
    let _ = layer.forward(&x, Mode::Eval);
    if let Ok(y) = layer.forward(&x, Mode::Train) {
        let grad = Tensor::ones(y.shape().to_vec());
        let _ = layer.backward(&grad);
    }
    let _ = layer.output_shape(shape.get(1..).unwrap_or(&[]));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn conv2d_never_panics(
        c in size(1), f in size(1), k in (size(1), size(1)), s in (size(1), size(1)),
        p in (padding(), padding()), d in (size(1), size(1)), groups in size(1),
        bias in any::<bool>(), shape in input(),
    ) {
        let config = Conv2DConfig::new(c, f, [k.0, k.1])
            .with_stride([s.0, s.1])
            .with_padding([p.0, p.1])
            .with_dilation([d.0, d.1])
            .with_groups(groups)
            .with_bias(bias);
        if let Ok(mut conv) = config.init(&mut core_tensor::random::seeded_rng(0)) {
            exercise(&mut conv, &shape);
        }
    }

    #[test]
    fn pooling_never_panics(k in (size(1), size(1)), s in (size(1), size(1)), shape in input()) {
        let config = PoolConfig::new([k.0, k.1]).with_stride([s.0, s.1]);
        if let Ok(mut pool) = config.max() {
            exercise(&mut pool, &shape);
        }
        if let Ok(mut pool) = config.avg() {
            exercise(&mut pool, &shape);
        }
    }

    #[test]
    fn linear_never_panics(i in size(1), o in size(1), shape in input()) {
        if let Ok(mut linear) = LinearConfig::new(i, o).init(&mut core_tensor::random::seeded_rng(0)) {
            exercise(&mut linear, &shape);
        }
    }
}
