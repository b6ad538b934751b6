//! A user's program: a small network of its own with a layer of its own, trained on data it
//! makes, then a network with that layer among built-in ones trained by `nn_train::Model`, saved,
//! reloaded and exported. Every check is an `assert!` or an error: a non-zero exit fails CI.

use core_tensor::random::seeded_rng;
use ndarray::{ArrayD, IxDyn};
use nn_data::Dataset;
use nn_layers::{
    Conv2DConfig, CrossEntropyLoss, CustomSpec, Flatten, Layer, LayerSpec, LinearConfig, Mode,
    NamedState, NetworkSpec, Param, PoolConfig, Relu, Sequential, State, StateMut, Tensor,
};
use nn_optim::{Adam, Optimizer};
use nn_train::{FitConfig, Model, OptimizerKind, OptimizerSpec, Progress};

/// A layer of the user's own: `y = a * x` with one learnable scale `a`.
#[derive(Debug)]
struct Scale {
    a: Param,
    input: Option<Tensor>,
}

impl Scale {
    fn new() -> Self {
        Self {
            a: Param::new(ArrayD::from_elem(IxDyn(&[1]), 1.0)),
            input: None,
        }
    }
}

impl Layer for Scale {
    fn describe(&self) -> String {
        "Scale".into()
    }

    fn forward(&mut self, x: &Tensor, mode: Mode) -> nn_layers::Result<Tensor> {
        self.input = (mode == Mode::Train).then(|| x.clone());
        Ok(x * self.a.value[[0]])
    }

    fn backward(&mut self, grad: &Tensor) -> nn_layers::Result<Tensor> {
        let x =
            self.input
                .as_ref()
                .ok_or_else(|| nn_layers::LayerError::BackwardBeforeForward {
                    layer: self.describe(),
                })?;
        self.a.grad[[0]] += (grad * x).sum();
        Ok(grad * self.a.value[[0]])
    }

    fn output_shape(&self, input: &[usize]) -> nn_layers::Result<Vec<usize>> {
        Ok(input.to_vec())
    }

    fn visit<'a>(&'a self, visitor: &mut nn_layers::state::Visitor<'_, 'a>) {
        visitor("a", State::Param(&self.a));
    }

    fn visit_mut<'a>(&'a mut self, visitor: &mut nn_layers::state::VisitorMut<'_, 'a>) {
        visitor("a", StateMut::Param(&mut self.a));
    }

    /// Described as a registered kind (see `main`), so `Model` can build, save and load it.
    fn spec(&self) -> Option<LayerSpec> {
        CustomSpec::new("scale", &()).ok().map(LayerSpec::Custom)
    }
}

/// 64 images of 8 x 8: class 0 bright on the left half, class 1 on the right.
fn halves() -> Result<Dataset, nn_data::DataError> {
    let labels: Vec<u8> = (0..64).map(|i| (i % 2) as u8).collect();
    let pixels = labels
        .iter()
        .enumerate()
        .flat_map(|(i, &l)| {
            (0..64).map(move |p| {
                let left = p % 8 < 4;
                let noise = ((i * 31 + p * 17) % 40) as u8;
                if left == (l == 0) { 200 + noise } else { noise }
            })
        })
        .collect();
    Dataset::new(pixels, labels, 8, 8)
}

/// The user's own network, with their own layer, trained by hand with an optimizer.
fn train_own_network(data: &Dataset) -> Result<f32, Box<dyn std::error::Error>> {
    let rng = &mut seeded_rng(1);
    let mut net = Sequential::new(&[1, 8, 8])
        .add(
            Conv2DConfig::new(1, 4, [3, 3])
                .with_padding([1, 1])
                .init(rng)?,
        )?
        .add(Scale::new())?
        .add(Relu::new())?
        .add(PoolConfig::new([2, 2]).max()?)?
        .add(Flatten::new())?
        .add(LinearConfig::new(64, 2).init(rng)?)?;
    let mut opt = Adam::new(1e-2)?;
    let indices: Vec<usize> = (0..data.len()).collect();
    let batch = data.batch(&indices, nn_data::Normalization::Unit)?;
    let x = batch.images.into_dyn();
    let mut first = None;
    let mut last = 0.0;
    for _ in 0..30 {
        let out = CrossEntropyLoss::new().forward(&net.forward(&x, Mode::Train)?, &batch.labels)?;
        opt.zero_grad(&mut net);
        net.backward(&out.grad)?;
        opt.step(&mut net)?;
        first.get_or_insert(out.loss);
        last = out.loss;
    }
    let first = first.unwrap_or(last);
    assert!(
        last < first * 0.5,
        "the loss fell from {first} to {last} only"
    );
    let scale = net
        .params()
        .into_iter()
        .find(|(n, _)| n == "1.a")
        .map(|(_, p)| p.value[[0]]);
    assert!(
        scale.is_some_and(|a| a != 1.0),
        "the user's layer was not trained"
    );
    Ok(last)
}

/// A network with the user's layer among built-in ones, trained by `Model`, saved, reloaded and
/// exported.
fn train_save_reload(data: &Dataset) -> Result<f32, Box<dyn std::error::Error>> {
    let spec = NetworkSpec {
        input: vec![1, 8, 8],
        layers: vec![
            LayerSpec::Conv2D(Conv2DConfig::new(1, 4, [3, 3])),
            // The user's own layer, described by its registered kind.
            LayerSpec::Custom(CustomSpec::new("scale", &())?),
            LayerSpec::Relu,
            LayerSpec::Flatten,
            LayerSpec::Linear(LinearConfig::new(4 * 6 * 6, 2)),
        ],
    };
    let optimizer = OptimizerSpec {
        kind: OptimizerKind::Adam,
        lr: 1e-2,
    };
    let mut model = Model::new(spec, optimizer, 3)?;
    let config = FitConfig {
        epochs: 5,
        batch_size: 16,
        shuffle_seed: 4,
        progress: Progress::Quiet,
    };
    model.fit(data, None, &config, |_, _| Ok(()))?;
    let accuracy = model.evaluate(data, 64)?.accuracy;
    assert!(accuracy > 0.9, "accuracy {accuracy}");

    let dir = tempfile::tempdir()?;
    let path = dir.path().join("model.bin");
    model.save(&path)?;
    let (spec, mut reloaded) = nn_train::load_network(&path)?;
    assert_eq!(&spec, model.spec());
    let x = data
        .batch(&[0, 1, 2], nn_data::Normalization::Unit)?
        .images
        .into_dyn();
    let mut original = model.into_net();
    let before = original.forward(&x, Mode::Eval)?;
    assert_eq!(reloaded.forward(&x, Mode::Eval)?, before);

    let trained_scale = reloaded.params().into_iter().find(|(n, _)| n == "1.a");
    assert!(
        trained_scale.is_some_and(|(_, p)| p.value[[0]] != 1.0),
        "Model trained the user's layer"
    );
    let bytes = nn_interop::to_safetensors(&reloaded)?;
    let mut copy = spec.build(&mut seeded_rng(99))?;
    nn_interop::from_safetensors(&mut copy, &bytes)?;
    assert_eq!(copy.forward(&x, Mode::Eval)?, before);
    Ok(accuracy)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Once per program: specs of kind "scale" (in files, checkpoints, `Model::new`) build a Scale.
    nn_layers::registry::register_layer("scale", |(): (), _rng| Ok(Scale::new()))?;
    let data = halves()?;
    let loss = train_own_network(&data)?;
    let accuracy = train_save_reload(&data)?;
    println!(
        "downstream: own network's loss {loss:.4}; saved, reloaded and exported a model of accuracy {accuracy:.3}"
    );
    Ok(())
}
