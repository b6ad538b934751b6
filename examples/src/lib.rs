//! # examples: the LeNet5 trainer and other runnable programs
//!
//! - `lenet5` (`src/bin/lenet5/`): trains and evaluates the seed's LeNet5, or any network file,
//!   on MNIST-format data.
//!   `cargo run --release --bin lenet5 -- train` trains on the bundled MNIST; `--help` lists the
//!   options.
//! - `seed_bn_net` (`src/bin/seed_bn_net.rs`): the seed report's first network, with batch
//!   normalisation and max pooling, and what eval mode changes.
//! - `layer_times` (`src/bin/layer_times.rs`): each layer's share of a training step.
//!
//! This library holds what the binaries share: thread-pool setup, the run report and the error
//! exit.
//!
//! `lenet5 export` writes a saved model as safetensors and ONNX (`nn-interop`).
//!
//! Dependencies: the framework's crates; `clap` (the command line); `rayon` (the thread count);
//! `image` (reading PNG, JPEG and PGM files for `lenet5 predict`; built with those three
//! decoders only).

pub mod classes;
pub mod image_input;
pub mod schedule_arg;

use std::fmt::Display;
use std::io::Write;
use std::process::ExitCode;
use std::sync::Mutex;

use nn_train::{EpochRecord, Model, Result, TrainError};

/// The most threads `--threads` takes: beyond it the pool's start-up and per-layer fork-joins
/// cost more than any machine this runs on gains.
pub const MAX_THREADS: usize = 256;

/// Parses `--threads`: a whole number in `1..=MAX_THREADS`.
///
/// # Errors
/// The message clap prints after `invalid value`.
pub fn parse_threads(s: &str) -> std::result::Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if (1..=MAX_THREADS).contains(&n) => Ok(n),
        Ok(n) => Err(format!("must be in 1..={MAX_THREADS}, got {n}")),
        Err(e) => Err(e.to_string()),
    }
}

/// A command line that parses but asks for something contradictory: exit code 2, as clap's own
/// usage errors.
#[derive(Debug)]
pub struct UsageError(pub String);

impl Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// The first error writing to standard output, after which nothing more is printed.
static STDOUT_ERROR: Mutex<Option<std::io::Error>> = Mutex::new(None);

/// Prints a line to standard output, never failing the program: once a write fails (the reader
/// closed the pipe, the device is full) printing stops and the work goes on, so that files are
/// still written. [`run`] reports a failure other than a closed pipe at the end.
pub fn print_line(args: std::fmt::Arguments<'_>) {
    let mut failed = STDOUT_ERROR.lock().unwrap_or_else(|e| e.into_inner());
    if failed.is_some() {
        return;
    }
    let mut out = std::io::stdout().lock();
    if let Err(e) = out
        .write_fmt(args)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush())
    {
        *failed = Some(e);
    }
}

/// `println!` through [`print_line`].
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::print_line(format_args!($($arg)*))
    };
}

/// Any error of a binary: the framework's, a [`UsageError`], an I/O error ...
pub type AnyError = Box<dyn std::error::Error + Send + Sync>;

/// Runs `main` with a rayon pool of `threads` threads (all cores when `None`).
///
/// # Errors
/// The pool cannot be started, or `main`'s error.
pub fn with_threads<T, E>(
    threads: Option<usize>,
    main: impl FnOnce() -> std::result::Result<T, E> + Send,
) -> std::result::Result<T, E>
where
    T: Send,
    E: From<TrainError> + Send,
{
    let mut builder = rayon::ThreadPoolBuilder::new();
    if let Some(n) = threads {
        builder = builder.num_threads(n);
    }
    let pool = builder.build().map_err(|e| {
        TrainError::InvalidArgument(format!("cannot start {threads:?} threads: {e}"))
    })?;
    pool.install(main)
}

/// The line printed after each epoch; `label` names the evaluated set (`test`, `val`).
pub fn epoch_line(r: &EpochRecord, label: &str) -> String {
    let opt = |v: Option<f32>| v.map_or_else(|| "-".to_string(), |v| format!("{v:.4}"));
    let t = &r.timings;
    format!(
        "epoch={} train_loss={:.4} train_acc={:.4} {label}_loss={} {label}_acc={} lr={:.4e} train_s={:.2} data_s={:.2} forward_s={:.2} backward_s={:.2} update_s={:.2}",
        r.epoch,
        r.train_loss,
        r.train_accuracy,
        opt(r.val_loss),
        opt(r.val_accuracy),
        r.lr,
        r.train_s,
        t.data_s,
        t.forward_s,
        t.backward_s,
        t.update_s
    )
}

/// Images per second of eval-mode prediction over `data` in batches of 1000: one warm-up pass,
/// then the median of three timed passes. Only the forward passes are timed; each batch is
/// converted to `f32` just before its pass, so the whole set never sits in memory as `f32`.
///
/// # Errors
/// Data the network cannot take.
pub fn inference_rate(model: &mut Model, data: &nn_data::Dataset) -> Result<f64> {
    let loader = nn_data::DataLoader::new(data, 1000)?;
    model.eval();
    let mut rates = Vec::new();
    for pass in 0..4 {
        let mut seconds = 0.0;
        for batch in loader.epoch(0) {
            let x = batch.images.into_dyn();
            let start = std::time::Instant::now();
            std::hint::black_box(model.predict(&x)?);
            seconds += start.elapsed().as_secs_f64();
        }
        if pass > 0 {
            rates.push(data.len() as f64 / seconds);
        }
    }
    model.train();
    rates.sort_by(f64::total_cmp);
    Ok(rates.get(1).copied().unwrap_or(0.0))
}

/// The median time, in microseconds, of eval-mode prediction of one image (a batch of one): over
/// the first 2000 images of `data` (cycling if it has fewer), after 200 untimed ones. Only the
/// `Model::predict` calls are timed. PyTorch's figure comes from `scripts/torch_net.py --latency`.
///
/// # Errors
/// An empty data set, or data the network cannot take.
pub fn single_image_latency_us(model: &mut Model, data: &nn_data::Dataset) -> Result<f64> {
    const WARMUP: usize = 200;
    const RUNS: usize = 2000;
    if data.is_empty() {
        return Err(nn_data::DataError::InvalidArgument(
            "no images to time single-image inference on".into(),
        )
        .into());
    }
    let loader = nn_data::DataLoader::new(data, 1)?;
    model.eval();
    let mut times = Vec::with_capacity(RUNS);
    let mut epoch = 0;
    while times.len() < RUNS {
        for (i, batch) in loader.epoch(epoch).enumerate() {
            let x = batch.images.into_dyn();
            let start = std::time::Instant::now();
            std::hint::black_box(model.predict(&x)?);
            if epoch > 0 || i >= WARMUP {
                times.push(start.elapsed().as_secs_f64());
            }
            if times.len() == RUNS {
                break;
            }
        }
        epoch += 1;
    }
    model.train();
    times.sort_by(f64::total_cmp);
    Ok(times[RUNS / 2] * 1e6)
}

/// The largest network file [`read_network_file`] reads.
pub const MAX_NETWORK_FILE_BYTES: u64 = 1 << 20;

/// Reads a network file (`--net`): JSON of a [`NetworkSpec`](nn_layers::NetworkSpec), at most
/// [`MAX_NETWORK_FILE_BYTES`], checked by building it.
///
/// # Errors
/// A missing, oversized or unreadable file, or JSON that is not a network this framework builds
/// ([`TrainError::BadFile`], naming the file and the problem).
pub fn read_network_file(path: &std::path::Path) -> Result<nn_layers::NetworkSpec> {
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
    let spec: nn_layers::NetworkSpec = serde_json::from_slice(&bytes).map_err(|e| {
        bad(format!(
            "not a valid network file: {e} (the format: examples/networks/README.md)"
        ))
    })?;
    spec.state_shapes()
        .and_then(|_| spec.build(&mut core_tensor::random::seeded_rng(0)))
        .map_err(|e| bad(e.to_string()))?;
    Ok(spec)
}

/// Reads the whole file at `path` when it is a regular file of at most `max_bytes` bytes;
/// anything else is refused from its metadata, before it is opened, as "not `what`: give `hint`".
///
/// # Errors
/// A missing or unreadable file ([`TrainError::Io`]), or a folder, device or larger file
/// ([`TrainError::BadFile`]).
pub fn read_bounded(
    path: &std::path::Path,
    max_bytes: u64,
    what: &str,
    hint: &str,
) -> Result<Vec<u8>> {
    let io = |source| TrainError::Io {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if !meta.is_file() || meta.len() > max_bytes {
        return Err(TrainError::BadFile {
            path: path.to_path_buf(),
            reason: format!("not {what}: give {hint} of at most {max_bytes} bytes"),
        });
    }
    std::fs::read(path).map_err(io)
}

/// Prints `error: ...` on stderr and gives exit code 1.
pub fn fail(e: impl Display) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::from(1)
}

/// Runs `body`, turning an error into `error: ...` and exit code 1 (2 for a [`UsageError`]), and a
/// panic (a bug) into one line and exit code 1 instead of a trace. A failure to write standard
/// output other than a closed pipe is reported last, after the work is done.
pub fn run(
    body: impl FnOnce() -> std::result::Result<(), AnyError> + std::panic::UnwindSafe,
) -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        eprintln!("error: internal error (please report it): {msg}");
    }));
    let code = match std::panic::catch_unwind(body) {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(e)) if e.is::<UsageError>() => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
        Ok(Err(e)) => fail(e),
        Err(_) => ExitCode::from(1),
    };
    let stdout = STDOUT_ERROR
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take();
    match stdout {
        Some(e) if e.kind() != std::io::ErrorKind::BrokenPipe && code == ExitCode::SUCCESS => {
            fail(format!("cannot write to standard output: {e}"))
        }
        _ => code,
    }
}
