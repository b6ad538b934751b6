//! What a classifier gets right and wrong: each image's class and probabilities, the confusion
//! matrix and per-class accuracy.

use ndarray::{Array2, ArrayView1};
use nn_data::Dataset;
use nn_layers::{Mode, Tensor};

use crate::error::{Result, TrainError};
use crate::model::{Evaluation, Model};

/// Every image's predicted class and class probabilities, from [`Model::classify`].
#[derive(Debug, Clone, PartialEq)]
pub struct Classification {
    /// The predicted class of each image (the most probable).
    pub predicted: Vec<usize>,
    /// The probability of each class, one row per image (the softmax of the network's scores,
    /// or the scores themselves when the network ends in a softmax).
    pub probabilities: Array2<f32>,
    /// The loss and accuracy of the same pass.
    pub evaluation: Evaluation,
}

impl Classification {
    /// The indices of the images whose prediction differs from `labels`.
    pub fn mistakes(&self, labels: &[u8]) -> Vec<usize> {
        self.predicted
            .iter()
            .zip(labels)
            .enumerate()
            .filter(|(_, (p, l))| **p != usize::from(**l))
            .map(|(i, _)| i)
            .collect()
    }

    /// The `k` most probable classes of image `i`, most probable first, with their
    /// probabilities ([`top_classes`] of its row).
    pub fn top(&self, i: usize, k: usize) -> Vec<(usize, f32)> {
        top_classes(self.probabilities.row(i), k)
    }
}

impl Model {
    /// Classifies every image of `data` in eval mode, in batches of `batch_size` (the results do
    /// not depend on it), with the loss and accuracy of the same pass.
    ///
    /// # Errors
    /// An empty data set, a zero batch size, or data the network cannot take.
    pub fn classify(&mut self, data: &Dataset, batch_size: usize) -> Result<Classification> {
        let softmaxed = self.ends_in_softmax();
        let (mut predicted, mut rows, mut classes) = (Vec::new(), Vec::new(), 0);
        let evaluation = self.eval_pass(data, batch_size, |scores, classes_of_batch| {
            classes = scores.shape().get(1).copied().unwrap_or(0);
            push_probabilities(scores, softmaxed, &mut rows);
            predicted.extend(classes_of_batch);
        })?;
        let probabilities = Array2::from_shape_vec((data.len(), classes), rows)
            .map_err(|e| TrainError::InvalidArgument(format!("network output: {e}")))?;
        Ok(Classification {
            predicted,
            probabilities,
            evaluation,
        })
    }

    /// The class probabilities of `x`'s images (N, C, H, W) in eval mode.
    ///
    /// # Errors
    /// An input the network cannot take.
    pub fn predict_probabilities(&mut self, x: &Tensor) -> Result<Array2<f32>> {
        let scores = self.forward_in_mode(x, Mode::Eval)?;
        let (n, c) = (
            scores.shape()[0],
            scores.shape().get(1).copied().unwrap_or(0),
        );
        let mut rows = Vec::with_capacity(scores.len());
        push_probabilities(&scores, self.ends_in_softmax(), &mut rows);
        self.ws.recycle(scores);
        Array2::from_shape_vec((n, c), rows)
            .map_err(|e| TrainError::InvalidArgument(format!("network output: {e}")))
    }

    /// Whether the network's last layer is a softmax (its scores are probabilities already).
    fn ends_in_softmax(&self) -> bool {
        self.net
            .layers()
            .last()
            .and_then(|l| l.spec())
            .is_some_and(|s| s.kind() == "Softmax")
    }
}

/// Appends the rows of `scores` to `out` as probabilities: as they are when `softmaxed`, else
/// their softmax.
fn push_probabilities(scores: &Tensor, softmaxed: bool, out: &mut Vec<f32>) {
    for row in scores.outer_iter() {
        if softmaxed {
            out.extend(row.iter().copied());
            continue;
        }
        // In f64 from the largest score down: no overflow, the same bits on every machine.
        let max = row.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
        let sum: f64 = row.iter().map(|&v| f64::from(v - max).exp()).sum();
        out.extend(row.iter().map(|&v| (f64::from(v - max).exp() / sum) as f32));
    }
}

/// The `k` most probable classes of a row of probabilities, most probable first (the lower
/// class first among equals), with their probabilities.
///
/// ```
/// let p = ndarray::arr1(&[0.1_f32, 0.6, 0.3]);
/// assert_eq!(nn_train::top_classes(p.view(), 2), vec![(1, 0.6), (2, 0.3)]);
/// ```
pub fn top_classes(probabilities: ArrayView1<'_, f32>, k: usize) -> Vec<(usize, f32)> {
    let mut ranked: Vec<(usize, f32)> = probabilities.iter().copied().enumerate().collect();
    // A stable sort: equal probabilities keep their order.
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    ranked.truncate(k);
    ranked
}

/// Counts of (true class, predicted class) pairs.
///
/// ```
/// use nn_train::ConfusionMatrix;
/// let m = ConfusionMatrix::new(3, &[0, 1, 2, 2], &[0, 2, 2, 2]).unwrap();
/// assert_eq!(m.count(1, 2), 1);
/// assert_eq!(m.per_class_accuracy(), vec![Some(1.0), Some(0.0), Some(1.0)]);
/// assert_eq!(m.accuracy(), 0.75);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfusionMatrix {
    classes: usize,
    /// Row-major: `counts[t * classes + p]`.
    counts: Vec<u64>,
}

impl ConfusionMatrix {
    /// The matrix of `labels` against `predicted` over `classes` classes.
    ///
    /// # Errors
    /// Lists of different lengths, or a class of `classes` or more.
    pub fn new(classes: usize, labels: &[u8], predicted: &[usize]) -> Result<Self> {
        if labels.len() != predicted.len() {
            return Err(TrainError::InvalidArgument(format!(
                "{} labels against {} predictions",
                labels.len(),
                predicted.len()
            )));
        }
        let mut counts = vec![0; classes * classes];
        for (&t, &p) in labels.iter().zip(predicted) {
            let t = usize::from(t);
            if t >= classes || p >= classes {
                return Err(TrainError::InvalidArgument(format!(
                    "class {} is outside the {classes} classes",
                    t.max(p)
                )));
            }
            counts[t * classes + p] += 1;
        }
        Ok(Self { classes, counts })
    }

    /// The number of classes.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// How many images of class `truth` were predicted as `predicted`.
    pub fn count(&self, truth: usize, predicted: usize) -> u64 {
        self.counts
            .get(truth * self.classes + predicted)
            .copied()
            .unwrap_or(0)
    }

    /// How many images of class `truth` there are.
    pub fn support(&self, truth: usize) -> u64 {
        (0..self.classes).map(|p| self.count(truth, p)).sum()
    }

    /// The fraction of each class's images classified correctly (recall), `None` for a class
    /// without images.
    pub fn per_class_accuracy(&self) -> Vec<Option<f32>> {
        (0..self.classes)
            .map(|c| {
                let n = self.support(c);
                (n > 0).then(|| self.count(c, c) as f32 / n as f32)
            })
            .collect()
    }

    /// The fraction of all images classified correctly.
    pub fn accuracy(&self) -> f32 {
        let right: u64 = (0..self.classes).map(|c| self.count(c, c)).sum();
        let all: u64 = self.counts.iter().sum();
        right as f32 / all.max(1) as f32
    }

    /// The matrix as a text table: a row per true class (its name, its counts by predicted
    /// class, its accuracy), a column per predicted class headed by the first characters of its
    /// name.
    ///
    /// ```
    /// use nn_train::ConfusionMatrix;
    /// let m = ConfusionMatrix::new(2, &[0, 1, 1], &[0, 1, 0]).unwrap();
    /// let names = ["cat".to_string(), "dog".to_string()];
    /// let table = m.table(&names);
    /// assert!(table.contains("dog"));
    /// assert!(table.lines().any(|l| l.starts_with("dog") && l.ends_with("50.0 %")));
    /// ```
    pub fn table(&self, names: &[String]) -> String {
        let name = |c: usize| names.get(c).cloned().unwrap_or_else(|| c.to_string());
        let row_width = (0..self.classes)
            .map(|c| name(c).chars().count())
            .max()
            .unwrap_or(1)
            .max(4);
        let widest = self
            .counts
            .iter()
            .max()
            .copied()
            .unwrap_or(0)
            .to_string()
            .len();
        let cell = widest.max(4);
        let mut out = format!("{:<row_width$}", "true");
        for p in 0..self.classes {
            let head: String = name(p).chars().take(cell).collect();
            out.push_str(&format!(" {head:>cell$}"));
        }
        out.push_str(" | accuracy\n");
        for (t, acc) in self.per_class_accuracy().into_iter().enumerate() {
            out.push_str(&format!("{:<row_width$}", name(t)));
            for p in 0..self.classes {
                out.push_str(&format!(" {:>cell$}", self.count(t, p)));
            }
            match acc {
                Some(a) => out.push_str(&format!(" | {:5.1} %\n", a * 100.0)),
                None => out.push_str(" |     -\n"),
            }
        }
        out.pop();
        out
    }
}
