//! What training does beyond the optimizer's step: augmentation, early stopping, keeping the
//! best epoch. Kept in checkpoints, so that a resumed run goes on as the uninterrupted one would.

use nn_layers::{NamedState, Sequential, Tensor};
use serde::{Deserialize, Serialize};

use crate::error::{Result, TrainError};

/// How [`crate::Model::fit`] trains beyond the optimizer and the schedule.
///
/// ```
/// use nn_train::Recipe;
/// let recipe = Recipe { random_shift: 2, keep_best: true, ..Recipe::default() };
/// assert!(recipe.validate().is_ok());
/// assert!(Recipe { patience: Some(0), ..Recipe::default() }.validate().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Recipe {
    /// Each training image moved by up to this many pixels each way, seeded
    /// ([`nn_data::RandomShift`]); 0 for none.
    pub random_shift: usize,
    /// After training, the network of the epoch with the best validation accuracy is what the
    /// model holds (Keras: `EarlyStopping(restore_best_weights=True)`).
    pub keep_best: bool,
    /// Stops when this many epochs in a row bring no better validation accuracy.
    pub patience: Option<usize>,
    /// Training images the caller held out as the validation set (the trainer's
    /// `--val-split`), recorded so that a resumed run can hold out the same ones.
    pub validation_split: usize,
}

impl Recipe {
    /// Checks the settings.
    ///
    /// # Errors
    /// A shift above [`nn_data::MAX_SHIFT`] or a patience of 0.
    pub fn validate(&self) -> Result<()> {
        nn_data::RandomShift::new(self.random_shift)?;
        if self.patience == Some(0) {
            return Err(TrainError::InvalidArgument(
                "the patience of early stopping must be at least 1 epoch".into(),
            ));
        }
        Ok(())
    }

    /// Whether training needs a validation set (to keep the best epoch or to stop early).
    pub fn needs_validation(&self) -> bool {
        self.keep_best || self.patience.is_some()
    }
}

/// The network's values at the epoch of the best validation accuracy so far.
#[derive(Debug, Clone, PartialEq)]
pub struct BestEpoch {
    /// The epoch (from 1).
    pub epoch: usize,
    /// Its validation accuracy.
    pub accuracy: f32,
    /// Parameters then buffers, in the network's order.
    pub(crate) tensors: Vec<Tensor>,
    /// The network's counters.
    pub(crate) counters: Vec<(String, u64)>,
}

impl BestEpoch {
    /// The values of `net` now, as the best at `epoch` with validation accuracy `accuracy`.
    pub(crate) fn capture(net: &Sequential, epoch: usize, accuracy: f32) -> Self {
        let params = net.params().into_iter().map(|(_, p)| p.value.clone());
        let buffers = net.buffers().into_iter().map(|(_, t)| t.clone());
        Self {
            epoch,
            accuracy,
            tensors: params.chain(buffers).collect(),
            counters: net.counters(),
        }
    }

    /// Puts these values back into `net`.
    ///
    /// # Errors
    /// A network of another architecture (a tensor count, shape or counter that differs).
    pub(crate) fn restore(&self, net: &mut Sequential) -> Result<()> {
        let mismatch = |what: String| {
            TrainError::InvalidArgument(format!(
                "the best epoch's values do not fit this network: {what}"
            ))
        };
        let mut values = self.tensors.iter();
        let mut put = |name: &str, target: &mut Tensor| {
            match values.next() {
                Some(v) if v.shape() == target.shape() => target.assign(v),
                _ => return Err(mismatch(format!("tensor {name}"))),
            }
            Ok(())
        };
        for (name, p) in net.params_mut() {
            put(&name, &mut p.value)?;
        }
        for (name, t) in net.buffers_mut() {
            put(&name, t)?;
        }
        if values.next().is_some() {
            return Err(mismatch("more tensors than the network has".into()));
        }
        for (name, value) in &self.counters {
            net.set_counter(name, *value)?;
        }
        Ok(())
    }
}
