//! Loads an MNIST-format set and prints its sizes and the bytes it holds.
//!
//! `cargo run --release -p nn-data --example mnist_summary [DIR]` (default: the bundled MNIST).
//! Run it under `/usr/bin/time -v` to see the process's peak resident memory.

use std::process::ExitCode;

fn main() -> ExitCode {
    let dir = std::env::args_os()
        .nth(1)
        .map_or_else(nn_data::bundled_mnist_dir, Into::into);
    match nn_data::Mnist::load(&dir) {
        Ok(m) => {
            let [rows, cols] = m.train.image_size();
            println!(
                "train={} test={} image={rows}x{cols} heap_bytes={} train_mean_std={:?}",
                m.train.len(),
                m.test.len(),
                m.train.heap_bytes() + m.test.heap_bytes(),
                m.train.mean_std()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
