//! `lenet5`: trains and evaluates the seed's LeNet5 on MNIST-format data.
//!
//! ```text
//! lenet5 train [--data DIR] [--epochs 2] [--batch-size 64] [--lr 0.001]
//!              [--optimizer adam|adamw|sgd|momentum|adagrad|rmsprop] [--seed 42]
//!              [--threads N] [--limit N] [--test-limit N] [--save FILE] [--checkpoint FILE]
//!              [--resume FILE] [--plot FILE] [--quiet]
//! lenet5 eval  --model FILE [--data DIR] [--threads N] [--test-limit N]
//! lenet5 export --model FILE [--safetensors OUT] [--onnx OUT]
//! ```
//! Exit codes: 0 success, 2 bad usage, 1 any other error (one `error: ...` line on stderr).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};
use examples::{epoch_line, inference_rate, run, with_threads};
use nn_data::{Mnist, bundled_mnist_dir};
use nn_interop::{ONNX_INPUT, ONNX_OPSET, save_onnx, save_safetensors};
use nn_layers::{Layer, models};
use nn_train::{
    FitConfig, Model, OptimizerKind, OptimizerSpec, Progress, Result, TrainError, load_network,
    plot_history, settle_allocator,
};

#[derive(Parser, Debug)]
#[command(
    name = "lenet5",
    version,
    about = "Train and evaluate LeNet5 on MNIST-format data (bundled MNIST by default)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Train LeNet5 and report test accuracy after every epoch.
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
    /// Threads for the kernels; default: all cores.
    #[arg(long, value_name = "N", value_parser = positive)]
    threads: Option<usize>,
    /// Evaluate on the first N test images only.
    #[arg(long, value_name = "N", value_parser = positive)]
    test_limit: Option<usize>,
}

#[derive(clap::Args, Debug)]
struct TrainArgs {
    #[command(flatten)]
    data: DataArgs,
    /// Epochs in total (a resumed run continues up to this many).
    #[arg(long, default_value_t = 2, value_parser = positive)]
    epochs: usize,
    /// Images per batch.
    #[arg(long, default_value_t = 64, value_parser = positive)]
    batch_size: usize,
    /// Learning rate.
    #[arg(long, default_value_t = 0.001, allow_negative_numbers = true, value_parser = learning_rate)]
    lr: f32,
    /// adam, adamw, sgd, momentum, adagrad or rmsprop.
    #[arg(long, default_value = "adam", value_parser = optimizer)]
    optimizer: OptimizerKind,
    /// Seed of the initialisation and the shuffle.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Train on the first N training images only.
    #[arg(long, value_name = "N", value_parser = positive)]
    limit: Option<usize>,
    /// Save the trained model to FILE.
    #[arg(long, value_name = "FILE")]
    save: Option<PathBuf>,
    /// Write a checkpoint to FILE after every epoch.
    #[arg(long, value_name = "FILE")]
    checkpoint: Option<PathBuf>,
    /// Continue from a checkpoint up to --epochs (its seed and optimizer are used).
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

fn load_data(args: &DataArgs, limit: Option<usize>) -> Result<Mnist> {
    let dir = args.data.clone().unwrap_or_else(bundled_mnist_dir);
    let mut mnist = Mnist::load(&dir)?;
    if let Some(n) = limit {
        mnist.train = mnist.train.take(n);
    }
    if let Some(n) = args.test_limit {
        mnist.test = mnist.test.take(n);
    }
    println!(
        "data: {} training and {} test images from {}",
        mnist.train.len(),
        mnist.test.len(),
        dir.display()
    );
    Ok(mnist)
}

fn show_predictions(model: &mut Model, mnist: &Mnist) -> Result<()> {
    let n = mnist.test.len().min(10);
    let indices: Vec<usize> = (0..n).collect();
    let batch = mnist.test.batch(&indices, nn_data::Normalization::Unit)?;
    model.eval();
    let predicted = model.predict(&batch.images.into_dyn())?;
    model.train();
    let join = |v: &[usize]| {
        v.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" ")
    };
    println!("predicted: {}", join(&predicted));
    println!("true:      {}", join(&batch.labels));
    Ok(())
}

fn train(args: TrainArgs) -> Result<()> {
    let mnist = load_data(&args.data, args.limit)?;
    let mut model = match &args.resume {
        Some(path) => {
            let model = Model::load_checkpoint(path)?;
            if model.spec() != &models::lenet5_spec() {
                return Err(TrainError::Mismatch {
                    path: path.clone(),
                    reason: "the checkpoint is not of LeNet5".into(),
                });
            }
            println!(
                "resuming from {} after epoch {}",
                path.display(),
                model.epochs_done()
            );
            model
        }
        None => Model::new(
            models::lenet5_spec(),
            OptimizerSpec {
                kind: args.optimizer,
                lr: args.lr,
            },
            args.seed,
        )?,
    };
    println!("{}", model.net());
    let progress = if args.quiet || !std::io::stdout().is_terminal() {
        Progress::Quiet
    } else {
        Progress::Bar
    };
    let config = FitConfig {
        epochs: args.epochs,
        batch_size: args.batch_size,
        shuffle_seed: model_seed(&model, &args),
        progress,
    };
    let mut train_s = 0.0;
    let start_epochs = model.epochs_done();
    model.fit(&mnist.train, Some(&mnist.test), &config, |model, record| {
        println!("{}", epoch_line(record));
        train_s += record.train_s;
        if let Some(path) = &args.checkpoint {
            model.save_checkpoint(path)?;
        }
        Ok(())
    })?;
    if model.epochs_done() == start_epochs {
        println!(
            "nothing to do: the model has {} epochs already (--epochs {})",
            start_epochs, args.epochs
        );
    }
    show_predictions(&mut model, &mnist)?;
    if let Some(path) = &args.save {
        model.save(path)?;
        println!("saved the model to {}", path.display());
    }
    if let Some(path) = &args.plot {
        let [svg, png] = plot_history(model.history(), path)?;
        println!(
            "plotted the curves to {} and {}",
            svg.display(),
            png.display()
        );
    }
    println!(
        "infer_imgs_per_s={:.0}",
        inference_rate(&mut model, &mnist.test)?
    );
    let ev = model.evaluate(&mnist.test, 1000)?;
    println!(
        "test_acc={:.4} test_loss={:.4} train_s={:.2}",
        ev.accuracy, ev.loss, train_s
    );
    Ok(())
}

/// A resumed run shuffles with the seed it started with.
fn model_seed(model: &Model, args: &TrainArgs) -> u64 {
    if args.resume.is_some() {
        model.init_seed()
    } else {
        args.seed
    }
}

fn eval(args: EvalArgs) -> Result<()> {
    let (spec, net) = load_network(&args.model)?;
    if spec != models::lenet5_spec() {
        return Err(TrainError::Mismatch {
            path: args.model.clone(),
            reason: "the file holds another network than LeNet5".into(),
        });
    }
    let mnist = load_data(&args.data, None)?;
    println!("{net}");
    let params = net.num_params();
    let mut model = Model::from_parts(
        spec,
        net,
        OptimizerSpec {
            kind: OptimizerKind::Adam,
            lr: 1e-3,
        },
        0,
    )?;
    println!("loaded {} ({params} parameters)", args.model.display());
    show_predictions(&mut model, &mnist)?;
    println!(
        "infer_imgs_per_s={:.0}",
        inference_rate(&mut model, &mnist.test)?
    );
    let started = Instant::now();
    let ev = model.evaluate(&mnist.test, 1000)?;
    println!("eval_s={:.2}", started.elapsed().as_secs_f64());
    println!("test_acc={:.4} test_loss={:.4}", ev.accuracy, ev.loss);
    Ok(())
}

fn export(args: ExportArgs) -> std::result::Result<(), Box<dyn std::error::Error>> {
    let (_, net) = load_network(&args.model)?;
    println!(
        "loaded {} ({} parameters)",
        args.model.display(),
        net.num_params()
    );
    if let Some(path) = &args.safetensors {
        save_safetensors(&net, path)?;
        let tensors = net.params().len() + net.buffers().len() + net.counters().len();
        println!(
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
        println!(
            "wrote {} (ONNX opset {ONNX_OPSET}, input \"{ONNX_INPUT}\" (batch{sample}))",
            path.display()
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    settle_allocator();
    let cli = Cli::parse();
    run(
        move || -> std::result::Result<(), Box<dyn std::error::Error>> {
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
        },
    )
}
