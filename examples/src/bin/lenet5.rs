//! `lenet5`: trains and evaluates the seed's LeNet5, or any network described in a JSON file, on
//! MNIST-format data.
//!
//! ```text
//! lenet5 train [--net FILE.json] [--data DIR] [--epochs 2] [--batch-size 64] [--lr 0.001]
//!              [--optimizer adam|adamw|sgd|momentum|adagrad|rmsprop] [--loss cross-entropy|mse]
//!              [--seed 42] [--threads N] [--limit N] [--test-limit N] [--eval-batch-size 1000]
//!              [--schedule constant|step:EPOCHS:GAMMA|cosine|one-cycle] [--weight-decay W]
//!              [--standardize] [--shift PIXELS] [--val-split N [--keep-best] [--patience N]]
//!              [--save FILE] [--checkpoint FILE] [--resume FILE] [--plot FILE] [--log FILE]
//!              [--classes A,B,..] [--confusion FILE] [--errors FILE] [--quiet]
//! lenet5 eval  --model FILE [--data DIR] [--threads N] [--test-limit N] [--classes A,B,..]
//!              [--confusion FILE] [--errors FILE]
//! lenet5 predict --model FILE [--classes A,B,..] [--no-invert] IMAGE...
//! lenet5 export --model FILE [--safetensors OUT] [--onnx OUT]
//! ```
//!
//! The network file is a [`NetworkSpec`] in JSON (its format: `nn_layers::NetworkSpec`'s
//! documentation; examples in `examples/networks/`).
//! Exit codes: 0 success, 2 bad usage (clap's, two outputs on one path, a flag that contradicts
//! `--resume`), 1 any other error (one `error: ...` line on stderr). Outputs are checked before
//! any work; a closed standard output ends the printing, never the run.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};
use examples::classes::{ClassNames, class_names, parse_classes};
use examples::image_input::read_image;
use examples::schedule_arg::{ScheduleArg, parse_schedule};
use examples::{
    AnyError, UsageError, epoch_line, inference_rate, parse_threads, read_bounded, run, say,
    with_threads,
};
use nn_data::{DataError, Dataset, Split, SplitFiles, bundled_mnist_dir};
use nn_interop::{ONNX_INPUT, ONNX_OPSET, save_onnx, save_safetensors};
use nn_layers::{NamedState, NetworkSpec, models};
use nn_train::files::{check_writable, resolve_output};
use nn_train::{
    Classification, ConfusionMatrix, FitConfig, LossKind, MetricsLog, Model, OptimizerKind,
    OptimizerSpec, Progress, Recipe, Result, TrainError, load_network, plot_confusion, plot_errors,
    plot_history, settle_allocator,
};

/// The defaults of `train` (documented in its `--help`).
const DEFAULT_LR: f32 = 0.001;
const DEFAULT_OPTIMIZER: OptimizerKind = OptimizerKind::Adam;
const DEFAULT_SEED: u64 = 42;
/// The largest network file `--net` reads.
const MAX_NETWORK_FILE_BYTES: u64 = 1 << 20;

/// `--loss`, as clap reads it.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum LossArg {
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
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
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
struct DataArgs {
    /// Folder with the four IDX files (plain or .gz); default: the bundled data/mnist.
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Threads for the kernels, 1 to 256; default: all cores.
    #[arg(long, value_name = "N", value_parser = parse_threads)]
    threads: Option<usize>,
    /// Evaluate on the first N test images only.
    #[arg(long, value_name = "N", value_parser = positive)]
    test_limit: Option<usize>,
}

/// What `train` and `eval` report about the test set beyond its accuracy.
#[derive(clap::Args, Debug)]
struct ReportArgs {
    /// Class names, in class order, for the tables and pictures [default: the lines of
    /// classes.txt beside the data files, else the class indices].
    #[arg(long, value_name = "A,B,..", value_parser = parse_classes)]
    classes: Option<ClassNames>,
    /// Draw the test set's confusion matrix to FILE (.png or .svg).
    #[arg(long, value_name = "FILE")]
    confusion: Option<PathBuf>,
    /// Draw up to 64 misclassified test images to FILE (.png or .svg).
    #[arg(long, value_name = "FILE")]
    errors: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
struct TrainArgs {
    /// The network to train, as a JSON network file (see examples/networks/) [default: LeNet5;
    /// with --resume, the checkpoint's].
    #[arg(long, value_name = "FILE")]
    net: Option<PathBuf>,
    #[command(flatten)]
    data: DataArgs,
    /// Epochs in total (a resumed run continues up to this many).
    #[arg(long, default_value_t = 2, value_parser = positive)]
    epochs: usize,
    /// Images per batch.
    #[arg(long, default_value_t = 64, value_parser = positive)]
    batch_size: usize,
    /// Learning rate [default: 0.001; with --resume, the checkpoint's].
    #[arg(long, allow_negative_numbers = true, value_parser = learning_rate)]
    lr: Option<f32>,
    /// adam, adamw, sgd, momentum, adagrad or rmsprop [default: adam; with --resume, the
    /// checkpoint's].
    #[arg(long, value_parser = optimizer)]
    optimizer: Option<OptimizerKind>,
    /// The loss [default: cross-entropy; with --resume, the checkpoint's].
    #[arg(long, value_enum)]
    loss: Option<LossArg>,
    /// Seed of the initialisation and the shuffle [default: 42; with --resume, the checkpoint's].
    #[arg(long)]
    seed: Option<u64>,
    /// Images per batch when evaluating on the test set.
    #[arg(long, value_name = "N", default_value_t = nn_train::DEFAULT_EVAL_BATCH_SIZE, value_parser = positive)]
    eval_batch_size: usize,
    /// Train on the first N training images only.
    #[arg(long, value_name = "N", value_parser = positive)]
    limit: Option<usize>,
    /// Save the trained model to FILE.
    #[arg(long, value_name = "FILE")]
    save: Option<PathBuf>,
    /// Write a checkpoint to FILE after every epoch.
    #[arg(long, value_name = "FILE")]
    checkpoint: Option<PathBuf>,
    /// Continue from a checkpoint up to --epochs, with its optimizer, learning rate and seed
    /// (giving other ones is an error).
    #[arg(long, value_name = "FILE")]
    resume: Option<PathBuf>,
    /// Draw the loss and accuracy curves to FILE (.svg and .png).
    #[arg(long, value_name = "FILE")]
    plot: Option<PathBuf>,
    /// Write a row per epoch to FILE (.csv or .jsonl) as training goes; a resumed run appends.
    #[arg(long, value_name = "FILE")]
    log: Option<PathBuf>,
    /// Learning-rate schedule: constant, step:EPOCHS:GAMMA (per epoch), cosine or one-cycle
    /// (both per batch over the whole run) [default: constant; with --resume, the checkpoint's].
    #[arg(long, value_name = "SCHEDULE", value_parser = parse_schedule)]
    schedule: Option<ScheduleArg>,
    /// Weight decay (L2 for adam, sgd ...; decoupled for adamw) [default: the optimizer's: 0,
    /// adamw 0.01; with --resume, the checkpoint's].
    #[arg(long, value_name = "W", value_parser = weight_decay)]
    weight_decay: Option<f32>,
    /// Standardise the inputs by the training images' mean and std (a Standardize layer put
    /// first in the network, so saved models carry it).
    #[arg(long)]
    standardize: bool,
    /// Move each training image by up to PIXELS pixels each way, seeded (0 to 8) [default: 0;
    /// with --resume, the checkpoint's].
    #[arg(long, value_name = "PIXELS", value_parser = clap::value_parser!(u8).range(0..=8))]
    shift: Option<u8>,
    /// Hold out the last N training images as a validation set, evaluated after every epoch in
    /// place of the test set [default: none; with --resume, the checkpoint's].
    #[arg(long, value_name = "N", value_parser = positive)]
    val_split: Option<usize>,
    /// Keep the epoch with the best validation accuracy: it is what --save writes and what is
    /// tested at the end.
    #[arg(long, requires = "val_split")]
    keep_best: bool,
    /// Stop when N epochs in a row bring no better validation accuracy.
    #[arg(long, value_name = "N", value_parser = positive, requires = "val_split")]
    patience: Option<usize>,
    #[command(flatten)]
    report: ReportArgs,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

#[derive(clap::Args, Debug)]
struct EvalArgs {
    /// The model file saved by `train --save`.
    #[arg(long, value_name = "FILE")]
    model: PathBuf,
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    report: ReportArgs,
}

#[derive(clap::Args, Debug)]
struct PredictArgs {
    /// The model file saved by `train --save`.
    #[arg(long, value_name = "FILE")]
    model: PathBuf,
    /// Class names, in class order [default: the class indices].
    #[arg(long, value_name = "A,B,..", value_parser = parse_classes)]
    classes: Option<ClassNames>,
    /// Keep the images as they are: no inversion of dark-on-light images to MNIST's
    /// light-on-dark.
    #[arg(long)]
    no_invert: bool,
    /// Threads for the kernels, 1 to 256; default: all cores.
    #[arg(long, value_name = "N", value_parser = parse_threads)]
    threads: Option<usize>,
    /// The image files (PNG, JPEG, PGM/PPM), made grayscale and resized to the model's input.
    #[arg(required = true, value_name = "IMAGE")]
    images: Vec<PathBuf>,
}

#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("outputs").required(true).multiple(true)))]
struct ExportArgs {
    /// The model file saved by `train --save`.
    #[arg(long, value_name = "FILE")]
    model: PathBuf,
    /// Write the weights to OUT as safetensors, named as PyTorch's `state_dict`.
    #[arg(long, value_name = "OUT", group = "outputs")]
    safetensors: Option<PathBuf>,
    /// Write the network (eval mode) to OUT as an ONNX model with a free batch dimension.
    #[arg(long, value_name = "OUT", group = "outputs")]
    onnx: Option<PathBuf>,
}

fn positive(s: &str) -> std::result::Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

fn learning_rate(s: &str) -> std::result::Result<f32, String> {
    match s.parse::<f32>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        Ok(v) => Err(format!("must be a finite number greater than 0, got {v}")),
        Err(e) => Err(e.to_string()),
    }
}

fn weight_decay(s: &str) -> std::result::Result<f32, String> {
    match s.parse::<f32>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        Ok(v) => Err(format!("must be a finite number >= 0, got {v}")),
        Err(e) => Err(e.to_string()),
    }
}

fn optimizer(s: &str) -> std::result::Result<OptimizerKind, String> {
    OptimizerKind::from_name(s)
        .ok_or_else(|| "expected one of adam, adamw, sgd, momentum, adagrad, rmsprop".into())
}

/// The data folder of `args`: `--data`, else the bundled MNIST.
fn data_dir(args: &DataArgs) -> PathBuf {
    args.data.clone().unwrap_or_else(bundled_mnist_dir)
}

/// Loads one split from `dir`, keeping its first `limit` images, and checks that it has images
/// of the size `spec` takes.
fn load_split(
    dir: &Path,
    split: Split,
    limit: Option<usize>,
    spec: &NetworkSpec,
) -> Result<Dataset> {
    let files = SplitFiles::find(dir, split)?;
    let mut data = files.load()?;
    if let Some(n) = limit {
        data = data.take(n);
    }
    let what = match split {
        Split::Train => "training",
        Split::Test => "evaluation",
    };
    if data.is_empty() {
        return Err(DataError::Empty {
            path: files.images,
            what,
        }
        .into());
    }
    let [rows, cols] = data.image_size();
    if spec.input != [1, rows, cols] {
        let expected = match spec.input[..] {
            [_, r, c] => [r, c],
            _ => [0, 0],
        };
        return Err(DataError::ImageSize {
            path: files.images,
            found: [rows, cols],
            expected,
            reason: format!("the model takes input {:?}, so images of", spec.input),
        }
        .into());
    }
    Ok(data)
}

/// Fails with a usage error when two of `outputs` (flag, path) name one file.
fn distinct_outputs(outputs: &[(&str, &Path)]) -> std::result::Result<(), UsageError> {
    let resolved: Vec<(&str, PathBuf)> = outputs
        .iter()
        .map(|&(flag, p)| (flag, resolve_output(p).unwrap_or_else(|_| p.to_path_buf())))
        .collect();
    for (i, (a, pa)) in resolved.iter().enumerate() {
        if let Some((b, _)) = resolved[i + 1..].iter().find(|(_, pb)| pb == pa) {
            return Err(UsageError(format!(
                "{a} and {b} name the same file {}; give each its own path",
                pa.display()
            )));
        }
    }
    Ok(())
}

/// Checks the outputs given (flag, path) of a command that reads `model`: distinct from each
/// other and from the model, and writable.
fn check_outputs_beside_model(
    outputs: &[(&str, Option<&Path>)],
    model: &Path,
) -> std::result::Result<(), AnyError> {
    let given: Vec<(&str, &Path)> = outputs
        .iter()
        .filter_map(|&(flag, p)| p.map(|p| (flag, p)))
        .collect();
    let with_model: Vec<(&str, &Path)> =
        given.iter().copied().chain([("--model", model)]).collect();
    distinct_outputs(&with_model)?;
    check_outputs(&given)?;
    Ok(())
}

/// Fails before any work when an output could not be written.
fn check_outputs(outputs: &[(&str, &Path)]) -> Result<()> {
    outputs
        .iter()
        .try_for_each(|(_, p)| check_writable(p).map_err(Into::into))
}

fn show_predictions(model: &mut Model, test: &Dataset) -> Result<()> {
    let n = test.len().min(10);
    let indices: Vec<usize> = (0..n).collect();
    let batch = test.batch(&indices, nn_data::Normalization::Unit)?;
    model.eval();
    let predicted = model.predict(&batch.images.into_dyn())?;
    model.train();
    let join = |v: &[usize]| {
        v.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" ")
    };
    say!("predicted: {}", join(&predicted));
    say!("true:      {}", join(&batch.labels));
    Ok(())
}

/// The files `train` writes, by flag; `--plot FILE` writes FILE's `.svg` and `.png`.
fn train_outputs(args: &TrainArgs) -> Vec<(&'static str, PathBuf)> {
    let mut outputs = Vec::new();
    let single = [
        ("--save", &args.save),
        ("--checkpoint", &args.checkpoint),
        ("--log", &args.log),
        ("--confusion", &args.report.confusion),
        ("--errors", &args.report.errors),
    ];
    for (flag, p) in single {
        if let Some(p) = p {
            outputs.push((flag, p.clone()));
        }
    }
    if let Some(p) = &args.plot {
        outputs.push(("--plot", p.with_extension("svg")));
        outputs.push(("--plot", p.with_extension("png")));
    }
    outputs
}

/// Fails with a usage error when a picture's file does not end in .png or .svg, or the log's in
/// .csv or .jsonl.
fn check_extensions(
    report: &ReportArgs,
    log: Option<&Path>,
) -> std::result::Result<(), UsageError> {
    for (flag, p) in [
        ("--confusion", &report.confusion),
        ("--errors", &report.errors),
    ] {
        if let Some(p) = p {
            let ext = p
                .extension()
                .and_then(|e| e.to_str())
                .map(str::to_ascii_lowercase);
            if !matches!(ext.as_deref(), Some("png" | "svg")) {
                return Err(UsageError(format!(
                    "{flag} {}: give a file name ending in .png or .svg",
                    p.display()
                )));
            }
        }
    }
    if let Some(p) = log {
        nn_train::LogFormat::of(p).map_err(|e| UsageError(format!("--log {e}")))?;
    }
    Ok(())
}

/// Checks the command line before anything is loaded or trained: distinct, writable outputs,
/// and a resume that does not overwrite its own checkpoint with a model file.
fn check_train_args(args: &TrainArgs) -> std::result::Result<(), AnyError> {
    check_extensions(&args.report, args.log.as_deref())?;
    let outputs = train_outputs(args);
    let named: Vec<(&str, &Path)> = outputs.iter().map(|(f, p)| (*f, p.as_path())).collect();
    if let Some(resume) = &args.resume {
        // Continuing into the checkpoint one resumed from is the usual way; anything else that
        // overwrites it loses it.
        let others: Vec<(&str, &Path)> = named
            .iter()
            .filter(|(flag, _)| *flag != "--checkpoint")
            .copied()
            .chain([("--resume", resume.as_path())])
            .collect();
        distinct_outputs(&others)?;
    }
    distinct_outputs(&named)?;
    check_outputs(&named)?;
    Ok(())
}

/// The checkpoint of `--resume`, whose settings an explicit flag must not contradict.
fn resume_model(args: &TrainArgs, path: &Path) -> std::result::Result<Model, AnyError> {
    let net = match &args.net {
        Some(path) => Some(read_network_file(path)?),
        None => None,
    };
    let model = Model::load_checkpoint(path)?.with_eval_batch_size(args.eval_batch_size)?;
    let conflict = |flag: &str, given: String, stored: String| {
        UsageError(format!(
            "--{flag} {given} contradicts the checkpoint {} ({stored}); a resumed run \
             continues with the checkpoint's settings: drop --{flag}",
            path.display()
        ))
    };
    if net.is_some_and(|n| &n != model.spec()) {
        return Err(UsageError(format!(
            "--net describes another network than the checkpoint {}; a resumed run continues \
             the checkpoint's network: drop --net",
            path.display()
        ))
        .into());
    }
    if let Some(loss) = args.loss.map(LossKind::from).filter(|&l| l != model.loss()) {
        let stored = format!("loss {:?}", model.loss());
        return Err(conflict("loss", format!("{loss:?}"), stored).into());
    }
    let saved = model.optimizer_spec();
    if let Some(kind) = args.optimizer.filter(|&k| k != saved.kind) {
        let stored = format!("optimizer {}", saved.kind.name());
        return Err(conflict("optimizer", kind.name().into(), stored).into());
    }
    if let Some(lr) = args.lr.filter(|&lr| lr != saved.lr) {
        return Err(conflict("lr", lr.to_string(), format!("lr {}", saved.lr)).into());
    }
    if let Some(seed) = args.seed.filter(|&s| s != model.init_seed()) {
        let stored = format!("seed {}", model.init_seed());
        return Err(conflict("seed", seed.to_string(), stored).into());
    }
    check_recipe_flags(args, &model)
        .map_err(|(flag, given, stored)| conflict(flag, given, stored))?;
    say!(
        "resuming from {} after epoch {}",
        path.display(),
        model.epochs_done()
    );
    Ok(model)
}

/// The first recipe flag that contradicts `model`'s settings: (flag, given, stored).
fn check_recipe_flags(
    args: &TrainArgs,
    model: &Model,
) -> std::result::Result<(), (&'static str, String, String)> {
    let recipe = model.recipe();
    if let Some(wd) = args
        .weight_decay
        .filter(|&w| Some(w) != model.weight_decay())
    {
        let stored = model
            .weight_decay()
            .map_or("the optimizer's default".into(), |w| w.to_string());
        return Err((
            "weight-decay",
            wd.to_string(),
            format!("weight decay {stored}"),
        ));
    }
    if let Some(shift) = args
        .shift
        .filter(|&s| usize::from(s) != recipe.random_shift)
    {
        return Err((
            "shift",
            shift.to_string(),
            format!("shift {}", recipe.random_shift),
        ));
    }
    if let Some(n) = args.val_split.filter(|&n| n != recipe.validation_split) {
        return Err((
            "val-split",
            n.to_string(),
            format!("val-split {}", recipe.validation_split),
        ));
    }
    if args.keep_best && !recipe.keep_best {
        return Err(("keep-best", String::new(), "trained without it".into()));
    }
    if let Some(p) = args.patience.filter(|&p| Some(p) != recipe.patience) {
        return Err((
            "patience",
            p.to_string(),
            format!("patience {:?}", recipe.patience),
        ));
    }
    let standardized = model
        .spec()
        .layers
        .first()
        .is_some_and(|l| l.kind() == "Standardize");
    if args.standardize && !standardized {
        return Err(("standardize", String::new(), "trained without it".into()));
    }
    if let Some(arg) = args.schedule {
        let stored = model.schedule();
        let same = match (arg, stored) {
            (ScheduleArg::Constant, None) => true,
            (
                ScheduleArg::Step { epochs, gamma },
                Some((
                    nn_optim::Schedule::Step {
                        step_size,
                        gamma: g,
                    },
                    false,
                )),
            ) => epochs == *step_size && gamma == *g,
            (ScheduleArg::Cosine, Some((nn_optim::Schedule::Cosine { .. }, true)))
            | (ScheduleArg::OneCycle, Some((nn_optim::Schedule::OneCycle { .. }, true))) => true,
            _ => false,
        };
        if !same {
            return Err((
                "schedule",
                format!("{arg:?}"),
                format!("schedule {stored:?}"),
            ));
        }
    }
    Ok(())
}

/// A new model for `spec` with the command line's settings, the schedule sized for `train`.
fn new_model(args: &TrainArgs, mut spec: NetworkSpec, train: &Dataset) -> Result<Model> {
    if args.standardize {
        let (mean, std) = train.mean_std();
        if std <= 0.0 || std.is_nan() {
            return Err(TrainError::InvalidArgument(
                "--standardize: the training images are all one value (std 0)".into(),
            ));
        }
        spec.layers
            .insert(0, nn_layers::LayerSpec::Standardize { mean, std });
    }
    let optimizer = OptimizerSpec {
        kind: args.optimizer.unwrap_or(DEFAULT_OPTIMIZER),
        lr: args.lr.unwrap_or(DEFAULT_LR),
    };
    let mut model = Model::new(spec, optimizer, args.seed.unwrap_or(DEFAULT_SEED))
        .map_err(|e| in_network_file(args.net.as_deref(), e))?
        .with_loss(args.loss.map_or(LossKind::default(), LossKind::from))
        .with_eval_batch_size(args.eval_batch_size)?
        .with_recipe(Recipe {
            random_shift: args.shift.map_or(0, usize::from),
            keep_best: args.keep_best,
            patience: args.patience,
            validation_split: args.val_split.unwrap_or(0),
        })?;
    if let Some(wd) = args.weight_decay {
        model = model.with_weight_decay(wd)?;
    }
    let batches = train.len().div_ceil(args.batch_size);
    match args.schedule.and_then(|s| s.schedule(args.epochs, batches)) {
        Some((schedule, true)) => model = model.with_schedule_per_batch(schedule)?,
        Some((schedule, false)) => model = model.with_schedule(schedule)?,
        None => {}
    }
    Ok(model)
}

/// Reads a network file: JSON of a [`NetworkSpec`], checked by building it.
fn read_network_file(path: &Path) -> Result<NetworkSpec> {
    let bad = |reason: String| TrainError::BadFile {
        path: path.to_path_buf(),
        reason,
    };
    let bytes = read_bounded(
        path,
        MAX_NETWORK_FILE_BYTES,
        "a network file",
        "a JSON file",
    )?;
    let spec: NetworkSpec = serde_json::from_slice(&bytes).map_err(|e| {
        bad(format!(
            "not a valid network file: {e} (the format: examples/networks/README.md)"
        ))
    })?;
    spec.state_shapes()
        .and_then(|_| spec.build(&mut core_tensor::random::seeded_rng(0)))
        .map_err(|e| bad(e.to_string()))?;
    Ok(spec)
}

/// Names the network file in an error from building its network.
fn in_network_file(path: Option<&Path>, e: TrainError) -> TrainError {
    match (path, e) {
        (Some(path), TrainError::Layer(e)) => TrainError::BadFile {
            path: path.to_path_buf(),
            reason: e.to_string(),
        },
        (_, e) => e,
    }
}

/// Checks that the network gives one score per class for `data`'s labels.
fn check_classes(model: &Model, data: &Dataset) -> Result<()> {
    let out = model.net().output_sample_shape();
    let classes = data.num_classes();
    match out {
        &[c] if c >= classes => Ok(()),
        _ => Err(TrainError::InvalidArgument(format!(
            "the network gives samples of shape {out:?}; it needs one score per class, ({classes}) or more, for these labels"
        ))),
    }
}

fn train(args: TrainArgs) -> std::result::Result<(), AnyError> {
    check_train_args(&args)?;
    // The checkpoint before the data: a contradicting flag is reported at once.
    let resumed = match &args.resume {
        Some(path) => Some(resume_model(&args, path)?),
        None => None,
    };
    let spec = match (&resumed, &args.net) {
        (Some(m), _) => m.spec().clone(),
        (None, Some(path)) => read_network_file(path)?,
        (None, None) => models::lenet5_spec(),
    };
    let dir = data_dir(&args.data);
    let mut train_set = load_split(&dir, Split::Train, args.limit, &spec)?;
    let test_set = load_split(&dir, Split::Test, args.data.test_limit, &spec)?;
    let held_out = resumed
        .as_ref()
        .map_or(args.val_split.unwrap_or(0), |m| m.recipe().validation_split);
    let val_set = if held_out > 0 {
        if held_out >= train_set.len() {
            return Err(UsageError(format!(
                "--val-split {held_out} leaves no training images of {}",
                train_set.len()
            ))
            .into());
        }
        let (train, val) = train_set.split(held_out)?;
        train_set = train;
        Some(val)
    } else {
        None
    };
    let mut model = match resumed {
        Some(m) => m,
        None => new_model(&args, spec, &train_set)?,
    };
    let held = val_set
        .as_ref()
        .map_or(String::new(), |v| format!(", {} validation", v.len()));
    say!(
        "data: {} training{held} and {} test images from {}",
        train_set.len(),
        test_set.len(),
        dir.display()
    );
    check_classes(&model, &train_set)?;
    let names = class_names(
        args.report.classes.as_ref(),
        Some(&dir),
        num_classes(&model),
    )?;
    say!("{}", model.net());
    let progress = if args.quiet || !std::io::stdout().is_terminal() {
        Progress::Quiet
    } else {
        Progress::Bar
    };
    let config = FitConfig {
        epochs: args.epochs,
        batch_size: args.batch_size,
        // A resumed run shuffles with the seed it started with.
        shuffle_seed: model.init_seed(),
        progress,
    };
    let label = if val_set.is_some() { "val" } else { "test" };
    let mut log = match &args.log {
        Some(path) => Some(MetricsLog::create(path, label, args.resume.is_some())?),
        None => None,
    };
    let mut train_s = 0.0;
    let start_epochs = model.epochs_done();
    let evaluated = val_set.as_ref().unwrap_or(&test_set);
    model.fit(&train_set, Some(evaluated), &config, |model, record| {
        say!("{}", epoch_line(record, label));
        train_s += record.train_s;
        if let Some(log) = &mut log {
            log.write(record)?;
        }
        if let Some(path) = &args.checkpoint {
            model.save_checkpoint(path)?;
        }
        Ok(())
    })?;
    if model.epochs_done() == start_epochs && !model.stopped_early() {
        say!(
            "nothing to do: the model has {} epochs already (--epochs {})",
            start_epochs,
            args.epochs
        );
    }
    if model.stopped_early()
        && let (Some((best, _)), Some(patience)) = (model.best_epoch(), model.recipe().patience)
    {
        say!(
            "stopped early after epoch {}: no better validation accuracy in {patience} epochs since epoch {best}",
            model.epochs_done()
        );
    }
    if model.recipe().keep_best
        && let Some((best, acc)) = model.best_epoch()
    {
        say!("kept the best epoch: {best} (val_acc={acc:.4})");
    }
    // Files first: whatever happens to the printing, the trained model is kept.
    if let Some(path) = &args.save {
        model.save(path)?;
        say!("saved the model to {}", path.display());
    }
    if let Some(path) = &args.plot {
        let [svg, png] = plot_history(model.history(), path)?;
        say!(
            "plotted the curves to {} and {}",
            svg.display(),
            png.display()
        );
    }
    show_predictions(&mut model, &test_set)?;
    say!(
        "infer_imgs_per_s={:.0}",
        inference_rate(&mut model, &test_set)?
    );
    report(
        &mut model,
        &test_set,
        &args.report,
        &names,
        args.eval_batch_size,
    )?;
    let ev = model.evaluate(&test_set, args.eval_batch_size)?;
    say!(
        "test_acc={:.4} test_loss={:.4} train_s={:.2}",
        ev.accuracy,
        ev.loss,
        train_s
    );
    Ok(())
}

/// How many classes the network scores.
fn num_classes(model: &Model) -> usize {
    model
        .net()
        .output_sample_shape()
        .first()
        .copied()
        .unwrap_or(0)
}

/// Prints the test set's confusion matrix and per-class accuracy, and draws the pictures asked
/// for.
fn report(
    model: &mut Model,
    test: &Dataset,
    args: &ReportArgs,
    names: &[String],
    batch_size: usize,
) -> Result<()> {
    let classified: Classification = model.classify(test, batch_size)?;
    let matrix = ConfusionMatrix::new(num_classes(model), test.labels(), &classified.predicted)?;
    if let Some(path) = &args.confusion {
        plot_confusion(&matrix, names, path)?;
        say!("drew the confusion matrix to {}", path.display());
    }
    if let Some(path) = &args.errors {
        let drawn = plot_errors(test, &classified, names, path)?;
        say!("drew {drawn} misclassified images to {}", path.display());
    }
    say!("confusion matrix of the test set (rows: true class, columns: predicted):");
    say!("{}", matrix.table(names));
    Ok(())
}

fn eval(args: EvalArgs) -> std::result::Result<(), AnyError> {
    check_extensions(&args.report, None)?;
    check_outputs_beside_model(
        &[
            ("--confusion", args.report.confusion.as_deref()),
            ("--errors", args.report.errors.as_deref()),
        ],
        &args.model,
    )?;
    let (spec, net) = load_network(&args.model)?;
    let dir = data_dir(&args.data);
    let test_set = load_split(&dir, Split::Test, args.data.test_limit, &spec)?;
    say!(
        "data: {} test images from {}",
        test_set.len(),
        dir.display()
    );
    say!("{net}");
    let params = net.num_params();
    let mut model = model_to_evaluate(spec, net)?;
    check_classes(&model, &test_set)?;
    let names = class_names(
        args.report.classes.as_ref(),
        Some(&dir),
        num_classes(&model),
    )?;
    say!("loaded {} ({params} parameters)", args.model.display());
    show_predictions(&mut model, &test_set)?;
    say!(
        "infer_imgs_per_s={:.0}",
        inference_rate(&mut model, &test_set)?
    );
    let started = Instant::now();
    let ev = model.evaluate(&test_set, 1000)?;
    say!("eval_s={:.2}", started.elapsed().as_secs_f64());
    report(&mut model, &test_set, &args.report, &names, 1000)?;
    say!("test_acc={:.4} test_loss={:.4}", ev.accuracy, ev.loss);
    Ok(())
}

/// A loaded network as a [`Model`] to evaluate and predict with (its optimizer is never used).
fn model_to_evaluate(spec: NetworkSpec, net: nn_layers::Sequential) -> Result<Model> {
    let optimizer = OptimizerSpec {
        kind: DEFAULT_OPTIMIZER,
        lr: DEFAULT_LR,
    };
    Model::from_parts(spec, net, optimizer, 0)
}

/// Classifies each image file; a file that cannot be read is reported and the others still
/// print. Fails (exit 1) when any file failed.
fn predict(args: PredictArgs) -> std::result::Result<(), AnyError> {
    let (spec, net) = load_network(&args.model)?;
    let [1, rows, cols] = spec.input[..] else {
        return Err(TrainError::InvalidArgument(format!(
            "{}: the model takes input {:?}; predict reads grayscale images, one channel",
            args.model.display(),
            spec.input
        ))
        .into());
    };
    let mut model = model_to_evaluate(spec, net)?;
    let classes = num_classes(&model);
    let names = class_names(args.classes.as_ref(), None, classes)?;
    let mut failed = 0;
    for path in &args.images {
        match read_image(path, rows, cols, !args.no_invert) {
            Ok(pixels) => {
                let image = Dataset::new(pixels, vec![0], rows, cols)?;
                let x = image.batch(&[0], nn_data::Normalization::Unit)?.images;
                let probs = model.predict_probabilities(&x.into_dyn())?;
                let classification = Classification {
                    predicted: nn_train::argmax_rows(&probs.clone().into_dyn()),
                    probabilities: probs,
                };
                let top: Vec<String> = classification
                    .top(0, 3)
                    .iter()
                    .map(|&(c, p)| format!("{} ({p:.4})", names[c]))
                    .collect();
                say!(
                    "{}: class={} top3: {}",
                    path.display(),
                    names[classification.predicted[0]],
                    top.join(", ")
                );
            }
            Err(e) => {
                failed += 1;
                eprintln!("error: {e}");
            }
        }
    }
    if failed > 0 {
        return Err(TrainError::InvalidArgument(format!(
            "{failed} of {} image files could not be read",
            args.images.len()
        ))
        .into());
    }
    Ok(())
}

fn export(args: ExportArgs) -> std::result::Result<(), AnyError> {
    check_outputs_beside_model(
        &[
            ("--safetensors", args.safetensors.as_deref()),
            ("--onnx", args.onnx.as_deref()),
        ],
        &args.model,
    )?;
    let (_, net) = load_network(&args.model)?;
    say!(
        "loaded {} ({} parameters)",
        args.model.display(),
        net.num_params()
    );
    if let Some(path) = &args.safetensors {
        save_safetensors(&net, path)?;
        let tensors = net.params().len() + net.buffers().len() + net.counters().len();
        say!(
            "wrote {} ({tensors} tensors, PyTorch names)",
            path.display()
        );
    }
    if let Some(path) = &args.onnx {
        save_onnx(&net, path)?;
        let sample: String = net
            .input_sample_shape()
            .iter()
            .map(|d| format!(", {d}"))
            .collect();
        say!(
            "wrote {} (ONNX opset {ONNX_OPSET}, input \"{ONNX_INPUT}\" (batch{sample}))",
            path.display()
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    settle_allocator();
    let cli = Cli::parse();
    run(move || -> std::result::Result<(), AnyError> {
        match cli.command {
            Command::Train(args) => {
                let threads = args.data.threads;
                Ok(with_threads(threads, move || train(*args))?)
            }
            Command::Eval(args) => {
                let threads = args.data.threads;
                with_threads(threads, move || eval(args))
            }
            Command::Predict(args) => {
                let threads = args.threads;
                with_threads(threads, move || predict(args))
            }
            Command::Export(args) => export(args),
        }
    })
}
