//! `Workspace`: the tensors a network passes from layer to layer, reused from step to step.

use core_tensor::Tensor;
use ndarray::{ArrayBase, Data, IxDyn};

/// The most buffers a [`Workspace`] holds for lending.
pub const MAX_HELD: usize = 64;

/// A free buffer is lent for a tensor of at most this many times fewer floats.
pub const MAX_OVERSIZE: usize = 2;

/// Memory for the tensors that flow between layers (outputs, gradients), lent by whoever runs
/// the network (a [`Sequential`](crate::Sequential), a training loop) and handed back when a
/// tensor is no longer needed.
///
/// A training step asks for the same sizes in the same order every time, so after the first
/// steps every request is met from memory given back before: a warm step allocates nothing.
/// [`Layer::forward_owned`](crate::Layer::forward_owned) and
/// [`Layer::backward_owned`](crate::Layer::backward_owned) take one; the layers of this crate
/// take their outputs from it and give their inputs back.
///
/// PyTorch's caching allocator plays this part on a GPU; here it is explicit and per network.
///
/// ```
/// use nn_layers::Workspace;
/// let mut ws = Workspace::new();
/// let t = ws.zeros(&[2, 3]);
/// let first = t.as_ptr();
/// ws.recycle(t);
/// let again = ws.zeros(&[3, 2]); // the same memory, reshaped and zeroed
/// assert_eq!((again.as_ptr(), again.sum()), (first, 0.0));
/// ```
#[derive(Debug, Default)]
pub struct Workspace {
    /// Buffers handed back, to be lent again.
    free: Vec<Vec<f32>>,
}

impl Workspace {
    /// An empty workspace.
    pub fn new() -> Self {
        Self::default()
    }

    /// A tensor of `shape` whose values are to be written by the caller: they are whatever the
    /// buffer held before (NaN in debug builds, so that a value left unwritten shows).
    pub fn tensor(&mut self, shape: &[usize]) -> Tensor {
        let len = shape.iter().product();
        let mut data = self.take(len);
        if cfg!(debug_assertions) {
            data.fill(f32::NAN);
        }
        self.shaped(shape, data)
    }

    /// A tensor of `shape` filled with zeros.
    pub fn zeros(&mut self, shape: &[usize]) -> Tensor {
        let len = shape.iter().product();
        let mut data = self.take(len);
        data.fill(0.0);
        self.shaped(shape, data)
    }

    /// A copy of `x` in standard layout, in memory from the workspace.
    pub fn copy_of<S: Data<Elem = f32>>(&mut self, x: &ArrayBase<S, IxDyn>) -> Tensor {
        let mut out = self.tensor(x.shape());
        out.assign(x);
        out
    }

    /// Gives `t`'s memory back, to be lent again. A workspace holds at most [`MAX_HELD`]
    /// buffers: past that (tensors that came from elsewhere, such as each step's input batch)
    /// the memory is freed.
    pub fn recycle(&mut self, t: Tensor) {
        let (data, _) = t.into_raw_vec_and_offset();
        if data.capacity() > 0 && self.free.len() < MAX_HELD {
            self.free.push(data);
        }
    }

    /// Buffers held for lending, and their floats in all.
    pub fn held(&self) -> (usize, usize) {
        (self.free.len(), self.free.iter().map(Vec::capacity).sum())
    }

    /// A buffer of `len` floats: the smallest free one that holds them and is at most
    /// [`MAX_OVERSIZE`] times as large, else a new one. Without that bound a network's small
    /// tensors (its logits, say) would take the large buffers given back earlier in the step
    /// and hold them while the large tensors of the backward pass needed new memory.
    fn take(&mut self, len: usize) -> Vec<f32> {
        let best = self
            .free
            .iter()
            .enumerate()
            .filter(|(_, b)| {
                b.capacity() >= len && b.capacity() <= len.saturating_mul(MAX_OVERSIZE)
            })
            .min_by_key(|(_, b)| b.capacity())
            .map(|(i, _)| i);
        let mut data = match best {
            Some(i) => self.free.swap_remove(i),
            None => Vec::with_capacity(len),
        };
        data.resize(len, 0.0);
        data
    }

    /// `data` as a tensor of `shape`; `data` holds exactly its elements.
    fn shaped(&mut self, shape: &[usize], data: Vec<f32>) -> Tensor {
        match Tensor::from_shape_vec(IxDyn(shape), data) {
            Ok(t) => t,
            Err(e) => {
                // `take` sized the buffer to the shape's product: never reached.
                debug_assert!(false, "a workspace buffer does not fit its shape: {e}");
                Tensor::zeros(IxDyn(shape))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_smallest_buffer_that_fits_is_lent() {
        let mut ws = Workspace::new();
        let (small, large) = (ws.zeros(&[4]), ws.zeros(&[8]));
        let (small_ptr, large_ptr) = (small.as_ptr(), large.as_ptr());
        ws.recycle(large);
        ws.recycle(small);
        assert_eq!(ws.zeros(&[3]).as_ptr(), small_ptr);
        assert_eq!(ws.zeros(&[5]).as_ptr(), large_ptr);
        assert_eq!(ws.held(), (0, 0));
    }

    #[test]
    fn a_much_larger_buffer_is_kept_for_a_larger_tensor() {
        let mut ws = Workspace::new();
        let large = ws.zeros(&[64]);
        let large_ptr = large.as_ptr();
        ws.recycle(large);
        let small = ws.zeros(&[64 / MAX_OVERSIZE - 1]);
        assert_ne!(small.as_ptr(), large_ptr);
        assert_eq!(ws.zeros(&[64 / MAX_OVERSIZE]).as_ptr(), large_ptr);
        ws.recycle(small);
        assert_eq!(ws.held().0, 1);
    }

    #[test]
    fn tensors_have_the_shape_asked_for() {
        let mut ws = Workspace::new();
        let t = ws.zeros(&[2, 3, 4]);
        ws.recycle(t);
        let t = ws.tensor(&[4, 6]);
        assert_eq!(t.shape(), &[4, 6]);
        let x = Tensor::from_shape_fn(IxDyn(&[2, 2]), |d| (d[0] * 2 + d[1]) as f32);
        assert_eq!(ws.copy_of(&x.t()), x.t());
    }
}
