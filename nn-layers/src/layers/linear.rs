//! Fully connected layer.

use core_tensor::Tensor;
use core_tensor::init::{default_bias, default_weight};
use core_tensor::random::SeededRng;
use ndarray::{Array2, Axis, Ix2, linalg::general_mat_mul};

use crate::config::LinearConfig;
use crate::error::Result;
use crate::layer::{
    Layer, Mode, bad_input, check_grad, no_forward, view_as, visit_weight_and_bias,
    visit_weight_and_bias_mut,
};
use crate::param::Param;
use crate::spec::LayerSpec;
use crate::state::{Visitor, VisitorMut};

impl LinearConfig {
    /// Builds the layer with PyTorch's default initialisation drawn from `rng`.
    ///
    /// # Errors
    /// A zero feature count.
    pub fn init(&self, rng: &mut SeededRng) -> Result<Linear> {
        self.validate()?;
        let weight = Param::new(default_weight(&[self.out_features, self.in_features], rng)?);
        let bias = if self.bias {
            Some(Param::new(default_bias(
                self.out_features,
                self.in_features,
                rng,
            )?))
        } else {
            None
        };
        Ok(Linear {
            config: *self,
            weight,
            bias,
            input: None,
        })
    }
}

/// `y = x wᵀ + b`.
///
/// # Shapes
/// - input (N, in), output (N, out)
/// - `weight` (out, in) as PyTorch stores it, `bias` (out)
///
/// Backward: `dW += dyᵀ x`, `db += Σ_n dy`, `dx = dy W`.
#[derive(Debug, Clone)]
pub struct Linear {
    config: LinearConfig,
    weight: Param,
    bias: Option<Param>,
    input: Option<Array2<f32>>,
}

impl Linear {
    /// The configuration.
    pub fn config(&self) -> &LinearConfig {
        &self.config
    }
}

impl Layer for Linear {
    fn spec(&self) -> Option<LayerSpec> {
        Some(LayerSpec::Linear(self.config))
    }

    fn describe(&self) -> String {
        let c = &self.config;
        let bias = if c.bias { "" } else { ", bias=false" };
        format!("Linear({}, {}{bias})", c.in_features, c.out_features)
    }

    fn forward(&mut self, x: &Tensor, mode: Mode) -> Result<Tensor> {
        let expected = format!("(N, {})", self.config.in_features);
        let x2 = view_as::<Ix2>(self, x, &expected)?;
        if x2.ncols() != self.config.in_features {
            return Err(bad_input(self, &expected, x.shape()));
        }
        let w = view_as::<Ix2>(self, &self.weight.value, "(out, in)")?;
        let mut y = Array2::<f32>::zeros((x2.nrows(), self.config.out_features));
        if let Some(b) = &self.bias {
            for mut row in y.outer_iter_mut() {
                row.assign(&b.value);
            }
        }
        general_mat_mul(1.0, &x2, &w.t(), 1.0, &mut y);
        self.input = (mode == Mode::Train).then(|| x2.to_owned());
        Ok(y.into_dyn())
    }

    fn backward(&mut self, grad: &Tensor) -> Result<Tensor> {
        let x = self.input.as_ref().ok_or_else(|| no_forward(self))?;
        check_grad(self, &[x.nrows(), self.config.out_features], grad)?;
        let dy = view_as::<Ix2>(self, grad, "(N, out)")?;
        let mut dw = Array2::<f32>::zeros((self.config.out_features, self.config.in_features));
        general_mat_mul(1.0, &dy.t(), x, 0.0, &mut dw);
        let w = view_as::<Ix2>(self, &self.weight.value, "(out, in)")?;
        let mut dx = Array2::<f32>::zeros((dy.nrows(), self.config.in_features));
        general_mat_mul(1.0, &dy, &w, 0.0, &mut dx);
        self.weight.grad += &dw.into_dyn();
        if let Some(b) = &mut self.bias {
            b.grad += &dy.sum_axis(Axis(0)).into_dyn();
        }
        Ok(dx.into_dyn())
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        match input {
            &[f] if f == self.config.in_features => Ok(vec![self.config.out_features]),
            _ => Err(bad_input(
                self,
                &format!("({})", self.config.in_features),
                input,
            )),
        }
    }

    fn visit<'a>(&'a self, visitor: &mut Visitor<'_, 'a>) {
        visit_weight_and_bias(&self.weight, self.bias.as_ref(), visitor);
    }

    fn visit_mut<'a>(&'a mut self, visitor: &mut VisitorMut<'_, 'a>) {
        visit_weight_and_bias_mut(&mut self.weight, self.bias.as_mut(), visitor);
    }
}
