//! What a training run records: per batch and per epoch.

use serde::{Deserialize, Serialize};

/// Loss and accuracy of one training batch.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BatchRecord {
    /// The epoch (from 1).
    pub epoch: usize,
    /// The batch's mean loss.
    pub loss: f32,
    /// The batch's accuracy in [0, 1].
    pub accuracy: f32,
}

/// Seconds spent in each phase of an epoch's training loop.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct PhaseTimings {
    /// Building batches (gather and convert to f32).
    pub data_s: f64,
    /// Forward pass and loss.
    pub forward_s: f64,
    /// Backward pass.
    pub backward_s: f64,
    /// Zeroing gradients and the optimizer step.
    pub update_s: f64,
}

impl PhaseTimings {
    /// The sum of the phases.
    pub fn total(&self) -> f64 {
        self.data_s + self.forward_s + self.backward_s + self.update_s
    }
}

/// The summary of one epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// The epoch (from 1).
    pub epoch: usize,
    /// Mean training loss over the epoch's samples.
    pub train_loss: f32,
    /// Training accuracy over the epoch's samples.
    pub train_accuracy: f32,
    /// Validation loss, when a validation set was given.
    pub val_loss: Option<f32>,
    /// Validation accuracy, when a validation set was given.
    pub val_accuracy: Option<f32>,
    /// The learning rate used.
    pub lr: f32,
    /// Wall-clock seconds of the training loop (evaluation excluded).
    pub train_s: f64,
    /// Where those seconds went.
    pub timings: PhaseTimings,
}

/// Everything a run recorded, kept in the model so that a resumed run continues its curves.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct History {
    /// Every training batch.
    pub batches: Vec<BatchRecord>,
    /// Every epoch.
    pub epochs: Vec<EpochRecord>,
}

impl History {
    /// The batch losses smoothed by a centred moving average over `window` batches (shorter at
    /// the ends), which follows the curve without lagging behind it.
    pub fn smoothed_batch_loss(&self, window: usize) -> Vec<f32> {
        smooth(
            &self.batches.iter().map(|b| b.loss).collect::<Vec<_>>(),
            window,
        )
    }

    /// The batch accuracies smoothed likewise.
    pub fn smoothed_batch_accuracy(&self, window: usize) -> Vec<f32> {
        smooth(
            &self.batches.iter().map(|b| b.accuracy).collect::<Vec<_>>(),
            window,
        )
    }
}

fn smooth(values: &[f32], window: usize) -> Vec<f32> {
    let half = window / 2;
    let mut prefix = vec![0.0_f64; values.len() + 1];
    for (i, &v) in values.iter().enumerate() {
        prefix[i + 1] = prefix[i] + f64::from(v);
    }
    (0..values.len())
        .map(|i| {
            let lo = i.saturating_sub(half);
            let hi = (i + half + 1).min(values.len());
            ((prefix[hi] - prefix[lo]) / (hi - lo) as f64) as f32
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smoothing_is_a_centred_moving_average() {
        let h = History {
            batches: [1.0, 1.0, 0.0, 0.0, 4.0]
                .iter()
                .map(|&l| BatchRecord {
                    epoch: 1,
                    loss: l,
                    accuracy: 0.5,
                })
                .collect(),
            epochs: vec![],
        };
        assert_eq!(
            h.smoothed_batch_loss(3),
            vec![1.0, 2.0 / 3.0, 1.0 / 3.0, 4.0 / 3.0, 2.0]
        );
        assert_eq!(h.smoothed_batch_accuracy(1), vec![0.5; 5]);
    }
}
