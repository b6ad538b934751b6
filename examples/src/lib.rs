//! # examples: the LeNet5 trainer and other runnable programs
//!
//! - `lenet5` (`src/bin/lenet5.rs`): trains and evaluates the seed's LeNet5 on MNIST-format data.
//!   `cargo run --release --bin lenet5 -- train` trains on the bundled MNIST; `--help` lists the
//!   options.
//! - `seed_bn_net` (`src/bin/seed_bn_net.rs`): the seed report's first network, with batch
//!   normalisation and max pooling, and what eval mode changes.
//!
//! This library holds what the binaries share: thread-pool setup, the run report and the error
//! exit.
//!
//! `lenet5 export` writes a saved model as safetensors and ONNX (`nn-interop`).
//!
//! Dependencies: the framework's crates; `clap` (the command line); `rayon` (the thread count).

use std::fmt::Display;
use std::process::ExitCode;

use nn_train::{EpochRecord, Model, Result, TrainError};

/// Runs `main` with a rayon pool of `threads` threads (all cores when `None`).
///
/// # Errors
/// The pool cannot be started, or `main`'s error.
pub fn with_threads<T>(threads: Option<usize>, main: impl FnOnce() -> Result<T> + Send) -> Result<T>
where
    T: Send,
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

/// The line printed after each epoch.
pub fn epoch_line(r: &EpochRecord) -> String {
    let opt = |v: Option<f32>| v.map_or_else(|| "-".to_string(), |v| format!("{v:.4}"));
    let t = &r.timings;
    format!(
        "epoch={} train_loss={:.4} train_acc={:.4} test_loss={} test_acc={} train_s={:.2} data_s={:.2} forward_s={:.2} backward_s={:.2} update_s={:.2}",
        r.epoch,
        r.train_loss,
        r.train_accuracy,
        opt(r.val_loss),
        opt(r.val_accuracy),
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

/// Prints `error: ...` on stderr and gives exit code 1.
pub fn fail(e: impl Display) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::from(1)
}

/// Runs `body`, turning an error into `error: ...` and exit code 1, and a panic (a bug) into one
/// line and exit code 1 instead of a trace.
pub fn run<E: Display>(
    body: impl FnOnce() -> std::result::Result<(), E> + std::panic::UnwindSafe,
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
    match std::panic::catch_unwind(body) {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(e)) => fail(e),
        Err(_) => ExitCode::from(1),
    }
}
