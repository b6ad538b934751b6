//! `Model`: a network, its loss and its optimizer, and the training loop.

use std::time::Instant;

use core_tensor::random::seeded_rng;
use nn_data::{Batches, DataLoader, Dataset};
use nn_layers::{Layer, Mode, NetworkSpec, Param, Sequential, State, Tensor, Workspace};
use nn_optim::{Optimizer, Schedule, Scheduler};

use crate::error::{Result, TrainError};
use crate::history::{BatchRecord, EpochRecord, History, PhaseTimings};
use crate::loss_kind::LossKind;
use crate::optimizer_spec::OptimizerSpec;
use crate::progress::{EpochBar, Progress};
use crate::recipe::{BestEpoch, Recipe};

/// How [`Model::fit`] runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FitConfig {
    /// The epoch to stop after (a resumed model continues from the epochs it has done).
    pub epochs: usize,
    /// Images per batch.
    pub batch_size: usize,
    /// Seed of the per-epoch shuffle.
    pub shuffle_seed: u64,
    /// Progress bar or not.
    pub progress: Progress,
}

/// Loss and accuracy over a data set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evaluation {
    /// Mean loss per sample.
    pub loss: f32,
    /// Fraction classified correctly.
    pub accuracy: f32,
}

/// A classifier: any network, its loss ([`LossKind`], cross-entropy by default), an optimizer
/// (with optional weight decay) and an optional schedule, a [`Recipe`] (augmentation, early
/// stopping, keeping the best epoch), with the history of its training.
///
/// ```
/// use nn_data::Dataset;
/// use nn_train::{FitConfig, Model, OptimizerKind, OptimizerSpec, Progress};
///
/// // A toy set: 40 images of 28 x 28, the label is which half of the image is bright.
/// let mut pixels = Vec::new();
/// let labels: Vec<u8> = (0..40).map(|i| (i % 2) as u8).collect();
/// for &l in &labels {
///     pixels.extend((0..784).map(|p| if (p % 28 < 14) == (l == 0) { 255 } else { 0 }));
/// }
/// let data = Dataset::new(pixels, labels, 28, 28).unwrap();
/// let spec = nn_layers::models::lenet5_spec();
/// let mut model = Model::new(spec, OptimizerSpec { kind: OptimizerKind::Adam, lr: 1e-3 }, 0).unwrap();
/// let config = FitConfig { epochs: 3, batch_size: 8, shuffle_seed: 1, progress: Progress::Quiet };
/// model.fit(&data, None, &config, |_, _| Ok(())).unwrap();
/// assert_eq!(model.history().epochs.len(), 3);
/// assert!(model.evaluate(&data, 20).unwrap().accuracy > 0.9);
/// ```
#[derive(Debug)]
pub struct Model {
    pub(crate) spec: NetworkSpec,
    pub(crate) net: Sequential,
    pub(crate) optimizer_spec: OptimizerSpec,
    pub(crate) optimizer: Box<dyn Optimizer>,
    pub(crate) scheduler: Option<Scheduler>,
    pub(crate) history: History,
    pub(crate) epochs_done: usize,
    pub(crate) init_seed: u64,
    mode: Mode,
    pub(crate) loss: LossKind,
    eval_batch_size: usize,
    pub(crate) weight_decay: Option<f32>,
    pub(crate) schedule_per_batch: bool,
    pub(crate) recipe: Recipe,
    pub(crate) best: Option<BestEpoch>,
    /// The memory the network's activations and gradients pass through, reused every step.
    pub(crate) ws: Workspace,
}

/// The batch size [`Model::fit`] evaluates the validation set with, unless set otherwise: the
/// usual training batch size, so that evaluation runs in the memory the training step's tensors
/// left in the workspace. A larger one needs new buffers beside those (`Sequential` evaluates
/// in slices of up to [`nn_layers::EVAL_SLICE`] images, twice the training step's tensors from
/// 128 on) and evaluates no faster.
pub const DEFAULT_EVAL_BATCH_SIZE: usize = 64;

impl Model {
    /// A model of the network `spec`, initialised from `init_seed`, trained by `optimizer`.
    ///
    /// # Errors
    /// An invalid network spec or learning rate.
    pub fn new(spec: NetworkSpec, optimizer: OptimizerSpec, init_seed: u64) -> Result<Self> {
        let net = spec.build(&mut seeded_rng(init_seed))?;
        Self::from_parts(spec, net, optimizer, init_seed)
    }

    /// A model around an already built network (e.g. loaded from a file).
    ///
    /// # Errors
    /// An invalid learning rate.
    pub fn from_parts(
        spec: NetworkSpec,
        net: Sequential,
        optimizer: OptimizerSpec,
        init_seed: u64,
    ) -> Result<Self> {
        Ok(Self {
            spec,
            net,
            optimizer: optimizer.build()?,
            optimizer_spec: optimizer,
            scheduler: None,
            history: History::default(),
            epochs_done: 0,
            init_seed,
            mode: Mode::Train,
            loss: LossKind::default(),
            eval_batch_size: DEFAULT_EVAL_BATCH_SIZE,
            weight_decay: None,
            schedule_per_batch: false,
            recipe: Recipe::default(),
            best: None,
            ws: Workspace::new(),
        })
    }

    /// Trains with weight decay `weight_decay` (PyTorch's `weight_decay`: L2 for Adam and SGD,
    /// decoupled for AdamW) instead of the optimizer's default. Call it before training: it
    /// builds the optimizer afresh (at the schedule's current rate, if one is set).
    ///
    /// # Errors
    /// A negative or non-finite value.
    pub fn with_weight_decay(mut self, weight_decay: f32) -> Result<Self> {
        self.optimizer = self
            .optimizer_spec
            .build_with_weight_decay(Some(weight_decay))?;
        if let Some(s) = &self.scheduler {
            self.optimizer.set_lr(s.lr())?;
        }
        self.weight_decay = Some(weight_decay);
        Ok(self)
    }

    /// The weight decay set by [`Model::with_weight_decay`], if any.
    pub fn weight_decay(&self) -> Option<f32> {
        self.weight_decay
    }

    /// Trains with `recipe` (augmentation, keeping the best epoch, early stopping).
    ///
    /// # Errors
    /// An invalid recipe ([`Recipe::validate`]).
    pub fn with_recipe(mut self, recipe: Recipe) -> Result<Self> {
        recipe.validate()?;
        self.recipe = recipe;
        Ok(self)
    }

    /// The recipe it trains with.
    pub fn recipe(&self) -> &Recipe {
        &self.recipe
    }

    /// The epoch with the best validation accuracy so far and that accuracy, when the recipe
    /// keeps the best epoch or stops early.
    pub fn best_epoch(&self) -> Option<(usize, f32)> {
        self.best.as_ref().map(|b| (b.epoch, b.accuracy))
    }

    /// Whether early stopping ended training: [`Recipe::patience`] epochs have passed since the
    /// best one. [`Model::fit`] then trains no further.
    pub fn stopped_early(&self) -> bool {
        match (self.recipe.patience, &self.best) {
            (Some(patience), Some(best)) => self.epochs_done.saturating_sub(best.epoch) >= patience,
            _ => false,
        }
    }

    /// Trains with `loss` instead of the default cross-entropy.
    pub fn with_loss(mut self, loss: LossKind) -> Self {
        self.loss = loss;
        self
    }

    /// The loss it trains with.
    pub fn loss(&self) -> LossKind {
        self.loss
    }

    /// Evaluates the validation set in batches of `batch_size` (default
    /// [`DEFAULT_EVAL_BATCH_SIZE`]); the results do not depend on it, only the memory and time.
    ///
    /// # Errors
    /// A zero batch size.
    pub fn with_eval_batch_size(mut self, batch_size: usize) -> Result<Self> {
        if batch_size == 0 {
            return Err(TrainError::InvalidArgument(
                "the evaluation batch size must be at least 1".into(),
            ));
        }
        self.eval_batch_size = batch_size;
        Ok(self)
    }

    /// The batch size of evaluations during [`Model::fit`].
    pub fn eval_batch_size(&self) -> usize {
        self.eval_batch_size
    }

    /// Adds a learning-rate schedule, stepped once per epoch (its `t` counts epochs).
    ///
    /// # Errors
    /// An invalid schedule.
    pub fn with_schedule(mut self, schedule: Schedule) -> Result<Self> {
        self.scheduler = Some(Scheduler::new(schedule, self.optimizer_spec.lr)?);
        self.schedule_per_batch = false;
        Ok(self)
    }

    /// Adds a learning-rate schedule stepped after every batch (its `t` counts optimizer steps),
    /// as PyTorch's `OneCycleLR` is used.
    ///
    /// ```
    /// use nn_optim::Schedule;
    /// use nn_train::{Model, OptimizerKind, OptimizerSpec};
    /// let spec = nn_layers::models::lenet5_spec();
    /// let opt = OptimizerSpec { kind: OptimizerKind::AdamW, lr: 3e-3 };
    /// let total = 938 * 15; // batches per epoch times epochs
    /// let cycle = Schedule::OneCycle { total, pct_start: 0.3, div: 25.0, final_div: 1e4 };
    /// let model = Model::new(spec, opt, 0).unwrap().with_schedule_per_batch(cycle).unwrap();
    /// assert!(model.optimizer().lr() < 3e-3 / 24.0); // the cycle starts at lr / 25
    /// ```
    ///
    /// # Errors
    /// An invalid schedule.
    pub fn with_schedule_per_batch(mut self, schedule: Schedule) -> Result<Self> {
        let scheduler = Scheduler::new(schedule, self.optimizer_spec.lr)?;
        self.optimizer.set_lr(scheduler.lr())?;
        self.scheduler = Some(scheduler);
        self.schedule_per_batch = true;
        Ok(self)
    }

    /// The schedule and whether it is stepped per batch (else per epoch).
    pub fn schedule(&self) -> Option<(&Schedule, bool)> {
        self.scheduler
            .as_ref()
            .map(|s| (&s.schedule, self.schedule_per_batch))
    }

    /// The network.
    pub fn net(&self) -> &Sequential {
        &self.net
    }

    /// The network, mutably.
    pub fn net_mut(&mut self) -> &mut Sequential {
        &mut self.net
    }

    /// The network, giving up the rest of the model (optimizer state, history).
    pub fn into_net(self) -> Sequential {
        self.net
    }

    /// The network's spec.
    pub fn spec(&self) -> &NetworkSpec {
        &self.spec
    }

    /// The optimizer.
    pub fn optimizer(&self) -> &dyn Optimizer {
        self.optimizer.as_ref()
    }

    /// The optimizer's kind and base learning rate, as saved in checkpoints.
    pub fn optimizer_spec(&self) -> OptimizerSpec {
        self.optimizer_spec
    }

    /// What training recorded so far.
    pub fn history(&self) -> &History {
        &self.history
    }

    /// The seed the network was initialised from (and, in the trainer, the shuffle seed).
    pub fn init_seed(&self) -> u64 {
        self.init_seed
    }

    /// Epochs trained so far.
    pub fn epochs_done(&self) -> usize {
        self.epochs_done
    }

    /// Switches [`Model::forward`] and [`Model::predict`] to train mode (batch statistics, dropout).
    pub fn train(&mut self) {
        self.mode = Mode::Train;
    }

    /// Switches [`Model::forward`] and [`Model::predict`] to eval mode (running statistics, no
    /// dropout).
    pub fn eval(&mut self) {
        self.mode = Mode::Eval;
    }

    /// The current mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The network's output (logits) for `x` in the current mode.
    ///
    /// # Errors
    /// An input the network cannot take.
    pub fn forward(&mut self, x: &Tensor) -> Result<Tensor> {
        self.forward_in_mode(x, self.mode)
    }

    /// The network's output for `x` in `mode`, through the model's workspace.
    pub(crate) fn forward_in_mode(&mut self, x: &Tensor, mode: Mode) -> Result<Tensor> {
        let x = self.ws.copy_of(x);
        Ok(self.net.forward_owned(x, mode, &mut self.ws)?)
    }

    /// The predicted class of each image of `x`, in the current mode.
    ///
    /// # Errors
    /// An input the network cannot take.
    pub fn predict(&mut self, x: &Tensor) -> Result<Vec<usize>> {
        let logits = self.forward(x)?;
        let predicted = argmax_rows(&logits);
        self.ws.recycle(logits);
        Ok(predicted)
    }

    /// The fraction of `predictions` equal to `labels`.
    pub fn compute_accuracy(predictions: &[usize], labels: &[usize]) -> f32 {
        let correct = predictions
            .iter()
            .zip(labels)
            .filter(|(p, l)| p == l)
            .count();
        correct as f32 / labels.len().max(1) as f32
    }

    /// Loss and accuracy over `data` in eval mode, in batches of `batch_size`; the mode is
    /// restored afterwards.
    ///
    /// # Errors
    /// An empty data set, a zero batch size, or data the network cannot take.
    pub fn evaluate(&mut self, data: &Dataset, batch_size: usize) -> Result<Evaluation> {
        self.eval_pass(data, batch_size, |_, _| {})
    }

    /// One eval-mode pass over `data` in batches of `batch_size`: the loss and accuracy, with
    /// each batch's scores and predicted classes handed to `each` on the way.
    ///
    /// # Errors
    /// An empty data set, a zero batch size, or data the network cannot take.
    pub(crate) fn eval_pass(
        &mut self,
        data: &Dataset,
        batch_size: usize,
        mut each: impl FnMut(&Tensor, Vec<usize>),
    ) -> Result<Evaluation> {
        if data.is_empty() {
            return Err(TrainError::InvalidArgument(
                "cannot evaluate on an empty data set".into(),
            ));
        }
        let loader = DataLoader::new(data, batch_size)?;
        let (mut loss_sum, mut correct) = (0.0_f64, 0_usize);
        let mut batches = loader.epoch(0);
        let mut labels = Vec::with_capacity(loader.batch_size());
        while let Some(x) = next_batch(&mut self.ws, &mut batches, &mut labels) {
            let logits = self.net.forward_owned(x, Mode::Eval, &mut self.ws)?;
            let out = self.loss.forward_in(&logits, &labels, &mut self.ws)?;
            self.ws.recycle(out.grad);
            loss_sum += f64::from(out.loss) * labels.len() as f64;
            let predicted = argmax_rows(&logits);
            correct += predicted
                .iter()
                .zip(&labels)
                .filter(|(p, l)| p == l)
                .count();
            each(&logits, predicted);
            self.ws.recycle(logits);
        }
        let n = data.len().max(1) as f64;
        Ok(Evaluation {
            loss: (loss_sum / n) as f32,
            accuracy: (correct as f64 / n) as f32,
        })
    }

    /// Trains until `config.epochs` epochs are done (continuing from [`Model::epochs_done`]),
    /// evaluating on `validation` after each epoch and then calling `on_epoch` (to print, to
    /// write a checkpoint ...). With the [`Recipe`]'s patience it stops early; with its
    /// `keep_best` it leaves the best epoch's network in the model at the end (the optimizer
    /// and a checkpoint written by `on_epoch` keep the last epoch's state, to resume from).
    ///
    /// Epoch `e` visits the training set in the order `DataLoader::shuffle(shuffle_seed)` gives
    /// for `e`, so a resumed run sees exactly the batches an uninterrupted one would.
    ///
    /// After every step the loss, each parameter's gradient and each parameter are checked: the
    /// first NaN or infinite one stops training with [`TrainError::Diverged`], naming the epoch,
    /// the batch and the tensor, before the network is saved or stepped further.
    ///
    /// # Errors
    /// An empty training set, a zero batch size, a recipe that needs a validation set without
    /// one, [`TrainError::Diverged`], or whatever `on_epoch` returns.
    pub fn fit(
        &mut self,
        train: &Dataset,
        validation: Option<&Dataset>,
        config: &FitConfig,
        mut on_epoch: impl FnMut(&Model, &EpochRecord) -> Result<()>,
    ) -> Result<()> {
        if train.is_empty() {
            return Err(TrainError::InvalidArgument(
                "cannot train on an empty data set".into(),
            ));
        }
        if self.recipe.needs_validation() && validation.is_none() {
            return Err(TrainError::InvalidArgument(
                "keeping the best epoch or stopping early needs a validation set".into(),
            ));
        }
        let loader = DataLoader::new(train, config.batch_size)?
            .shuffle(config.shuffle_seed)
            .random_shift(nn_data::RandomShift::new(self.recipe.random_shift)?);
        while self.epochs_done < config.epochs && !self.stopped_early() {
            let epoch = self.epochs_done + 1;
            let mut record = self.train_epoch(&loader, epoch, config)?;
            if let Some(val) = validation {
                let ev = self.evaluate(val, self.eval_batch_size)?;
                record.val_loss = Some(ev.loss);
                record.val_accuracy = Some(ev.accuracy);
                let better = self.best.as_ref().is_none_or(|b| ev.accuracy > b.accuracy);
                if self.recipe.needs_validation() && better {
                    self.best = Some(BestEpoch::capture(&self.net, epoch, ev.accuracy));
                }
            }
            self.history.epochs.push(record.clone());
            self.epochs_done = epoch;
            if let Some(s) = &mut self.scheduler
                && !self.schedule_per_batch
            {
                s.step(self.optimizer.as_mut())?;
            }
            on_epoch(self, &record)?;
        }
        if self.recipe.keep_best
            && let Some(best) = &self.best
        {
            best.restore(&mut self.net)?;
        }
        Ok(())
    }

    fn train_epoch(
        &mut self,
        loader: &DataLoader<'_>,
        epoch: usize,
        config: &FitConfig,
    ) -> Result<EpochRecord> {
        let bar = EpochBar::new(config.progress, epoch, config.epochs, loader.num_batches());
        let mut t = PhaseTimings::default();
        let (mut loss_sum, mut correct, mut seen) = (0.0_f64, 0_usize, 0_usize);
        let lr = self.optimizer.lr();
        let start = Instant::now();
        let mut batches = loader.epoch(epoch);
        let mut index = 0;
        let mut labels = Vec::with_capacity(loader.batch_size());
        self.history.batches.reserve(loader.num_batches());
        loop {
            let t0 = Instant::now();
            let Some(x) = next_batch(&mut self.ws, &mut batches, &mut labels) else {
                break;
            };
            index += 1;
            let t1 = Instant::now();
            let logits = self.net.forward_owned(x, Mode::Train, &mut self.ws)?;
            let out = self.loss.forward_in(&logits, &labels, &mut self.ws)?;
            let diverged = |what: String| {
                bar.abandon();
                TrainError::Diverged {
                    epoch,
                    batch: index,
                    what,
                }
            };
            if !out.loss.is_finite() {
                return Err(diverged(format!("the loss is {}", out.loss)));
            }
            let t2 = Instant::now();
            self.optimizer.zero_grad(&mut self.net);
            self.net.backward_params_only(out.grad, &mut self.ws)?;
            if let Some(what) = first_non_finite(&self.net, |p| &p.grad, "the gradient of") {
                return Err(diverged(what));
            }
            let t3 = Instant::now();
            self.optimizer.step(&mut self.net)?;
            if let Some(what) = first_non_finite(&self.net, |p| &p.value, "parameter") {
                return Err(diverged(what));
            }
            if let Some(s) = &mut self.scheduler
                && self.schedule_per_batch
            {
                s.step(self.optimizer.as_mut())?;
            }
            let t4 = Instant::now();
            t.data_s += (t1 - t0).as_secs_f64();
            t.forward_s += (t2 - t1).as_secs_f64();
            t.backward_s += (t3 - t2).as_secs_f64();
            t.update_s += (t4 - t3).as_secs_f64();

            let n = labels.len();
            let hits = count_hits(&logits, &labels);
            self.ws.recycle(logits);
            loss_sum += f64::from(out.loss) * n as f64;
            correct += hits;
            seen += n;
            self.history.batches.push(BatchRecord {
                epoch,
                loss: out.loss,
                accuracy: hits as f32 / n as f32,
            });
            bar.inc();
            if index % 10 == 0 {
                bar.set_message(|| {
                    format!(
                        "loss={:.4} acc={:.4}",
                        loss_sum / seen as f64,
                        correct as f64 / seen as f64
                    )
                });
            }
        }
        bar.finish();
        let seen = seen.max(1) as f64;
        Ok(EpochRecord {
            epoch,
            train_loss: (loss_sum / seen) as f32,
            train_accuracy: (correct as f64 / seen) as f32,
            val_loss: None,
            val_accuracy: None,
            lr,
            train_s: start.elapsed().as_secs_f64(),
            timings: t,
        })
    }
}

/// The next batch of `batches`, written straight into memory from `ws`, and its labels into
/// `labels`; `None` at the end of the epoch.
fn next_batch(
    ws: &mut Workspace,
    batches: &mut Batches<'_>,
    labels: &mut Vec<usize>,
) -> Option<Tensor> {
    let shape = batches.next_shape()?;
    let mut x = ws.tensor(&shape);
    let filled = x
        .as_slice_mut()
        .is_some_and(|images| batches.next_into(images, labels));
    if filled {
        Some(x)
    } else {
        ws.recycle(x);
        None
    }
}

/// "`label` NAME holds VALUE" for the first parameter whose `tensor` (value or gradient) holds a
/// NaN or infinite value.
fn first_non_finite(
    net: &Sequential,
    tensor: impl Fn(&Param) -> &Tensor,
    label: &str,
) -> Option<String> {
    let mut found = None;
    net.visit(&mut |name, state| {
        let State::Param(p) = state else { return };
        if found.is_some() {
            return;
        }
        let t = tensor(p);
        // A branch-free OR over every value (it vectorises), then the search only when needed:
        // this runs twice per step.
        let any = match t.as_slice_memory_order() {
            Some(s) => s.iter().fold(false, |acc, v| acc | !v.is_finite()),
            None => t.iter().any(|v| !v.is_finite()),
        };
        if any {
            let v = t
                .iter()
                .find(|v| !v.is_finite())
                .copied()
                .unwrap_or(f32::NAN);
            found = Some(format!("{label} {name} holds {v}"));
        }
    });
    found
}

/// How many rows of `logits` (N, C) have their largest value (the first on ties) at their label.
fn count_hits(logits: &Tensor, labels: &[usize]) -> usize {
    logits
        .outer_iter()
        .zip(labels)
        .filter(|(row, label)| row_argmax(row.iter()) == **label)
        .count()
}

/// The index of the largest value of each row of a (N, C) tensor (the first on ties).
pub fn argmax_rows(logits: &Tensor) -> Vec<usize> {
    logits
        .outer_iter()
        .map(|row| row_argmax(row.iter()))
        .collect()
}

/// The index of the largest of `values` (the first on ties; 0 for none or all NaN).
fn row_argmax<'a>(values: impl Iterator<Item = &'a f32>) -> usize {
    values
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |(bi, bv), (i, &v)| {
            if v > bv { (i, v) } else { (bi, bv) }
        })
        .0
}
