//! Batch normalisation.

use core_tensor::Tensor;
use ndarray::{Array1, Array3, ArrayD, Axis, Ix1, Ix3, Zip};

use crate::config::BatchNormConfig;
use crate::error::{LayerError, Result};
use crate::layer::{Layer, Mode, bad_input, check_grad, forward_through_workspace, no_forward};
use crate::param::Param;
use crate::spec::LayerSpec;
use crate::state::{State, StateMut, Visitor, VisitorMut};
use crate::workspace::Workspace;

/// The name of batch normalisation's counter, as in PyTorch's `state_dict`.
const NUM_BATCHES_TRACKED: &str = "num_batches_tracked";

impl BatchNormConfig {
    /// Builds the layer: γ = 1, β = 0, running mean 0 and variance 1, as PyTorch.
    ///
    /// # Errors
    /// Zero features, a non-positive eps or a momentum outside [0, 1].
    pub fn init(&self) -> Result<BatchNormalization> {
        let c = self;
        c.validate()?;
        let n = c.num_features;
        Ok(BatchNormalization {
            config: *c,
            gamma: c.affine.then(|| Param::new(ArrayD::ones(vec![n]))),
            beta: c.affine.then(|| Param::new(ArrayD::zeros(vec![n]))),
            running_mean: ArrayD::zeros(vec![n]),
            running_var: ArrayD::ones(vec![n]),
            num_batches_tracked: 0,
            cache: None,
        })
    }
}

/// What the train-mode forward pass keeps for backward.
#[derive(Debug, Clone)]
struct Cache {
    /// x̂ as (N, C, S).
    xhat: Array3<f32>,
    /// 1 / √(σ² + eps) per channel.
    inv_std: Array1<f32>,
    shape: Vec<usize>,
}

/// Batch normalisation per channel of (N, C, H, W) input (over N, H, W) or per feature of (N, C)
/// input (over N).
///
/// Train mode: `y = γ (x - μ_B) / √(σ²_B + eps) + β` with the batch mean and (biased) variance;
/// the running statistics move by `momentum` towards μ_B and the *unbiased* batch variance. Eval
/// mode uses the running statistics instead.
///
/// Backward (train mode), with `m` values per channel and `g = dy · γ`:
/// `dx = (1/m) / √(σ² + eps) · (m·g - Σg - x̂ Σ(g·x̂))`, `dγ = Σ dy·x̂`, `dβ = Σ dy`.
#[derive(Debug, Clone)]
pub struct BatchNormalization {
    config: BatchNormConfig,
    gamma: Option<Param>,
    beta: Option<Param>,
    running_mean: Tensor,
    running_var: Tensor,
    /// Train-mode forward passes so far (PyTorch's `num_batches_tracked`).
    num_batches_tracked: u64,
    cache: Option<Cache>,
}

impl BatchNormalization {
    /// The configuration.
    pub fn config(&self) -> &BatchNormConfig {
        &self.config
    }

    /// The running mean per channel.
    pub fn running_mean(&self) -> &Tensor {
        &self.running_mean
    }

    /// The running (unbiased) variance per channel.
    pub fn running_var(&self) -> &Tensor {
        &self.running_var
    }

    /// The number of train-mode forward passes, which moved the running statistics (PyTorch's
    /// `num_batches_tracked`).
    pub fn num_batches_tracked(&self) -> u64 {
        self.num_batches_tracked
    }

    /// x as (N, C, S) (S = H·W, or 1 for 2-D input), taken over without a copy when it is in
    /// standard layout.
    fn as_channels(&self, x: Tensor) -> Result<Array3<f32>> {
        let c = self.config.num_features;
        let shape = x.shape().to_vec();
        let ok = matches!(shape.len(), 2 | 4) && shape[1] == c;
        if !ok {
            return Err(bad_input(
                self,
                &format!("(N, {c}) or (N, {c}, H, W)"),
                &shape,
            ));
        }
        let s: usize = shape[2..].iter().product();
        let x = if x.is_standard_layout() {
            x
        } else {
            x.as_standard_layout().into_owned()
        };
        x.into_shape_with_order((shape[0], c, s))
            .map_err(|_| bad_input(self, &format!("(N, {c}) or (N, {c}, H, W)"), &shape))
    }

    fn affine(&self) -> (Array1<f32>, Array1<f32>) {
        let n = self.config.num_features;
        let one = |p: &Option<Param>, default: f32| {
            p.as_ref()
                .and_then(|p| p.value.clone().into_dimensionality::<Ix1>().ok())
                .unwrap_or_else(|| Array1::from_elem(n, default))
        };
        (one(&self.gamma, 1.0), one(&self.beta, 0.0))
    }
}

impl Layer for BatchNormalization {
    fn spec(&self) -> Option<LayerSpec> {
        Some(LayerSpec::BatchNormalization(self.config))
    }

    fn describe(&self) -> String {
        let c = &self.config;
        let mut s = format!("BatchNormalization({}", c.num_features);
        if c.eps != 1e-5 {
            s += &format!(", eps={}", c.eps);
        }
        if c.momentum != 0.1 {
            s += &format!(", momentum={}", c.momentum);
        }
        if !c.affine {
            s += ", affine=false";
        }
        s + ")"
    }

    /// Channels are independent and each is summed in order on one thread: rayon spreads the
    /// channels, and the thread count never changes a bit.
    fn forward(&mut self, x: &Tensor, mode: Mode) -> Result<Tensor> {
        forward_through_workspace(self, x, mode)
    }

    /// The input's buffer becomes x̂ (train mode, kept for backward) or the output (eval mode).
    fn forward_owned(&mut self, x: Tensor, mode: Mode, ws: &mut Workspace) -> Result<Tensor> {
        let in_shape = x.shape().to_vec();
        let mut x3 = self.as_channels(x)?;
        let (n, c, s) = x3.dim();
        let m = n * s;
        let (gamma, beta) = self.affine();
        let eps = f64::from(self.config.eps);
        match mode {
            Mode::Train => {
                if m < 2 {
                    return Err(LayerError::Shape {
                        layer: self.describe(),
                        expected: "more than one value per channel in train mode".into(),
                        got: in_shape.clone(),
                    });
                }
                // Per channel: mean, biased variance, 1/√(σ² + eps).
                let mut stats = Array1::<(f64, f64, f32)>::from_elem(c, (0.0, 0.0, 0.0));
                // Every value of y is written below.
                let mut y = ws
                    .tensor(&[n, c, s])
                    .into_dimensionality::<Ix3>()
                    .map_err(|_| bad_input(self, "(N, C, ...)", &in_shape))?;
                // x3 becomes x̂ (kept for backward), y = γ x̂ + β.
                Zip::from(x3.axis_iter_mut(Axis(1)))
                    .and(y.axis_iter_mut(Axis(1)))
                    .and(&mut stats)
                    .and(&gamma)
                    .and(&beta)
                    .par_for_each(|mut xc, mut yc, stats, &g, &b| {
                        let xv = xc.view();
                        let mean = lane_sum(&xv, &xv, |v, _| f64::from(v)) / m as f64;
                        let var =
                            lane_sum(&xv, &xv, |v, _| (f64::from(v) - mean).powi(2)) / m as f64;
                        let inv = 1.0 / (var + eps).sqrt();
                        Zip::from(&mut xc).and(&mut yc).for_each(|xv, yv| {
                            let h = ((f64::from(*xv) - mean) * inv) as f32;
                            *xv = h;
                            *yv = g * h + b;
                        });
                        *stats = (mean, var, inv as f32);
                    });
                let momentum = f64::from(self.config.momentum);
                for (ch, &(mean, var, _)) in stats.iter().enumerate() {
                    let rm = &mut self.running_mean[ch];
                    *rm = ((1.0 - momentum) * f64::from(*rm) + momentum * mean) as f32;
                    let unbiased = var * m as f64 / (m as f64 - 1.0);
                    let rv = &mut self.running_var[ch];
                    *rv = ((1.0 - momentum) * f64::from(*rv) + momentum * unbiased) as f32;
                }
                self.num_batches_tracked = self.num_batches_tracked.saturating_add(1);
                self.cache = Some(Cache {
                    xhat: x3,
                    inv_std: stats.mapv(|(_, _, inv)| inv),
                    shape: in_shape.clone(),
                });
                Ok(y.into_shape_with_order(in_shape.clone())
                    .map_err(|_| bad_input(self, "(N, C, ...)", &in_shape))?)
            }
            Mode::Eval => {
                self.cache = None;
                let inv_std: Array1<f32> = self
                    .running_var
                    .iter()
                    .map(|&v| (1.0 / (f64::from(v) + eps).sqrt()) as f32)
                    .collect();
                let mean = self.running_mean.iter().copied().collect::<Array1<f32>>();
                Zip::from(x3.axis_iter_mut(Axis(1)))
                    .and(&mean)
                    .and(&inv_std)
                    .and(&gamma)
                    .and(&beta)
                    .par_for_each(|mut xc, &mean, &inv, &g, &b| {
                        xc.mapv_inplace(|v| g * ((v - mean) * inv) + b);
                    });
                Ok(x3
                    .into_shape_with_order(in_shape.clone())
                    .map_err(|_| bad_input(self, "(N, C, ...)", &in_shape))?)
            }
        }
    }

    fn backward(&mut self, grad: &Tensor) -> Result<Tensor> {
        let cache = self.cache.as_ref().ok_or_else(|| no_forward(self))?;
        check_grad(self, &cache.shape, grad)?;
        let (n, c, s) = cache.xhat.dim();
        let m = (n * s) as f64;
        let dy = grad.as_standard_layout();
        let dy = dy
            .view()
            .into_shape_with_order((n, c, s))
            .map_err(|_| bad_input(self, "(N, C, ...)", grad.shape()))?;
        let (gamma, _) = self.affine();
        let mut dx = Array3::<f32>::zeros((n, c, s));
        // Per channel: (dγ, dβ) out, (γ, 1/σ) in.
        let mut sums = Array1::<(f32, f32)>::from_elem(c, (0.0, 0.0));
        let gamma_inv = Zip::from(&gamma)
            .and(&cache.inv_std)
            .map_collect(|&g, &inv| (g, inv));
        Zip::from(dx.axis_iter_mut(Axis(1)))
            .and(cache.xhat.axis_iter(Axis(1)))
            .and(dy.axis_iter(Axis(1)))
            .and(&mut sums)
            .and(&gamma_inv)
            .par_for_each(|mut out, xh, d, sums, &(gm, inv)| {
                let sum_dy = lane_sum(&d, &d, |g, _| f64::from(g));
                let sum_dy_xh = lane_sum(&d, &xh, |g, h| f64::from(g) * f64::from(h));
                *sums = (sum_dy_xh as f32, sum_dy as f32);
                let gm = f64::from(gm);
                let scale = f64::from(inv) / m;
                Zip::from(&mut out).and(&d).and(&xh).for_each(|o, &g, &h| {
                    // (1/m)/σ · (m·γ·dy - γ·Σdy - x̂·γ·Σ(dy·x̂))
                    *o = (scale * gm * (m * f64::from(g) - sum_dy - f64::from(h) * sum_dy_xh))
                        as f32;
                });
            });
        if let Some(gm) = &mut self.gamma {
            gm.grad += &sums.mapv(|(dg, _)| dg).into_dyn();
        }
        if let Some(bt) = &mut self.beta {
            bt.grad += &sums.mapv(|(_, db)| db).into_dyn();
        }
        let shape = grad.shape().to_vec();
        dx.into_shape_with_order(shape.clone())
            .map_err(|_| bad_input(self, "(N, C, ...)", &shape))
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        let c = self.config.num_features;
        match input {
            [ch] | [ch, _, _] if *ch == c => Ok(input.to_vec()),
            _ => Err(bad_input(self, &format!("({c}) or ({c}, H, W)"), input)),
        }
    }

    fn visit<'a>(&'a self, visitor: &mut Visitor<'_, 'a>) {
        if let (Some(g), Some(b)) = (&self.gamma, &self.beta) {
            visitor("weight", State::Param(g));
            visitor("bias", State::Param(b));
        }
        visitor("running_mean", State::Buffer(&self.running_mean));
        visitor("running_var", State::Buffer(&self.running_var));
        visitor(
            NUM_BATCHES_TRACKED,
            State::Counter(self.num_batches_tracked),
        );
    }

    fn visit_mut<'a>(&'a mut self, visitor: &mut VisitorMut<'_, 'a>) {
        if let (Some(g), Some(b)) = (&mut self.gamma, &mut self.beta) {
            visitor("weight", StateMut::Param(g));
            visitor("bias", StateMut::Param(b));
        }
        visitor("running_mean", StateMut::Buffer(&mut self.running_mean));
        visitor("running_var", StateMut::Buffer(&mut self.running_var));
        visitor(
            NUM_BATCHES_TRACKED,
            StateMut::Counter(&mut self.num_batches_tracked),
        );
    }
}

/// Σ f(a, b) over a channel's values (N, S), in f64, in a fixed order: each row in
/// [`LANES`] interleaved partial sums (so that the sum vectorises), rows in order, the lanes added
/// last in order. The order depends on the shapes only, never on the thread count.
fn lane_sum(
    a: &ndarray::ArrayView2<'_, f32>,
    b: &ndarray::ArrayView2<'_, f32>,
    f: impl Fn(f32, f32) -> f64,
) -> f64 {
    let mut acc = [0.0_f64; LANES];
    for (ra, rb) in a.rows().into_iter().zip(b.rows()) {
        match (ra.as_slice(), rb.as_slice()) {
            (Some(sa), Some(sb)) => {
                let (ca, cb) = (sa.chunks_exact(LANES), sb.chunks_exact(LANES));
                let (ta, tb) = (ca.remainder(), cb.remainder());
                for (xa, xb) in ca.zip(cb) {
                    for k in 0..LANES {
                        acc[k] += f(xa[k], xb[k]);
                    }
                }
                for (k, (&x, &y)) in ta.iter().zip(tb).enumerate() {
                    acc[k] += f(x, y);
                }
            }
            _ => {
                for (k, (&x, &y)) in ra.iter().zip(rb.iter()).enumerate() {
                    acc[k % LANES] += f(x, y);
                }
            }
        }
    }
    acc.iter().sum()
}

/// The partial sums of [`lane_sum`].
const LANES: usize = 8;
