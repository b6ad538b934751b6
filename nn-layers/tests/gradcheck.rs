//! `gradcheck` on every layer with parameters and every activation, in train mode with a batch,
//! and a deliberately wrong layer that it must catch.

use core_tensor::random::seeded_rng;
use nn_layers::*;

const TOL: f64 = 2e-3;

/// Inputs in [-1, 1] spaced so that no value is within 1e-3 of zero or of another (ReLU kinks,
/// max-pooling ties): (i + 1/4) / n · 2 - 1 is never 0.
fn input(shape: &[usize], seed: u64) -> Tensor {
    let n: usize = shape.iter().product();
    let mut values: Vec<f32> = (0..n)
        .map(|i| (i as f32 + 0.25) / n as f32 * 2.0 - 1.0)
        .collect();
    // A fixed shuffle so neighbours differ.
    let mut rng = seeded_rng(seed);
    for i in (1..n).rev() {
        let j = core_tensor::random::uniform_below(&mut rng, i as u64 + 1).unwrap() as usize;
        values.swap(i, j);
    }
    ndarray::ArrayD::from_shape_vec(shape, values).unwrap()
}

fn check(layer: &mut dyn Layer, shape: &[usize]) {
    let report = gradcheck(layer, &input(shape, 5), &GradCheckOptions::default()).unwrap();
    assert!(report.worst() < TOL, "{}: {report:?}", layer.describe());
}

#[test]
fn layers_with_parameters() {
    let rng = &mut seeded_rng(3);
    check(
        &mut Conv2DConfig::new(2, 3, [3, 2])
            .with_stride([2, 1])
            .with_padding([1, 1])
            .init(rng)
            .unwrap(),
        &[3, 2, 5, 4],
    );
    check(
        &mut Conv2DConfig::new(1, 2, [2, 2])
            .with_bias(false)
            .init(rng)
            .unwrap(),
        &[2, 1, 4, 4],
    );
    check(
        &mut Conv2DConfig::new(2, 4, [3, 3])
            .with_padding([2, 1])
            .with_dilation([2, 1])
            .with_groups(2)
            .init(rng)
            .unwrap(),
        &[2, 2, 6, 5],
    );
    // Depthwise with a channel multiplier, rows wide enough for the direct kernels.
    check(
        &mut Conv2DConfig::new(2, 4, [3, 3])
            .with_padding([1, 1])
            .with_groups(2)
            .init(rng)
            .unwrap(),
        &[2, 2, 3, 17],
    );
    check(&mut LinearConfig::new(5, 3).init(rng).unwrap(), &[4, 5]);
    check(&mut BatchNormConfig::new(3).init().unwrap(), &[4, 3, 2, 2]);
    check(&mut BatchNormConfig::new(4).init().unwrap(), &[6, 4]);
}

#[test]
fn activations_and_shape_layers() {
    check(&mut Relu::new(), &[3, 7]);
    check(&mut LeakyRelu::new(0.1).unwrap(), &[3, 7]);
    check(&mut Sigmoid::new(), &[3, 7]);
    check(&mut Tanh::new(), &[3, 7]);
    check(&mut Softmax::new(), &[3, 7]);
    check(&mut Flatten::new(), &[2, 3, 2, 2]);
    check(&mut PoolConfig::new([2, 2]).max().unwrap(), &[2, 2, 4, 6]);
    check(
        &mut PoolConfig::new([3, 3]).with_stride([2, 1]).max().unwrap(),
        &[2, 1, 7, 5],
    );
    check(&mut PoolConfig::new([2, 2]).avg().unwrap(), &[2, 2, 4, 6]);
}

#[test]
fn whole_networks() {
    let rng = &mut seeded_rng(9);
    // No bias before batch norm: its gradient is exactly zero, and a relative error of zero
    // against rounding noise means nothing.
    let mut net = Sequential::new(&[1, 8, 8])
        .add(
            Conv2DConfig::new(1, 2, [3, 3])
                .with_padding([1, 1])
                .with_bias(false)
                .init(rng)
                .unwrap(),
        )
        .unwrap()
        .add(PoolConfig::new([2, 2]).max().unwrap())
        .unwrap()
        .add(BatchNormConfig::new(2).init().unwrap())
        .unwrap()
        .add(Tanh::new())
        .unwrap()
        .add(Flatten::new())
        .unwrap()
        .add(LinearConfig::new(32, 3).init(rng).unwrap())
        .unwrap();
    check(&mut net, &[3, 1, 8, 8]);
}

/// Linear, but its weight gradient is 1 % too large.
#[derive(Debug)]
struct OffByOnePercent(Linear);

impl Layer for OffByOnePercent {
    fn describe(&self) -> String {
        "OffByOnePercent".into()
    }
    fn forward(&mut self, x: &Tensor, mode: Mode) -> nn_layers::Result<Tensor> {
        self.0.forward(x, mode)
    }
    fn backward(&mut self, grad: &Tensor) -> nn_layers::Result<Tensor> {
        let before = self.0.params()[0].1.grad.clone();
        let dx = self.0.backward(grad)?;
        let p = self.0.params_mut().into_iter().next().unwrap().1;
        p.grad = &before + &((&p.grad - &before) * 1.01);
        Ok(dx)
    }
    fn output_shape(&self, input: &[usize]) -> nn_layers::Result<Vec<usize>> {
        self.0.output_shape(input)
    }
    fn visit<'a>(&'a self, visitor: &mut nn_layers::state::Visitor<'_, 'a>) {
        self.0.visit(visitor);
    }
    fn visit_mut<'a>(&'a mut self, visitor: &mut nn_layers::state::VisitorMut<'_, 'a>) {
        self.0.visit_mut(visitor);
    }
}

#[test]
fn a_gradient_off_by_one_percent_fails() {
    let mut layer = OffByOnePercent(LinearConfig::new(5, 3).init(&mut seeded_rng(1)).unwrap());
    let report = gradcheck(&mut layer, &input(&[4, 5], 2), &GradCheckOptions::default()).unwrap();
    assert!(
        report.params[0].1 > TOL,
        "the wrong weight gradient went unnoticed: {report:?}"
    );
    assert!(report.params[1].1 < TOL && report.input < TOL, "{report:?}");
}

/// Residual blocks (identity and projection shortcut, batch norm in train mode inside) and global
/// average pooling.
#[test]
fn residual_blocks_and_global_pooling() {
    for (cin, cout, stride) in [(2, 2, 1), (2, 3, 2)] {
        let mut block = LayerSpec::Residual(ResidualSpec::basic_block(cin, cout, stride))
            .build(&[cin, 5, 5], &mut seeded_rng(4))
            .unwrap();
        check(block.as_mut(), &[3, cin, 5, 5]);
    }
    // A block without activation, whose shortcut is a chain of its own.
    let spec = ResidualSpec {
        body: NamedLayerSpec::numbered([
            LayerSpec::Linear(LinearConfig::new(4, 4)),
            LayerSpec::Tanh,
        ]),
        shortcut: NamedLayerSpec::numbered([LayerSpec::Linear(LinearConfig::new(4, 4))]),
        activation: None,
    };
    let mut block = LayerSpec::Residual(spec)
        .build(&[4], &mut seeded_rng(5))
        .unwrap();
    check(block.as_mut(), &[3, 4]);
    check(&mut GlobalAvgPooling::new(), &[2, 3, 3, 4]);
    check(
        &mut nn_layers::Standardize::new(0.1, 0.3).unwrap(),
        &[2, 1, 3, 3],
    );
}
