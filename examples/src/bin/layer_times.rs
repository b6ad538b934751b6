//! `layer_times`: where a training step's time goes, layer by layer. Times each layer's training
//! forward pass, its backward pass and its eval-mode forward pass through the network's
//! workspace, on a fixed batch of synthetic images, and prints the mean per step.
//!
//! `cargo run --release --bin layer_times -- [--net FILE.json] [--batch-size 64] [--steps 300]
//! [--threads N]`

use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use examples::{AnyError, parse_threads, read_network_file, run, say, with_threads};
use nn_layers::{CrossEntropyLoss, Mode, NamedState, Tensor, Workspace, models};
use nn_train::TrainError;

/// Steps run before the timed ones, so that every buffer is warm.
const WARMUP_STEPS: usize = 20;

#[derive(Parser, Debug)]
#[command(
    name = "layer_times",
    about = "Time each layer's forward, backward and eval pass of a training step."
)]
struct Args {
    /// The network, as a JSON network file (see examples/networks/); default: LeNet5.
    #[arg(long)]
    net: Option<std::path::PathBuf>,
    /// Images per batch.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=4096))]
    batch_size: u64,
    /// Timed steps (after 20 untimed ones).
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    steps: u64,
    /// Threads, 1 to 256; default: all cores.
    #[arg(long, value_parser = parse_threads)]
    threads: Option<usize>,
}

/// Seconds spent in each layer's passes over the timed steps.
struct Times {
    forward: Vec<f64>,
    backward: Vec<f64>,
    eval: Vec<f64>,
}

fn main_inner(args: &Args) -> Result<(), AnyError> {
    let spec = match &args.net {
        Some(path) => read_network_file(path)?,
        None => models::lenet5_spec(),
    };
    let mut net = spec
        .build(&mut core_tensor::random::seeded_rng(42))
        .map_err(TrainError::from)?;
    let batch = usize::try_from(args.batch_size)?;
    let steps = usize::try_from(args.steps)?;
    let mut shape = vec![batch];
    shape.extend_from_slice(net.input_sample_shape());
    let len = shape.iter().product::<usize>();
    let pixels = (0..len).map(|k| (k * 7 % 17) as f32 / 17.0).collect();
    let x = Tensor::from_shape_vec(shape, pixels).map_err(|e| AnyError::from(e.to_string()))?;
    let classes = net.output_sample_shape().iter().product::<usize>().max(1);
    let labels: Vec<usize> = (0..batch).map(|i| i % classes).collect();
    let loss = CrossEntropyLoss::new();
    let mut ws = Workspace::new();
    let layers = net.len();
    let mut times = Times {
        forward: vec![0.0; layers],
        backward: vec![0.0; layers],
        eval: vec![0.0; layers],
    };
    for step in 0..WARMUP_STEPS + steps {
        let timed = step >= WARMUP_STEPS;
        let add = |slot: &mut f64, start: Instant| {
            if timed {
                *slot += start.elapsed().as_secs_f64();
            }
        };
        let mut t = ws.copy_of(&x);
        for (i, layer) in net.layers_mut().iter_mut().enumerate() {
            let start = Instant::now();
            t = layer.forward_owned(t, Mode::Train, &mut ws)?;
            add(&mut times.forward[i], start);
        }
        let out = loss.forward_in(&t, &labels, &mut ws)?;
        ws.recycle(t);
        net.zero_grad();
        let mut grad = out.grad;
        for (i, layer) in net.layers_mut().iter_mut().enumerate().rev() {
            let start = Instant::now();
            if i == 0 {
                layer.backward_params_only(std::mem::take(&mut grad), &mut ws)?;
            } else {
                grad = layer.backward_owned(grad, &mut ws)?;
            }
            add(&mut times.backward[i], start);
        }
        let mut t = ws.copy_of(&x);
        for (i, layer) in net.layers_mut().iter_mut().enumerate() {
            let start = Instant::now();
            t = layer.forward_owned(t, Mode::Eval, &mut ws)?;
            add(&mut times.eval[i], start);
        }
        ws.recycle(t);
    }
    report(&net, &times, steps);
    Ok(())
}

/// One line per layer and the totals, in microseconds per step.
fn report(net: &nn_layers::Sequential, times: &Times, steps: usize) {
    let us = |s: f64| s / steps as f64 * 1e6;
    say!(
        "{:<4} {:<44} {:>10} {:>10} {:>10}",
        "#",
        "layer (µs per step)",
        "forward",
        "backward",
        "eval"
    );
    for (i, layer) in net.layers().iter().enumerate() {
        say!(
            "{i:<4} {:<44} {:>10.1} {:>10.1} {:>10.1}",
            layer.describe(),
            us(times.forward[i]),
            us(times.backward[i]),
            us(times.eval[i])
        );
    }
    let total = |v: &[f64]| us(v.iter().sum());
    say!(
        "{:<4} {:<44} {:>10.1} {:>10.1} {:>10.1}",
        "",
        "total",
        total(&times.forward),
        total(&times.backward),
        total(&times.eval)
    );
}

fn main() -> ExitCode {
    let args = Args::parse();
    run(move || {
        let threads = args.threads;
        with_threads(threads, || main_inner(&args))
    })
}
