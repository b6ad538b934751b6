//! `lenet5`: trains and evaluates the seed's LeNet5, or any network described in a JSON file, on
//! MNIST-format data.
//!
//! ```text
//! lenet5 train [--net FILE.json] [--data DIR] [--epochs 2] [--batch-size 64] [--lr 0.001]
//!              [--optimizer adam|adamw|sgd|momentum|adagrad|rmsprop] [--loss cross-entropy|mse]
//!              [--seed 42] [--threads N] [--limit N] [--test-limit N] [--eval-batch-size 1000]
//!              [--save FILE] [--checkpoint FILE] [--resume FILE] [--plot FILE] [--quiet]
//! lenet5 eval  --model FILE [--data DIR] [--threads N] [--test-limit N]
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
use examples::{
    AnyError, UsageError, epoch_line, inference_rate, parse_threads, run, say, with_threads,
};
use nn_data::{DataError, Dataset, Split, SplitFiles, bundled_mnist_dir};
use nn_interop::{ONNX_INPUT, ONNX_OPSET, save_onnx, save_safetensors};
use nn_layers::{NamedState, NetworkSpec, models};
use nn_train::files::{check_writable, resolve_output};
use nn_train::{
    FitConfig, LossKind, Model, OptimizerKind, OptimizerSpec, Progress, Result, TrainError,
    load_network, plot_history, settle_allocator,
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
    Train(TrainArgs),
    /// Evaluate a saved model on the test set.
    Eval(EvalArgs),
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
    if let Some(p) = &args.save {
        outputs.push(("--save", p.clone()));
    }
    if let Some(p) = &args.checkpoint {
        outputs.push(("--checkpoint", p.clone()));
    }
    if let Some(p) = &args.plot {
        outputs.push(("--plot", p.with_extension("svg")));
        outputs.push(("--plot", p.with_extension("png")));
    }
    outputs
}

/// Checks the command line before anything is loaded or trained: distinct, writable outputs,
/// and a resume that does not overwrite its own checkpoint with a model file.
fn check_train_args(args: &TrainArgs) -> std::result::Result<(), AnyError> {
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

/// The model to train: the checkpoint of `--resume` (whose optimizer, learning rate and seed an
/// explicit flag must not contradict), else a new LeNet5.
fn start_model(args: &TrainArgs) -> std::result::Result<Model, AnyError> {
    let net = match &args.net {
        Some(path) => Some(read_network_file(path)?),
        None => None,
    };
    let Some(path) = &args.resume else {
        let spec = net.unwrap_or_else(models::lenet5_spec);
        let model = Model::new(
            spec,
            OptimizerSpec {
                kind: args.optimizer.unwrap_or(DEFAULT_OPTIMIZER),
                lr: args.lr.unwrap_or(DEFAULT_LR),
            },
            args.seed.unwrap_or(DEFAULT_SEED),
        )
        .map_err(|e| in_network_file(args.net.as_deref(), e))?;
        return Ok(model
            .with_loss(args.loss.map_or(LossKind::default(), LossKind::from))
            .with_eval_batch_size(args.eval_batch_size)?);
    };
    let model = Model::load_checkpoint(path)?.with_eval_batch_size(args.eval_batch_size)?;
    if net.is_some_and(|n| &n != model.spec()) {
        return Err(UsageError(format!(
            "--net describes another network than the checkpoint {}; a resumed run continues \
             the checkpoint's network: drop --net",
            path.display()
        ))
        .into());
    }
    if let Some(loss) = args.loss.map(LossKind::from).filter(|&l| l != model.loss()) {
        return Err(UsageError(format!(
            "--loss {loss:?} contradicts the checkpoint {} (loss {:?}); a resumed run continues \
             with the checkpoint's settings: drop --loss",
            path.display(),
            model.loss()
        ))
        .into());
    }
    let saved = model.optimizer_spec();
    let conflict = |flag: &str, given: String, stored: String| {
        UsageError(format!(
            "--{flag} {given} contradicts the checkpoint {} ({flag} {stored}); a resumed run \
             continues with the checkpoint's settings: drop --{flag}",
            path.display()
        ))
    };
    if let Some(kind) = args.optimizer.filter(|&k| k != saved.kind) {
        return Err(conflict("optimizer", kind.name().into(), saved.kind.name().into()).into());
    }
    if let Some(lr) = args.lr.filter(|&lr| lr != saved.lr) {
        return Err(conflict("lr", lr.to_string(), saved.lr.to_string()).into());
    }
    if let Some(seed) = args.seed.filter(|&s| s != model.init_seed()) {
        return Err(conflict("seed", seed.to_string(), model.init_seed().to_string()).into());
    }
    say!(
        "resuming from {} after epoch {}",
        path.display(),
        model.epochs_done()
    );
    Ok(model)
}

/// Reads a network file: JSON of a [`NetworkSpec`], checked by building it.
fn read_network_file(path: &Path) -> Result<NetworkSpec> {
    let bad = |reason: String| TrainError::BadFile {
        path: path.to_path_buf(),
        reason,
    };
    let meta = std::fs::metadata(path).map_err(|source| TrainError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if !meta.is_file() || meta.len() > MAX_NETWORK_FILE_BYTES {
        return Err(bad(format!(
            "not a network file: give a JSON file of at most {MAX_NETWORK_FILE_BYTES} bytes"
        )));
    }
    let text = std::fs::read_to_string(path).map_err(|source| TrainError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let spec: NetworkSpec = serde_json::from_str(&text).map_err(|e| {
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
    let mut model = start_model(&args)?;
    let dir = data_dir(&args.data);
    let spec = model.spec().clone();
    let train_set = load_split(&dir, Split::Train, args.limit, &spec)?;
    let test_set = load_split(&dir, Split::Test, args.data.test_limit, &spec)?;
    say!(
        "data: {} training and {} test images from {}",
        train_set.len(),
        test_set.len(),
        dir.display()
    );
    check_classes(&model, &train_set)?;
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
    let mut train_s = 0.0;
    let start_epochs = model.epochs_done();
    model.fit(&train_set, Some(&test_set), &config, |model, record| {
        say!("{}", epoch_line(record));
        train_s += record.train_s;
        if let Some(path) = &args.checkpoint {
            model.save_checkpoint(path)?;
        }
        Ok(())
    })?;
    if model.epochs_done() == start_epochs {
        say!(
            "nothing to do: the model has {} epochs already (--epochs {})",
            start_epochs,
            args.epochs
        );
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
    let ev = model.evaluate(&test_set, args.eval_batch_size)?;
    say!(
        "test_acc={:.4} test_loss={:.4} train_s={:.2}",
        ev.accuracy,
        ev.loss,
        train_s
    );
    Ok(())
}

fn eval(args: EvalArgs) -> Result<()> {
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
    let mut model = Model::from_parts(
        spec,
        net,
        OptimizerSpec {
            kind: DEFAULT_OPTIMIZER,
            lr: DEFAULT_LR,
        },
        0,
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
    say!("test_acc={:.4} test_loss={:.4}", ev.accuracy, ev.loss);
    Ok(())
}

fn export(args: ExportArgs) -> std::result::Result<(), AnyError> {
    let outputs: Vec<(&str, &Path)> = [
        ("--safetensors", args.safetensors.as_deref()),
        ("--onnx", args.onnx.as_deref()),
    ]
    .into_iter()
    .filter_map(|(flag, p)| p.map(|p| (flag, p)))
    .collect();
    let with_model: Vec<(&str, &Path)> = outputs
        .iter()
        .copied()
        .chain([("--model", args.model.as_path())])
        .collect();
    distinct_outputs(&with_model)?;
    check_outputs(&outputs)?;
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
                Ok(with_threads(threads, move || train(args))?)
            }
            Command::Eval(args) => {
                let threads = args.data.threads;
                Ok(with_threads(threads, move || eval(args))?)
            }
            Command::Export(args) => export(args),
        }
    })
}
