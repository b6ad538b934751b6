//! The `Optimizer` trait, the per-parameter state every optimizer keeps, and its saved form.

use std::collections::BTreeMap;

use nn_layers::{Layer, NamedState, Param, StateMut};
use serde::{Deserialize, Serialize};

use crate::error::{OptimError, Result};

/// An optimizer: an update rule applied to every named parameter of a network, with
/// per-parameter state (momentum buffers, moment estimates ...) kept by parameter name.
///
/// Implementors give the rule ([`Optimizer::update`]) and hold a [`Slots`]; stepping, saving and
/// restoring state are shared.
///
/// ```
/// use nn_layers::{Layer, LinearConfig, Mode, MseLoss};
/// use nn_optim::{Adam, Optimizer};
/// let mut net = LinearConfig::new(2, 1).init(&mut core_tensor::random::seeded_rng(0)).unwrap();
/// let mut opt = Adam::new(0.01).unwrap();
/// let x = ndarray::arr2(&[[1.0_f32, 2.0]]).into_dyn();
/// let t = ndarray::arr2(&[[3.0_f32]]).into_dyn();
/// for _ in 0..3 {
///     let y = net.forward(&x, Mode::Train).unwrap();
///     let loss = MseLoss::new().forward(&y, &t).unwrap();
///     opt.zero_grad(&mut net);
///     net.backward(&loss.grad).unwrap();
///     opt.step(&mut net).unwrap();
/// }
/// assert_eq!(opt.state().params[0].step, 3);
/// ```
pub trait Optimizer: Send + std::fmt::Debug {
    /// The optimizer's name (`"Adam"` ...), also recorded in its saved state.
    fn name(&self) -> &'static str;

    /// The names of the per-parameter buffers, in the order `update` receives them.
    fn buffer_names(&self) -> &'static [&'static str];

    /// The current learning rate.
    fn lr(&self) -> f32;

    /// Sets the learning rate (schedules call this).
    ///
    /// # Errors
    /// A negative or non-finite learning rate.
    fn set_lr(&mut self, lr: f32) -> Result<()>;

    /// The rule: updates one parameter's values in place from its gradient, at step `step`
    /// (counted from 1 for this parameter), with its buffers (zero before the first step).
    fn update(&self, value: &mut [f32], grad: &[f32], step: u64, buffers: &mut [Vec<f32>]);

    /// The per-parameter state.
    fn slots(&self) -> &Slots;

    /// The per-parameter state, mutably.
    fn slots_mut(&mut self) -> &mut Slots;

    /// One step over named parameters.
    ///
    /// # Errors
    /// A gradient whose shape differs from its parameter's.
    fn step_params(&mut self, params: Vec<(String, &mut Param)>) -> Result<()> {
        let mut slots = std::mem::take(self.slots_mut());
        let result = params
            .into_iter()
            .try_for_each(|(name, param)| step_param(&*self, &mut slots, &name, param));
        *self.slots_mut() = slots;
        result
    }

    /// One step over every parameter of `net`, in the order of its visit. After the first step
    /// it allocates nothing.
    ///
    /// # Errors
    /// As [`Optimizer::step_params`].
    fn step(&mut self, net: &mut dyn Layer) -> Result<()> {
        let mut slots = std::mem::take(self.slots_mut());
        let mut result = Ok(());
        net.visit_mut(&mut |name, state| {
            if let (Ok(()), StateMut::Param(param)) = (&result, state) {
                result = step_param(&*self, &mut slots, name, param);
            }
        });
        *self.slots_mut() = slots;
        result
    }

    /// Sets every gradient of `net` to zero.
    fn zero_grad(&self, net: &mut dyn Layer) {
        net.zero_grad();
    }

    /// The state to save: learning rate and every parameter's step count and buffers.
    fn state(&self) -> OptimizerState {
        let names = self.buffer_names();
        OptimizerState {
            optimizer: self.name().to_string(),
            lr: self.lr(),
            params: self
                .slots()
                .params
                .iter()
                .map(|(name, slot)| ParamState {
                    name: name.clone(),
                    step: slot.step,
                    shape: slot.shape.clone(),
                    buffers: names
                        .iter()
                        .map(|n| n.to_string())
                        .zip(slot.buffers.iter().cloned())
                        .collect(),
                })
                .collect(),
        }
    }

    /// Restores a saved state for the parameters of `net`.
    ///
    /// # Errors
    /// A state saved by another optimizer, or for other parameters: a name `net` does not have, a
    /// parameter of `net` the state lacks, another shape, other buffers, or a NaN or infinite value.
    fn load_state(&mut self, state: OptimizerState, net: &dyn Layer) -> Result<()> {
        let me = self.name();
        let fail = |reason: String| OptimError::State {
            optimizer: me,
            reason,
        };
        if state.optimizer != me {
            return Err(fail(format!("it was saved by {}", state.optimizer)));
        }
        let shapes: BTreeMap<String, Vec<usize>> = net
            .params()
            .into_iter()
            .map(|(n, p)| (n, p.value.shape().to_vec()))
            .collect();
        let names = self.buffer_names();
        let mut params = BTreeMap::new();
        for p in state.params {
            let Some(shape) = shapes.get(&p.name) else {
                return Err(fail(format!(
                    "it holds parameter {} which the network does not have",
                    p.name
                )));
            };
            if *shape != p.shape {
                return Err(fail(format!(
                    "parameter {} has shape {:?} in the state, {shape:?} in the network",
                    p.name, p.shape
                )));
            }
            let len: usize = shape.iter().product();
            let ok = p.buffers.len() == names.len()
                && p.buffers
                    .iter()
                    .zip(names)
                    .all(|((n, b), want)| n == want && b.len() == len);
            if !ok {
                return Err(fail(format!(
                    "parameter {}: buffers do not match {names:?} of {len} values",
                    p.name
                )));
            }
            if let Some((buffer, _)) = p
                .buffers
                .iter()
                .find(|(_, b)| b.iter().any(|v| !v.is_finite()))
            {
                return Err(fail(format!(
                    "parameter {}: buffer {buffer} holds a NaN or infinite value",
                    p.name
                )));
            }
            params.insert(
                p.name,
                ParamSlot {
                    step: p.step,
                    shape: p.shape,
                    buffers: p.buffers.into_iter().map(|(_, b)| b).collect(),
                },
            );
        }
        if !params.is_empty()
            && let Some(missing) = shapes.keys().find(|n| !params.contains_key(*n))
        {
            return Err(fail(format!("it has no entry for parameter {missing}")));
        }
        self.set_lr(state.lr)?;
        self.slots_mut().params = params;
        Ok(())
    }
}

/// `opt`'s rule on one named parameter, with its slot in `slots` (created at its first step).
fn step_param<O: Optimizer + ?Sized>(
    opt: &O,
    slots: &mut Slots,
    name: &str,
    param: &mut Param,
) -> Result<()> {
    if param.grad.shape() != param.value.shape() {
        return Err(OptimError::GradShape {
            optimizer: opt.name(),
            param: name.to_string(),
            value: param.value.shape().to_vec(),
            grad: param.grad.shape().to_vec(),
        });
    }
    make_standard(&mut param.value);
    make_standard(&mut param.grad);
    if !slots.params.contains_key(name) {
        let len = param.value.len();
        let slot = ParamSlot {
            step: 0,
            shape: param.value.shape().to_vec(),
            buffers: vec![vec![0.0; len]; opt.buffer_names().len()],
        };
        slots.params.insert(name.to_string(), slot);
    }
    if let Some(slot) = slots.params.get_mut(name) {
        slot.step = slot.step.saturating_add(1);
        if let (Some(value), Some(grad)) = (param.value.as_slice_mut(), param.grad.as_slice()) {
            opt.update(value, grad, slot.step, &mut slot.buffers);
        }
    }
    Ok(())
}

fn make_standard(t: &mut nn_layers::Tensor) {
    if t.as_slice().is_none() {
        *t = t.as_standard_layout().into_owned();
    }
}

/// Every parameter's state, by name (kept in name order, so saving is deterministic).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Slots {
    params: BTreeMap<String, ParamSlot>,
}

#[derive(Debug, Clone, PartialEq)]
struct ParamSlot {
    step: u64,
    shape: Vec<usize>,
    buffers: Vec<Vec<f32>>,
}

/// An optimizer's saved state (serde), for checkpoints that resume bit-exactly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptimizerState {
    /// The optimizer that saved it.
    pub optimizer: String,
    /// Its learning rate at the time.
    pub lr: f32,
    /// Each parameter's state, in name order.
    #[serde(
        deserialize_with = "nn_layers::bounded_serde::vec_at_most::<{ nn_layers::bounded_serde::MAX_TENSORS }, _, _>"
    )]
    pub params: Vec<ParamState>,
}

/// One parameter's saved state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParamState {
    /// The parameter's path name (`0.weight` ...).
    pub name: String,
    /// Steps taken for it.
    pub step: u64,
    /// Its shape.
    #[serde(
        deserialize_with = "nn_layers::bounded_serde::vec_at_most::<{ nn_layers::bounded_serde::MAX_RANK }, _, _>"
    )]
    pub shape: Vec<usize>,
    /// Its buffers by name (`exp_avg` ...), each flattened in row-major order.
    #[serde(
        deserialize_with = "nn_layers::bounded_serde::vec_at_most::<{ nn_layers::bounded_serde::MAX_RANK }, _, _>"
    )]
    pub buffers: Vec<(String, Vec<f32>)>,
}
