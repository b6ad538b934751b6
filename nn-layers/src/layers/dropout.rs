//! Inverted dropout.

use core_tensor::Tensor;
use core_tensor::random::{RngCore, SeededRng, seeded_stream, streams};
use ndarray::Zip;

use crate::error::{LayerError, Result};
use crate::layer::{Layer, Mode};
use crate::layers::elementwise::{Saved, same_shape};
use crate::spec::LayerSpec;
use crate::state::{State, StateMut, Visitor, VisitorMut};

/// Inverted dropout: in train mode each element is zeroed with probability `p` and the rest are
/// scaled by `1 / (1 - p)`, so eval mode (the identity) needs no rescaling. The mask comes from
/// the layer's own generator, seeded at construction (on the dropout stream of that seed, so a
/// seed shared with the initialiser or the data loader gives independent draws): two layers never
/// share random state.
///
/// PyTorch equivalent: `torch.nn.Dropout(p)`.
#[derive(Debug, Clone)]
pub struct Dropout {
    p: f32,
    /// The seed the generator started from (part of the layer's spec).
    seed: u64,
    rng: SeededRng,
    mask: Saved,
}

impl Dropout {
    /// Dropout with probability `p`, its mask drawn from a generator seeded with `seed`.
    ///
    /// # Errors
    /// `p` outside [0, 1).
    pub fn new(p: f32, seed: u64) -> Result<Self> {
        if !(0.0..1.0).contains(&p) {
            return Err(LayerError::Config {
                layer: "Dropout".into(),
                message: format!("p must be in [0, 1), got {p}"),
            });
        }
        Ok(Self {
            p,
            seed,
            rng: seeded_stream(seed, streams::DROPOUT),
            mask: Saved::default(),
        })
    }

    /// The generator, e.g. to save its position in a checkpoint.
    pub fn rng(&self) -> &SeededRng {
        &self.rng
    }

    /// Replaces the generator (restoring a checkpoint).
    pub fn set_rng(&mut self, rng: SeededRng) {
        self.rng = rng;
    }
}

impl Layer for Dropout {
    fn spec(&self) -> Option<LayerSpec> {
        Some(LayerSpec::Dropout {
            p: self.p,
            seed: self.seed,
        })
    }

    fn describe(&self) -> String {
        format!("Dropout(p={})", self.p)
    }

    fn forward(&mut self, x: &Tensor, mode: Mode) -> Result<Tensor> {
        if mode == Mode::Eval {
            self.mask = Saved::default();
            return Ok(x.clone());
        }
        if self.p == 0.0 {
            self.mask.keep(&Tensor::ones(x.raw_dim()), mode);
            return Ok(x.clone());
        }
        let keep = 1.0 / (1.0 - self.p);
        // A uniform draw in [0, 1) from the top 24 bits of each 32-bit word.
        let threshold = (f64::from(self.p) * f64::from(1_u32 << 24)) as u32;
        let rng = &mut self.rng;
        let mask = x.mapv(|_| {
            if (rng.next_u32() >> 8) < threshold {
                0.0
            } else {
                keep
            }
        });
        let y = Zip::from(x).and(&mask).map_collect(|&v, &m| v * m);
        self.mask.keep(&mask, mode);
        Ok(y)
    }

    fn backward(&mut self, grad: &Tensor) -> Result<Tensor> {
        self.mask.chain(self, grad, |m| m)
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        same_shape(input)
    }

    fn visit<'a>(&'a self, visitor: &mut Visitor<'_, 'a>) {
        visitor("rng", State::Rng(&self.rng));
    }

    fn visit_mut<'a>(&'a mut self, visitor: &mut VisitorMut<'_, 'a>) {
        visitor("rng", StateMut::Rng(&mut self.rng));
    }
}
