//! `Model` beyond LeNet5: a residual network with a layer of the user's own, trained with either
//! loss, saved, loaded and resumed bit for bit.

use nn_data::Dataset;
use nn_layers::state::{Visitor, VisitorMut};
use nn_layers::*;
use nn_train::{FitConfig, LossKind, Model, OptimizerKind, OptimizerSpec, Progress, load_network};

/// 64 images of 8 x 8 in two classes: bright left half (0) or right half (1), with noise.
fn toy() -> Dataset {
    let labels: Vec<u8> = (0..64).map(|i| (i % 2) as u8).collect();
    let mut pixels = Vec::new();
    for (i, &l) in labels.iter().enumerate() {
        pixels.extend((0..64).map(|p| {
            let bright = (p % 8 < 4) == (l == 0);
            let noise = ((i * 31 + p * 17) % 50) as u8;
            if bright { 200 + noise } else { noise }
        }));
    }
    Dataset::new(pixels, labels, 8, 8).unwrap()
}

/// A layer of the user's own: a learnable shift per channel, `y = x + shift[c]`, with a counter
/// of training passes saved with the model.
#[derive(Debug)]
struct ChannelShift {
    channels: usize,
    shift: Param,
    passes: u64,
    trained: bool,
}

const KIND: &str = "test_channel_shift";

fn register() {
    registry::register_layer(KIND, |channels: usize, _rng| {
        if !(1..=4096).contains(&channels) {
            return Err(LayerError::Config {
                layer: KIND.into(),
                message: format!("channels must be in 1..=4096, got {channels}"),
            });
        }
        Ok(ChannelShift {
            channels,
            shift: Param::new(Tensor::zeros(vec![channels])),
            passes: 0,
            trained: false,
        })
    })
    .unwrap();
}

impl Layer for ChannelShift {
    fn describe(&self) -> String {
        format!("ChannelShift({})", self.channels)
    }

    fn forward(&mut self, x: &Tensor, mode: Mode) -> Result<Tensor> {
        let mut y = x.clone();
        for (c, &s) in self.shift.value.iter().enumerate() {
            y.index_axis_mut(ndarray::Axis(1), c)
                .mapv_inplace(|v| v + s);
        }
        self.trained = mode == Mode::Train;
        if self.trained {
            self.passes += 1;
        }
        Ok(y)
    }

    fn backward(&mut self, grad: &Tensor) -> Result<Tensor> {
        if !self.trained {
            return Err(LayerError::BackwardBeforeForward {
                layer: self.describe(),
            });
        }
        for c in 0..self.channels {
            self.shift.grad[c] += grad.index_axis(ndarray::Axis(1), c).sum();
        }
        Ok(grad.clone())
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        Ok(input.to_vec())
    }

    fn spec(&self) -> Option<LayerSpec> {
        CustomSpec::new(KIND, &self.channels)
            .ok()
            .map(LayerSpec::Custom)
    }

    fn visit<'a>(&'a self, visitor: &mut Visitor<'_, 'a>) {
        visitor("shift", State::Param(&self.shift));
        visitor("passes", State::Counter(self.passes));
    }

    fn visit_mut<'a>(&'a mut self, visitor: &mut VisitorMut<'_, 'a>) {
        visitor("shift", StateMut::Param(&mut self.shift));
        visitor("passes", StateMut::Counter(&mut self.passes));
    }
}

/// A small ResNet with the user's layer in a block's body.
fn spec() -> NetworkSpec {
    let mut block = ResidualSpec::basic_block(4, 4, 1);
    block.body.insert(
        2,
        NamedLayerSpec::new(
            "shift",
            LayerSpec::Custom(CustomSpec::new(KIND, &4_usize).unwrap()),
        ),
    );
    NetworkSpec {
        input: vec![1, 8, 8],
        layers: vec![
            LayerSpec::Conv2D(Conv2DConfig::new(1, 4, [3, 3]).with_padding([1, 1])),
            LayerSpec::Residual(block),
            LayerSpec::Residual(ResidualSpec::basic_block(4, 8, 2)),
            LayerSpec::GlobalAvgPooling,
            LayerSpec::Linear(LinearConfig::new(8, 2)),
        ],
    }
}

fn model(loss: LossKind) -> Model {
    register();
    let adam = OptimizerSpec {
        kind: OptimizerKind::Adam,
        lr: 1e-2,
    };
    Model::new(spec(), adam, 7)
        .unwrap()
        .with_loss(loss)
        .with_eval_batch_size(7)
        .unwrap()
}

fn config(epochs: usize) -> FitConfig {
    FitConfig {
        epochs,
        batch_size: 16,
        shuffle_seed: 5,
        progress: Progress::Quiet,
    }
}

#[test]
fn a_residual_network_with_a_users_layer_trains_saves_and_resumes_exactly() {
    for loss in [LossKind::CrossEntropy, LossKind::Mse] {
        let mut straight = model(loss);
        straight
            .fit(&toy(), Some(&toy()), &config(4), |_, _| Ok(()))
            .unwrap();
        let shift = straight.net().params();
        let shift = shift.iter().find(|(n, _)| n == "1.shift.shift").unwrap();
        assert!(
            shift.1.value.iter().any(|&v| v != 0.0),
            "the user's layer was trained"
        );
        assert!(
            straight
                .net()
                .counters()
                .contains(&("1.shift.passes".into(), 16))
        );
        let accuracy = straight.evaluate(&toy(), 64).unwrap().accuracy;
        assert!(accuracy > 0.9, "{loss:?}: accuracy {accuracy}");

        let dir = tempfile::tempdir().unwrap();
        let ck = dir.path().join("ck.bin");
        let mut first = model(loss);
        first
            .fit(&toy(), Some(&toy()), &config(2), |m, _| {
                m.save_checkpoint(&ck)
            })
            .unwrap();
        let mut resumed = Model::load_checkpoint(&ck).unwrap();
        assert_eq!(resumed.loss(), loss);
        resumed
            .fit(&toy(), Some(&toy()), &config(4), |_, _| Ok(()))
            .unwrap();
        let (a, b) = (dir.path().join("a.nnrs"), dir.path().join("b.nnrs"));
        straight.save(&a).unwrap();
        resumed.save(&b).unwrap();
        assert_eq!(
            std::fs::read(&a).unwrap(),
            std::fs::read(&b).unwrap(),
            "{loss:?}"
        );

        // The model file builds the same network again, the user's layer included.
        let (loaded_spec, mut loaded) = load_network(&a).unwrap();
        assert_eq!(loaded_spec, spec());
        let idx: Vec<usize> = (0..8).collect();
        let x = toy()
            .batch(&idx, nn_data::Normalization::Unit)
            .unwrap()
            .images
            .into_dyn();
        let mut original = straight.into_net();
        assert_eq!(
            loaded.forward(&x, Mode::Eval).unwrap(),
            original.forward(&x, Mode::Eval).unwrap()
        );
        assert_eq!(loaded.counters(), original.counters());
    }
}

#[test]
fn the_evaluation_batch_size_changes_nothing_but_must_be_positive() {
    let mut m = model(LossKind::CrossEntropy);
    m.fit(&toy(), None, &config(1), |_, _| Ok(())).unwrap();
    let a = m.evaluate(&toy(), 3).unwrap();
    let b = m.evaluate(&toy(), 64).unwrap();
    assert_eq!(a.accuracy, b.accuracy);
    assert!((a.loss - b.loss).abs() < 1e-6);
    assert!(model(LossKind::Mse).with_eval_batch_size(0).is_err());
}
