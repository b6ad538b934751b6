//! `seed_bn_net`: trains the seed report's first network (Conv2D - MaxPooling - BatchNormalization -
//! Relu - Conv2D - MaxPooling - Flatten, with a linear head) and shows what eval mode changes: batch
//! normalisation then uses its running statistics instead of the batch's own.
//!
//! `cargo run --release --bin seed_bn_net -- [--data DIR] [--epochs 1] [--limit 10000] [--threads N]`

use nn_layers::NamedState;
use std::process::ExitCode;

use clap::Parser;
use examples::{epoch_line, parse_threads, run, say, with_threads};
use nn_data::{Mnist, Normalization, bundled_mnist_dir};
use nn_layers::{Layer, Mode, models};
use nn_train::{FitConfig, Model, OptimizerKind, OptimizerSpec, Progress, Result, argmax_rows};

#[derive(Parser, Debug)]
#[command(
    name = "seed_bn_net",
    about = "Train the seed's batch-norm network and compare train and eval modes."
)]
struct Args {
    /// Folder with the four IDX files; default: the bundled data/mnist.
    #[arg(long)]
    data: Option<std::path::PathBuf>,
    /// Epochs.
    #[arg(long, default_value_t = 1)]
    epochs: usize,
    /// Train on the first N training images.
    #[arg(long, default_value_t = 10_000)]
    limit: usize,
    /// Threads, 1 to 256; default: all cores.
    #[arg(long, value_parser = parse_threads)]
    threads: Option<usize>,
}

fn main_inner(args: Args) -> Result<()> {
    let mut mnist = Mnist::load(&args.data.unwrap_or_else(bundled_mnist_dir))?;
    mnist.train = mnist.train.take(args.limit);
    let mut model = Model::new(
        models::seed_bn_net_spec(),
        OptimizerSpec {
            kind: OptimizerKind::Adam,
            lr: 1e-3,
        },
        1,
    )?;
    say!("{}", model.net());
    let config = FitConfig {
        epochs: args.epochs,
        batch_size: 64,
        shuffle_seed: 1,
        progress: Progress::Quiet,
    };
    model.fit(&mnist.train, Some(&mnist.test), &config, |_, r| {
        say!("{}", epoch_line(r, "test"));
        Ok(())
    })?;

    let bn = &model.net().buffers();
    for (name, t) in bn {
        say!("{name} = {:.4?}", t.iter().collect::<Vec<_>>());
    }

    let ev = model.evaluate(&mnist.test, 1000)?;

    // The same four test images, alone in a batch, through both modes.
    let batch = mnist.test.batch(&[0, 1, 2, 3], Normalization::Unit)?;
    let x = batch.images.into_dyn();
    let eval = model.net_mut().forward(&x, Mode::Eval)?;
    let train = model.net_mut().forward(&x, Mode::Train)?;
    let diff = eval
        .iter()
        .zip(train.iter())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0_f32, f32::max);
    say!("four test images, true labels {:?}:", batch.labels);
    say!(
        "  eval mode (running statistics):        predicted {:?}",
        argmax_rows(&eval)
    );
    say!(
        "  train mode (the batch's own statistics): predicted {:?}",
        argmax_rows(&train)
    );
    say!("  largest logit difference between the modes: {diff:.4}");
    say!("  (a train-mode forward pass also moves the running statistics, as in PyTorch)");
    say!("test_acc={:.4} test_loss={:.4}", ev.accuracy, ev.loss);
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    run(move || {
        let threads = args.threads;
        Ok(with_threads(threads, move || main_inner(args))?)
    })
}
