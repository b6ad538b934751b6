//! The command line: subcommands, their arguments and the parsers of their values.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use examples::classes::{ClassNames, parse_classes};
use examples::parse_threads;
use examples::schedule_arg::{ScheduleArg, parse_schedule};
use nn_train::{LossKind, OptimizerKind};

/// The defaults of `train` (documented in its `--help`).
pub(crate) const DEFAULT_LR: f32 = 0.001;
pub(crate) const DEFAULT_OPTIMIZER: OptimizerKind = OptimizerKind::Adam;
pub(crate) const DEFAULT_SEED: u64 = 42;

/// `--loss`, as clap reads it.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LossArg {
    /// Softmax cross-entropy on the logits.
    CrossEntropy,
    /// Mean squared error against the one-hot labels.
    Mse,
}

impl From<LossArg> for LossKind {
    fn from(arg: LossArg) -> Self {
        match arg {
            LossArg::CrossEntropy => Self::CrossEntropy,
            LossArg::Mse => Self::Mse,
        }
    }
}

#[derive(Parser, Debug)]
#[command(
    name = "lenet5",
    version,
    about = "Train and evaluate LeNet5, or a network of a JSON file, on MNIST-format data \
             (bundled MNIST by default)."
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// Train a network (LeNet5 by default) and report test accuracy after every epoch.
    Train(Box<TrainArgs>),
    /// Evaluate a saved model on the test set.
    Eval(EvalArgs),
    /// Classify image files (PNG, JPEG, PGM) with a saved model.
    Predict(PredictArgs),
    /// Write a saved model as safetensors (PyTorch's names) and/or ONNX.
    Export(ExportArgs),
}

#[derive(clap::Args, Debug)]
pub(crate) struct DataArgs {
    /// Folder with the four IDX files (plain or .gz); default: the bundled data/mnist.
    #[arg(long, value_name = "DIR")]
    pub(crate) data: Option<PathBuf>,
    /// Threads for the kernels, 1 to 256; default: all cores.
    #[arg(long, value_name = "N", value_parser = parse_threads)]
    pub(crate) threads: Option<usize>,
    /// Evaluate on the first N test images only.
    #[arg(long, value_name = "N", value_parser = positive)]
    pub(crate) test_limit: Option<usize>,
}

/// What `train` and `eval` report about the test set beyond its accuracy.
#[derive(clap::Args, Debug)]
pub(crate) struct ReportArgs {
    /// Class names, in class order, for the tables and pictures [default: the lines of
    /// classes.txt beside the data files, else the class indices].
    #[arg(long, value_name = "A,B,..", value_parser = parse_classes)]
    pub(crate) classes: Option<ClassNames>,
    /// Draw the test set's confusion matrix to FILE (.png or .svg).
    #[arg(long, value_name = "FILE")]
    pub(crate) confusion: Option<PathBuf>,
    /// Draw up to 64 misclassified test images to FILE (.png or .svg).
    #[arg(long, value_name = "FILE")]
    pub(crate) errors: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub(crate) struct TrainArgs {
    /// The network to train, as a JSON network file (see examples/networks/) [default: LeNet5;
    /// with --resume, the checkpoint's].
    #[arg(long, value_name = "FILE")]
    pub(crate) net: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) data: DataArgs,
    /// Epochs in total (a resumed run continues up to this many).
    #[arg(long, default_value_t = 2, value_parser = positive)]
    pub(crate) epochs: usize,
    /// Images per batch.
    #[arg(long, default_value_t = 64, value_parser = positive)]
    pub(crate) batch_size: usize,
    /// Learning rate [default: 0.001; with --resume, the checkpoint's].
    #[arg(long, allow_negative_numbers = true, value_parser = learning_rate)]
    pub(crate) lr: Option<f32>,
    /// adam, adamw, sgd, momentum, adagrad or rmsprop [default: adam; with --resume, the
    /// checkpoint's].
    #[arg(long, value_parser = optimizer)]
    pub(crate) optimizer: Option<OptimizerKind>,
    /// The loss [default: cross-entropy; with --resume, the checkpoint's].
    #[arg(long, value_enum)]
    pub(crate) loss: Option<LossArg>,
    /// Seed of the initialisation and the shuffle [default: 42; with --resume, the checkpoint's].
    #[arg(long)]
    pub(crate) seed: Option<u64>,
    /// Images per batch when evaluating on the test set.
    #[arg(long, value_name = "N", default_value_t = nn_train::DEFAULT_EVAL_BATCH_SIZE, value_parser = positive)]
    pub(crate) eval_batch_size: usize,
    /// Train on the first N training images only.
    #[arg(long, value_name = "N", value_parser = positive)]
    pub(crate) limit: Option<usize>,
    /// Save the trained model to FILE.
    #[arg(long, value_name = "FILE")]
    pub(crate) save: Option<PathBuf>,
    /// Write a checkpoint to FILE after every epoch.
    #[arg(long, value_name = "FILE")]
    pub(crate) checkpoint: Option<PathBuf>,
    /// Continue from a checkpoint up to --epochs, with its optimizer, learning rate and seed
    /// (giving other ones is an error).
    #[arg(long, value_name = "FILE")]
    pub(crate) resume: Option<PathBuf>,
    /// Draw the loss and accuracy curves to FILE (.svg and .png).
    #[arg(long, value_name = "FILE")]
    pub(crate) plot: Option<PathBuf>,
    /// Write a row per epoch to FILE (.csv or .jsonl) as training goes; a resumed run appends.
    #[arg(long, value_name = "FILE")]
    pub(crate) log: Option<PathBuf>,
    /// Learning-rate schedule: constant, step:EPOCHS:GAMMA (per epoch), cosine or one-cycle
    /// (both per batch over the whole run) [default: constant; with --resume, the checkpoint's].
    #[arg(long, value_name = "SCHEDULE", value_parser = parse_schedule)]
    pub(crate) schedule: Option<ScheduleArg>,
    /// Weight decay (L2 for adam, sgd ...; decoupled for adamw) [default: the optimizer's: 0,
    /// adamw 0.01; with --resume, the checkpoint's].
    #[arg(long, value_name = "W", value_parser = weight_decay)]
    pub(crate) weight_decay: Option<f32>,
    /// Standardise the inputs by the training images' mean and std (a Standardize layer put
    /// first in the network, so saved models carry it).
    #[arg(long)]
    pub(crate) standardize: bool,
    /// Move each training image by up to PIXELS pixels each way, seeded (0 to 8) [default: 0;
    /// with --resume, the checkpoint's].
    #[arg(long, value_name = "PIXELS", value_parser = clap::value_parser!(u8).range(0..=8))]
    pub(crate) shift: Option<u8>,
    /// Hold out the last N training images as a validation set, evaluated after every epoch in
    /// place of the test set [default: none; with --resume, the checkpoint's].
    #[arg(long, value_name = "N", value_parser = positive)]
    pub(crate) val_split: Option<usize>,
    /// Keep the epoch with the best validation accuracy: it is what --save writes and what is
    /// tested at the end.
    #[arg(long, requires = "val_split")]
    pub(crate) keep_best: bool,
    /// Stop when N epochs in a row bring no better validation accuracy.
    #[arg(long, value_name = "N", value_parser = positive, requires = "val_split")]
    pub(crate) patience: Option<usize>,
    #[command(flatten)]
    pub(crate) report: ReportArgs,
    /// No progress bar.
    #[arg(long)]
    pub(crate) quiet: bool,
}

#[derive(clap::Args, Debug)]
pub(crate) struct EvalArgs {
    /// The model file saved by `train --save`.
    #[arg(long, value_name = "FILE")]
    pub(crate) model: PathBuf,
    #[command(flatten)]
    pub(crate) data: DataArgs,
    #[command(flatten)]
    pub(crate) report: ReportArgs,
}

#[derive(clap::Args, Debug)]
pub(crate) struct PredictArgs {
    /// The model file saved by `train --save`.
    #[arg(long, value_name = "FILE")]
    pub(crate) model: PathBuf,
    /// Class names, in class order [default: the class indices].
    #[arg(long, value_name = "A,B,..", value_parser = parse_classes)]
    pub(crate) classes: Option<ClassNames>,
    /// Keep the images as they are: no inversion of dark-on-light images to MNIST's
    /// light-on-dark.
    #[arg(long)]
    pub(crate) no_invert: bool,
    /// Threads for the kernels, 1 to 256; default: all cores.
    #[arg(long, value_name = "N", value_parser = parse_threads)]
    pub(crate) threads: Option<usize>,
    /// The image files (PNG, JPEG, PGM/PPM), made grayscale and resized to the model's input.
    #[arg(required = true, value_name = "IMAGE")]
    pub(crate) images: Vec<PathBuf>,
}

#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("outputs").required(true).multiple(true)))]
pub(crate) struct ExportArgs {
    /// The model file saved by `train --save`.
    #[arg(long, value_name = "FILE")]
    pub(crate) model: PathBuf,
    /// Write the weights to OUT as safetensors, named as PyTorch's `state_dict`.
    #[arg(long, value_name = "OUT", group = "outputs")]
    pub(crate) safetensors: Option<PathBuf>,
    /// Write the network (eval mode) to OUT as an ONNX model with a free batch dimension.
    #[arg(long, value_name = "OUT", group = "outputs")]
    pub(crate) onnx: Option<PathBuf>,
}

pub(crate) fn positive(s: &str) -> std::result::Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

pub(crate) fn learning_rate(s: &str) -> std::result::Result<f32, String> {
    match s.parse::<f32>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        Ok(v) => Err(format!("must be a finite number greater than 0, got {v}")),
        Err(e) => Err(e.to_string()),
    }
}

pub(crate) fn weight_decay(s: &str) -> std::result::Result<f32, String> {
    match s.parse::<f32>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        Ok(v) => Err(format!("must be a finite number >= 0, got {v}")),
        Err(e) => Err(e.to_string()),
    }
}

pub(crate) fn optimizer(s: &str) -> std::result::Result<OptimizerKind, String> {
    OptimizerKind::from_name(s)
        .ok_or_else(|| "expected one of adam, adamw, sgd, momentum, adagrad, rmsprop".into())
}
