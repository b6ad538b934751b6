//! The `lenet5` binary against careless use: a closed or full standard output, outputs that
//! cannot be written or that overwrite each other, contradicting and out-of-range arguments,
//! data sets that are empty or of the wrong size, models with NaN weights. Each is one clean
//! error (or, for a closed pipe, no error), and a trained model is never lost.

mod common;

use nn_layers::NamedState;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use common::*;

/// One epoch on 500 images (enough to be clearly better than chance), saving to `save`.
fn short_train(save: &Path) -> Vec<&str> {
    one_epoch("500", &["--save", path(save)])
}

/// The bundled data's files copied into `dir`, those of `split` only ("train", "t10k") or all.
fn copy_bundled(dir: &Path, prefix: &str) {
    let bundled = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/mnist");
    for entry in std::fs::read_dir(&bundled).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(prefix) && name.ends_with(".gz") {
            std::fs::copy(entry.path(), dir.join(&name)).unwrap();
        }
    }
}

#[test]
fn a_closed_standard_output_does_not_cost_the_model() {
    // `lenet5 train --save p.bin | head -1`
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("p.bin");
    let mut child = Command::new(BIN)
        .args(short_train(&model))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // The reader is gone: every later write to the pipe fails.
    let out = child.wait_with_output().unwrap();
    assert!(first.starts_with("data: "), "{first}");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
    let eval = ok(&lenet5(&[
        "eval",
        "--model",
        path(&model),
        "--test-limit",
        "200",
    ]));
    // A complete, trained model: better than chance (0.1).
    assert!(field(&eval, "test_acc") > 0.2, "{eval}");
}

#[test]
fn a_full_standard_output_is_reported_after_the_model_is_saved() {
    let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
        return; // No /dev/full on this system.
    };
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("q.bin");
    let out = Command::new(BIN)
        .args(short_train(&model))
        .stdout(full)
        .output()
        .unwrap();
    expect_failure(&out, 1, "cannot write to standard output");
    nn_train::load_network(&model).unwrap();
}

#[test]
fn outputs_are_checked_before_training() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no/such/folder/m.bin");
    let out = lenet5(&["train", "--save", path(&missing)]);
    expect_failure(&out, 1, "cannot be written");
    assert!(!stdout(&out).contains("epoch="), "it trained first");
    let out = lenet5(&["train", "--checkpoint", path(dir.path())]);
    expect_failure(&out, 1, "is a folder");
    let out = lenet5(&["train", "--plot", path(&dir.path().join("none/curves.png"))]);
    expect_failure(&out, 1, "curves.svg");
}

#[test]
fn two_outputs_on_one_path_are_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.bin");
    let a2 = dir.path().join(".").join("a.bin");
    let png = dir.path().join("a.png");
    for (args, needle) in [
        (
            vec!["train", "--save", path(&a), "--checkpoint", path(&a2)],
            "--save and --checkpoint name the same file",
        ),
        (
            vec!["train", "--save", path(&png), "--plot", path(&png)],
            "--save and --plot",
        ),
        (
            vec!["train", "--resume", path(&a), "--save", path(&a)],
            "--save and --resume",
        ),
        (
            vec![
                "export",
                "--model",
                path(&a),
                "--safetensors",
                path(&png),
                "--onnx",
                path(&png),
            ],
            "--safetensors and --onnx",
        ),
        (
            vec!["export", "--model", path(&a), "--onnx", path(&a)],
            "--onnx and --model",
        ),
    ] {
        expect_failure(&lenet5(&args), 2, needle);
    }
}

#[test]
fn saving_through_a_symbolic_link_keeps_the_link() {
    #[cfg(unix)]
    {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("link.bin");
        std::os::unix::fs::symlink("real.bin", &link).unwrap();
        ok(&lenet5(&short_train(&link)));
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        nn_train::load_network(&dir.path().join("real.bin")).unwrap();
    }
}

#[test]
fn out_of_range_and_contradicting_arguments_are_usage_errors() {
    expect_failure(
        &lenet5(&["train", "--threads", "100000"]),
        2,
        "must be in 1..=256",
    );
    expect_failure(
        &lenet5(&["eval", "--model", "m.bin", "--threads", "0"]),
        2,
        "--threads",
    );
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("ck.bin");
    ok(&lenet5(&one_epoch(
        "256",
        &["--lr", "0.002", "--seed", "5", "--checkpoint", path(&ck)],
    )));
    for (flag, value, stored) in [
        ("--lr", "0.01", "lr 0.002"),
        ("--optimizer", "sgd", "optimizer adam"),
        ("--seed", "6", "seed 5"),
    ] {
        let out = lenet5(&["train", "--epochs", "2", "--resume", path(&ck), flag, value]);
        expect_failure(&out, 2, stored);
        assert!(!stdout(&out).contains("data:"), "the data was loaded first");
    }
    // Repeating the checkpoint's own settings is no contradiction.
    let args = small_run(&[
        "--epochs",
        "2",
        "--resume",
        path(&ck),
        "--lr",
        "0.002",
        "--seed",
        "5",
        "--optimizer",
        "adam",
    ]);
    let out = ok(&lenet5(&args));
    assert!(out.contains("epoch=2 "), "{out}");
}

#[test]
fn eval_reads_only_the_test_files() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.bin");
    save_tiny_model(&model);
    let data = dir.path().join("test-only");
    std::fs::create_dir(&data).unwrap();
    copy_bundled(&data, "t10k");
    // A damaged training file beside them is never opened.
    std::fs::write(data.join("train-images-idx3-ubyte"), b"garbage").unwrap();
    let out = ok(&lenet5(&[
        "eval",
        "--model",
        path(&model),
        "--data",
        path(&data),
        "--test-limit",
        "100",
    ]));
    assert!(out.contains("data: 100 test images"), "{out}");
}

/// Writes an IDX image file of `count` images of `rows` x `cols` and its label file.
fn write_test_set(dir: &Path, count: u32, rows: u32, cols: u32) {
    let mut images = Vec::new();
    for word in [0x0803, count, rows, cols] {
        images.extend_from_slice(&u32::to_be_bytes(word));
    }
    images.resize(16 + (count * rows * cols) as usize, 0);
    let mut labels = Vec::new();
    for word in [0x0801, count] {
        labels.extend_from_slice(&u32::to_be_bytes(word));
    }
    labels.resize(8 + count as usize, 3);
    std::fs::write(dir.join("t10k-images-idx3-ubyte"), images).unwrap();
    std::fs::write(dir.join("t10k-labels-idx1-ubyte"), labels).unwrap();
}

#[test]
fn empty_or_wrongly_sized_data_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.bin");
    save_tiny_model(&model);
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    copy_bundled(&data, "train");
    write_test_set(&data, 0, 28, 28);
    let out = lenet5(&["train", "--data", path(&data), "--limit", "100"]);
    expect_failure(&out, 1, "t10k-images-idx3-ubyte: holds no images");
    assert!(!stdout(&out).contains("epoch="), "{}", stdout(&out));
    expect_failure(
        &lenet5(&["eval", "--model", path(&model), "--data", path(&data)]),
        1,
        "holds no images",
    );
    write_test_set(&data, 2, 32, 32);
    expect_failure(
        &lenet5(&["eval", "--model", path(&model), "--data", path(&data)]),
        1,
        "t10k-images-idx3-ubyte: images are 32x32",
    );
}

#[test]
fn a_model_with_nan_weights_is_refused_and_training_that_diverges_stops() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.bin");
    save_tiny_model(&model);
    let (spec, mut net) = nn_train::load_network(&model).unwrap();
    {
        let (_, p) = net.params_mut().into_iter().nth(3).unwrap();
        p.value[[0]] = f32::NAN;
    }
    let poisoned = dir.path().join("nan.bin");
    nn_train::save_network(&poisoned, &spec, &net).unwrap();
    expect_failure(
        &lenet5(&["eval", "--model", path(&poisoned)]),
        1,
        "tensor 3.bias holds NaN",
    );
    // A learning rate of 1e30 overflows within a step or two.
    let out = lenet5(&[
        "train",
        "--limit",
        "256",
        "--test-limit",
        "100",
        "--quiet",
        "--optimizer",
        "sgd",
        "--lr",
        "1e30",
    ]);
    expect_failure(&out, 1, "training diverged at epoch 1, batch");
}
