//! Fully connected layer.

use core_tensor::Tensor;
use core_tensor::init::{default_bias, default_weight};
use core_tensor::random::SeededRng;
use ndarray::{Ix2, linalg::general_mat_mul};

use crate::config::LinearConfig;
use crate::error::Result;
use crate::layer::{
    Layer, Mode, backward_through_workspace, bad_input, check_grad, forward_through_workspace,
    no_forward, view_as, view_as_mut, visit_weight_and_bias, visit_weight_and_bias_mut,
};
use crate::param::Param;
use crate::spec::LayerSpec;
use crate::state::{Visitor, VisitorMut};
use crate::workspace::Workspace;

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
    input: Option<Tensor>,
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
        forward_through_workspace(self, x, mode)
    }

    /// The output comes from `ws`; in train mode the layer keeps `x` for its backward pass
    /// (giving the one of the step before back), in eval mode `x` goes back.
    fn forward_owned(&mut self, x: Tensor, mode: Mode, ws: &mut Workspace) -> Result<Tensor> {
        let (fan_in, fan_out) = (self.config.in_features, self.config.out_features);
        if x.ndim() != 2 || x.shape()[1] != fan_in {
            return Err(bad_input(self, &format!("(N, {fan_in})"), x.shape()));
        }
        let x2 = view_as::<Ix2>(self, &x, "(N, in)")?;
        let w = view_as::<Ix2>(self, &self.weight.value, "(out, in)")?;
        let mut y = ws
            .zeros(&[x2.nrows(), fan_out])
            .into_dimensionality::<Ix2>()
            .map_err(|_| bad_input(self, "(N, in)", x.shape()))?;
        if let Some(b) = &self.bias {
            for mut row in y.outer_iter_mut() {
                row.assign(&b.value);
            }
        }
        general_mat_mul(1.0, &x2, &w.t(), 1.0, &mut y);
        let old = match mode {
            Mode::Train => self.input.replace(x),
            Mode::Eval => {
                ws.recycle(x);
                self.input.take()
            }
        };
        if let Some(old) = old {
            ws.recycle(old);
        }
        Ok(y.into_dyn())
    }

    fn backward(&mut self, grad: &Tensor) -> Result<Tensor> {
        backward_through_workspace(self, grad)
    }

    fn backward_owned(&mut self, grad: Tensor, ws: &mut Workspace) -> Result<Tensor> {
        let (fan_in, fan_out) = (self.config.in_features, self.config.out_features);
        let x = self.input.as_ref().ok_or_else(|| no_forward(self))?;
        let x = view_as::<Ix2>(self, x, "(N, in)")?;
        check_grad(self, &[x.nrows(), fan_out], &grad)?;
        let dy = view_as::<Ix2>(self, &grad, "(N, out)")?;
        let w = view_as::<Ix2>(self, &self.weight.value, "(out, in)")?;
        // dL/dw and dL/db for this batch, then added to the gradients.
        let mut dw = ws.zeros(&[fan_out, fan_in]);
        let mut dw2 = view_as_mut::<Ix2>(&mut dw, "(out, in)")?;
        general_mat_mul(1.0, &dy.t(), &x, 0.0, &mut dw2);
        let mut db = ws.zeros(&[fan_out]);
        for row in dy.outer_iter() {
            db += &row;
        }
        let mut dx = ws.zeros(&[dy.nrows(), fan_in]);
        general_mat_mul(
            1.0,
            &dy,
            &w,
            0.0,
            &mut view_as_mut::<Ix2>(&mut dx, "(N, in)")?,
        );
        self.weight.grad += &dw;
        if let Some(b) = &mut self.bias {
            b.grad += &db;
        }
        ws.recycle(dw);
        ws.recycle(db);
        ws.recycle(grad);
        Ok(dx)
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
