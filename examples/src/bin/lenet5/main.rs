//! `lenet5`: trains and evaluates the seed's LeNet5, or any network described in a JSON file, on
//! MNIST-format data.
//!
//! ```text
//! lenet5 train [--net FILE.json] [--data DIR] [--epochs 2] [--batch-size 64] [--lr 0.001]
//!              [--optimizer adam|adamw|sgd|momentum|adagrad|rmsprop] [--loss cross-entropy|mse]
//!              [--seed 42] [--threads N] [--limit N] [--test-limit N] [--eval-batch-size 256]
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

mod args;
mod evaluate;
mod train;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use examples::{AnyError, UsageError, read_network_file, run, say, with_threads};
use nn_data::{DataError, Dataset, Split, SplitFiles, bundled_mnist_dir};
use nn_interop::{ONNX_INPUT, ONNX_OPSET, save_onnx, save_safetensors};
use nn_layers::{NamedState, NetworkSpec};
use nn_train::files::{check_writable, resolve_output};
use nn_train::{Model, OptimizerSpec, Result, TrainError, load_network};

use crate::args::*;

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

/// How many classes the network scores.
fn num_classes(model: &Model) -> usize {
    model
        .net()
        .output_sample_shape()
        .first()
        .copied()
        .unwrap_or(0)
}

/// A loaded network as a [`Model`] to evaluate and predict with (its optimizer is never used).
fn model_to_evaluate(spec: NetworkSpec, net: nn_layers::Sequential) -> Result<Model> {
    let optimizer = OptimizerSpec {
        kind: DEFAULT_OPTIMIZER,
        lr: DEFAULT_LR,
    };
    Model::from_parts(spec, net, optimizer, 0)
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
    let cli = Cli::parse();
    run(move || -> std::result::Result<(), AnyError> {
        match cli.command {
            Command::Train(args) => {
                let threads = args.data.threads;
                Ok(with_threads(threads, move || train::train(*args))?)
            }
            Command::Eval(args) => {
                let threads = args.data.threads;
                with_threads(threads, move || evaluate::eval(args))
            }
            Command::Predict(args) => {
                let threads = args.threads;
                with_threads(threads, move || evaluate::predict(args))
            }
            Command::Export(args) => export(args),
        }
    })
}
