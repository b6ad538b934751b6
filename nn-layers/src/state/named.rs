//! What is built on the visit: the prefixing of children's names and the named views.

use core_tensor::Tensor;

use super::{State, StateMut, Visitor, VisitorMut};
use crate::error::{LayerError, Result};
use crate::layer::Layer;
use crate::param::Param;

/// Visits `child`'s state with every name prefixed by `prefix.` (the one place a container
/// names its children's state).
pub fn visit_child<'a>(prefix: &str, child: &'a dyn Layer, visitor: &mut Visitor<'_, 'a>) {
    child.visit(&mut |name, state| with_joined(prefix, name, |joined| visitor(joined, state)));
}

/// [`visit_child`], mutably.
pub fn visit_child_mut<'a>(
    prefix: &str,
    child: &'a mut dyn Layer,
    visitor: &mut VisitorMut<'_, 'a>,
) {
    child.visit_mut(&mut |name, state| with_joined(prefix, name, |joined| visitor(joined, state)));
}

/// Calls `f` with `prefix.name`, built on the stack when it is short (as names are), so that
/// walking a network's state allocates nothing.
fn with_joined<T>(prefix: &str, name: &str, f: impl FnOnce(&str) -> T) -> T {
    let len = prefix.len() + 1 + name.len();
    let mut buf = [0_u8; 256];
    if let Some(joined) = buf.get_mut(..len) {
        let (head, tail) = joined.split_at_mut(prefix.len());
        head.copy_from_slice(prefix.as_bytes());
        tail[0] = b'.';
        tail[1..].copy_from_slice(name.as_bytes());
        // Two strings and a '.' are UTF-8.
        if let Ok(joined) = std::str::from_utf8(joined) {
            return f(joined);
        }
    }
    f(&format!("{prefix}.{name}"))
}

/// Named views of a layer's state, built on [`Layer::visit`] and [`Layer::visit_mut`]: every
/// layer has them, including a whole network. Names are paths as PyTorch's `state_dict` spells
/// them (`0.weight`, `3.bn1.running_mean`), in the order of the visit.
///
/// ```
/// use nn_layers::{BatchNormConfig, LinearConfig, NamedState, Sequential};
/// let rng = &mut core_tensor::random::seeded_rng(0);
/// let net = Sequential::new(&[4])
///     .add(LinearConfig::new(4, 3).init(rng).unwrap()).unwrap()
///     .add(BatchNormConfig::new(3).init().unwrap()).unwrap();
/// let names: Vec<String> = net.params().into_iter().map(|(n, _)| n).collect();
/// assert_eq!(names, ["0.weight", "0.bias", "1.weight", "1.bias"]);
/// assert_eq!(net.counters(), vec![("1.num_batches_tracked".to_string(), 0)]);
/// assert_eq!(net.num_params(), 4 * 3 + 3 + 3 + 3);
/// ```
pub trait NamedState {
    /// The trainable parameters.
    fn params(&self) -> Vec<(String, &Param)>;
    /// The trainable parameters, mutably.
    fn params_mut(&mut self) -> Vec<(String, &mut Param)>;
    /// The buffers.
    fn buffers(&self) -> Vec<(String, &Tensor)>;
    /// The buffers, mutably.
    fn buffers_mut(&mut self) -> Vec<(String, &mut Tensor)>;
    /// The counters.
    fn counters(&self) -> Vec<(String, u64)>;
    /// Sets the counter `name`.
    ///
    /// # Errors
    /// No counter of that name.
    fn set_counter(&mut self, name: &str, value: u64) -> Result<()>;
    /// The position of every random generator.
    fn rng_positions(&self) -> Vec<(String, u128)>;
    /// Moves the generator `name` to `position`.
    ///
    /// # Errors
    /// No generator of that name.
    fn set_rng_position(&mut self, name: &str, position: u128) -> Result<()>;
    /// Sets every parameter's gradient to zero.
    fn zero_grad(&mut self);
    /// The number of trainable scalars.
    fn num_params(&self) -> usize;
}

/// The pieces of `layer`'s state that `pick` keeps, by name, in the order of the visit.
fn collect<'a, L: Layer + ?Sized, T>(
    layer: &'a L,
    pick: impl Fn(State<'a>) -> Option<T>,
) -> Vec<(String, T)> {
    let mut out = Vec::new();
    layer.visit(&mut |name, state| {
        if let Some(t) = pick(state) {
            out.push((name.to_string(), t));
        }
    });
    out
}

/// [`collect`], mutably.
fn collect_mut<'a, L: Layer + ?Sized, T>(
    layer: &'a mut L,
    pick: impl Fn(StateMut<'a>) -> Option<T>,
) -> Vec<(String, T)> {
    let mut out = Vec::new();
    layer.visit_mut(&mut |name, state| {
        if let Some(t) = pick(state) {
            out.push((name.to_string(), t));
        }
    });
    out
}

impl<L: Layer + ?Sized> NamedState for L {
    fn params(&self) -> Vec<(String, &Param)> {
        collect(self, |s| match s {
            State::Param(p) => Some(p),
            _ => None,
        })
    }

    fn params_mut(&mut self) -> Vec<(String, &mut Param)> {
        collect_mut(self, |s| match s {
            StateMut::Param(p) => Some(p),
            _ => None,
        })
    }

    fn buffers(&self) -> Vec<(String, &Tensor)> {
        collect(self, |s| match s {
            State::Buffer(b) => Some(b),
            _ => None,
        })
    }

    fn buffers_mut(&mut self) -> Vec<(String, &mut Tensor)> {
        collect_mut(self, |s| match s {
            StateMut::Buffer(b) => Some(b),
            _ => None,
        })
    }

    fn counters(&self) -> Vec<(String, u64)> {
        collect(self, |s| match s {
            State::Counter(c) => Some(c),
            _ => None,
        })
    }

    fn set_counter(&mut self, name: &str, value: u64) -> Result<()> {
        let mut found = false;
        self.visit_mut(&mut |n, state| {
            if let StateMut::Counter(c) = state
                && n == name
            {
                *c = value;
                found = true;
            }
        });
        found
            .then_some(())
            .ok_or_else(|| unknown(self, name, "counter"))
    }

    fn rng_positions(&self) -> Vec<(String, u128)> {
        collect(self, |s| match s {
            State::Rng(r) => Some(r.get_word_pos()),
            _ => None,
        })
    }

    fn set_rng_position(&mut self, name: &str, position: u128) -> Result<()> {
        let mut found = false;
        self.visit_mut(&mut |n, state| {
            if let StateMut::Rng(r) = state
                && n == name
            {
                r.set_word_pos(position);
                found = true;
            }
        });
        found
            .then_some(())
            .ok_or_else(|| unknown(self, name, "random generator"))
    }

    fn zero_grad(&mut self) {
        self.visit_mut(&mut |_, state| {
            if let StateMut::Param(p) = state {
                p.zero_grad();
            }
        });
    }

    fn num_params(&self) -> usize {
        let mut total = 0;
        self.visit(&mut |_, state| {
            if let State::Param(p) = state {
                total += p.value.len();
            }
        });
        total
    }
}

fn unknown<L: Layer + ?Sized>(layer: &L, name: &str, what: &str) -> LayerError {
    LayerError::State {
        what: name.to_string(),
        message: format!("{} has no {what} of that name", layer.describe()),
    }
}
