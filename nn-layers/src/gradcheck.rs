//! A public finite-difference gradient checker for any [`Layer`].

use core_tensor::Tensor;
use core_tensor::random::{RngCore, seeded_rng};

use crate::error::Result;
use crate::layer::{Layer, Mode};
use crate::state::NamedState;

/// Options of [`gradcheck`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GradCheckOptions {
    /// The step of the central difference; default 1e-3.
    pub eps: f32,
    /// Seed of the random upstream gradient; default 0.
    pub seed: u64,
    /// The mode the layer runs in; default [`Mode::Train`] (batch statistics for batch norm).
    pub mode: Mode,
}

impl Default for GradCheckOptions {
    fn default() -> Self {
        Self {
            eps: 1e-3,
            seed: 0,
            mode: Mode::Train,
        }
    }
}

/// The worst relative error of each checked gradient.
///
/// For a tensor with analytic gradient `a` and numeric gradient `n`, the relative error is
/// `max_i |a_i - n_i| / max(max_i |n_i|, max_i |a_i|, 1e-6)`: scaled by the tensor's largest
/// gradient, so that elements whose gradient is near zero do not turn rounding noise into huge
/// ratios, while a gradient off by 1 % shows as about 0.01. A parameter whose true gradient is
/// exactly zero everywhere (a bias just before batch normalisation) has nothing to scale by: its
/// error is rounding noise over noise and means nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct GradCheckReport {
    /// The error of dL/dx.
    pub input: f64,
    /// The error of each parameter's gradient, by name.
    pub params: Vec<(String, f64)>,
}

impl GradCheckReport {
    /// The largest error in the report.
    pub fn worst(&self) -> f64 {
        self.params
            .iter()
            .map(|(_, e)| *e)
            .fold(self.input, f64::max)
    }
}

/// Checks `layer`'s backward pass against central finite differences of its forward pass.
///
/// The scalar checked is `L = Σ forward(x) · r` for a fixed random `r` (so dL/dy = r): the
/// analytic gradients come from one `backward(r)`, the numeric ones from
/// `(L(v + eps) - L(v - eps)) / 2 eps` for every element `v` of the input and of every parameter.
/// Parameter gradients and buffers (running statistics) are left as they were.
///
/// Inputs must keep clear of kinks (ReLU at 0, ties in max pooling) by more than `eps`.
///
/// # Errors
/// Whatever the layer's forward or backward pass returns.
///
/// ```
/// use nn_layers::{gradcheck, GradCheckOptions, LinearConfig};
/// let mut layer = LinearConfig::new(3, 2).init(&mut core_tensor::random::seeded_rng(1)).unwrap();
/// let x = ndarray::Array::from_shape_fn((4, 3), |(i, j)| (i as f32 - j as f32) * 0.3).into_dyn();
/// let report = gradcheck(&mut layer, &x, &GradCheckOptions::default()).unwrap();
/// assert!(report.worst() < 1e-2, "{report:?}");
/// ```
pub fn gradcheck(
    layer: &mut dyn Layer,
    input: &Tensor,
    options: &GradCheckOptions,
) -> Result<GradCheckReport> {
    let buffers: Vec<Tensor> = layer
        .buffers()
        .into_iter()
        .map(|(_, b)| b.clone())
        .collect();
    let saved_grads: Vec<Tensor> = layer
        .params()
        .into_iter()
        .map(|(_, p)| p.grad.clone())
        .collect();

    let y = layer.forward(input, options.mode)?;
    let mut rng = seeded_rng(options.seed);
    let r = y.mapv(|_| (rng.next_u32() >> 8) as f32 / (1u32 << 23) as f32 - 1.0);
    let objective = |layer: &mut dyn Layer, x: &Tensor| -> Result<f64> {
        let y = layer.forward(x, options.mode)?;
        Ok(y.iter()
            .zip(r.iter())
            .map(|(&a, &b)| f64::from(a) * f64::from(b))
            .sum())
    };

    layer.zero_grad();
    layer.forward(input, options.mode)?;
    let dx = layer.backward(&r)?;
    let analytic: Vec<(String, Tensor)> = layer
        .params()
        .into_iter()
        .map(|(n, p)| (n, p.grad.clone()))
        .collect();

    let eps = options.eps;
    let numeric_input = {
        let mut x = input.as_standard_layout().into_owned();
        let mut out = Vec::with_capacity(x.len());
        for i in 0..x.len() {
            let orig = x.as_slice_memory_order().map_or(0.0, |s| s[i]);
            set(&mut x, i, orig + eps);
            let plus = objective(layer, &x)?;
            set(&mut x, i, orig - eps);
            let minus = objective(layer, &x)?;
            set(&mut x, i, orig);
            out.push((plus - minus) / (2.0 * f64::from(eps)));
        }
        out
    };
    let input_error = relative_error(&memory_order(&dx), &numeric_input);

    let mut params = Vec::new();
    for (k, (name, grad)) in analytic.iter().enumerate() {
        let len = grad.len();
        let mut numeric = Vec::with_capacity(len);
        for i in 0..len {
            let orig = value_at(layer, k, i);
            set_param(layer, k, i, orig + eps);
            let plus = objective(layer, input)?;
            set_param(layer, k, i, orig - eps);
            let minus = objective(layer, input)?;
            set_param(layer, k, i, orig);
            numeric.push((plus - minus) / (2.0 * f64::from(eps)));
        }
        params.push((name.clone(), relative_error(&memory_order(grad), &numeric)));
    }

    for ((_, b), saved) in layer.buffers_mut().into_iter().zip(buffers) {
        *b = saved;
    }
    for ((_, p), saved) in layer.params_mut().into_iter().zip(saved_grads) {
        p.grad = saved;
    }
    Ok(GradCheckReport {
        input: input_error,
        params,
    })
}

fn memory_order(t: &Tensor) -> Vec<f64> {
    t.as_standard_layout()
        .iter()
        .map(|&v| f64::from(v))
        .collect()
}

fn set(t: &mut Tensor, i: usize, v: f32) {
    if let Some(s) = t.as_slice_memory_order_mut() {
        s[i] = v;
    }
}

fn value_at(layer: &mut dyn Layer, k: usize, i: usize) -> f32 {
    layer
        .params()
        .get(k)
        .and_then(|(_, p)| p.value.as_slice_memory_order().map(|s| s[i]))
        .unwrap_or(0.0)
}

fn set_param(layer: &mut dyn Layer, k: usize, i: usize, v: f32) {
    if let Some((_, p)) = layer.params_mut().into_iter().nth(k) {
        set(&mut p.value, i, v);
    }
}

fn relative_error(analytic: &[f64], numeric: &[f64]) -> f64 {
    let scale = analytic
        .iter()
        .chain(numeric)
        .fold(1e-6_f64, |m, v| m.max(v.abs()));
    let worst = analytic
        .iter()
        .zip(numeric)
        .map(|(a, n)| (a - n).abs())
        .fold(
            0.0_f64,
            |m, d| if d.is_nan() { f64::INFINITY } else { m.max(d) },
        );
    worst / scale
}
