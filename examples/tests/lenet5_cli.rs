//! The `lenet5` binary end to end: training, eval, reproducibility across thread counts, resume,
//! and bad input (exit codes and messages, never a panic).

use nn_layers::NamedState;
use std::path::Path;

mod common;

use common::*;

#[test]
fn trains_saves_and_evaluates_to_the_same_accuracy() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.bin");
    let plot = dir.path().join("curves.png");
    let out = ok(&lenet5(&small_run(&[
        "--epochs",
        "1",
        "--threads",
        "2",
        "--save",
        path(&model),
        "--plot",
        path(&plot),
    ])));
    assert!(out.contains("Trainable parameters: 61706"), "{out}");
    assert!(out.contains("epoch=1 train_loss="), "{out}");
    let last = out.lines().last().unwrap();
    assert!(
        last.starts_with("test_acc=") && last.contains("test_loss=") && last.contains("train_s="),
        "{last}"
    );
    // 32 Adam steps on 2 000 images: well past chance (0.1), not yet past LeNet5's early plateau.
    let acc = field(&out, "test_acc");
    assert!(acc > 0.3, "test accuracy {acc} is not far above chance");
    assert!(dir.path().join("curves.svg").exists() && plot.exists());
    let predicted = out
        .lines()
        .find(|l| l.starts_with("predicted:"))
        .unwrap()
        .to_string();

    let eval = ok(&lenet5(&[
        "eval",
        "--model",
        path(&model),
        "--test-limit",
        "1000",
    ]));
    assert_eq!(field(&eval, "test_acc"), acc);
    assert_eq!(field(&eval, "test_loss"), field(&out, "test_loss"));
    assert!(eval.lines().any(|l| l == predicted), "{eval}");
    assert!(eval.lines().last().unwrap().starts_with("test_acc="));
}

#[test]
fn one_and_two_threads_write_identical_model_files() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("t1.bin"), dir.path().join("t2.bin"));
    ok(&lenet5(&small_run(&[
        "--epochs",
        "1",
        "--threads",
        "1",
        "--save",
        path(&a),
    ])));
    ok(&lenet5(&small_run(&[
        "--epochs",
        "1",
        "--threads",
        "2",
        "--save",
        path(&b),
    ])));
    assert_eq!(
        std::fs::read(&a).unwrap(),
        std::fs::read(&b).unwrap(),
        "model files differ between 1 and 2 threads"
    );
}

#[test]
fn resume_equals_an_uninterrupted_run() {
    let dir = tempfile::tempdir().unwrap();
    let straight = dir.path().join("straight.bin");
    let ck = dir.path().join("ck.bin");
    let resumed = dir.path().join("resumed.bin");
    ok(&lenet5(&small_run(&[
        "--epochs",
        "2",
        "--seed",
        "7",
        "--save",
        path(&straight),
    ])));
    ok(&lenet5(&small_run(&[
        "--epochs",
        "1",
        "--seed",
        "7",
        "--checkpoint",
        path(&ck),
    ])));
    let out = ok(&lenet5(&small_run(&[
        "--epochs",
        "2",
        "--resume",
        path(&ck),
        "--save",
        path(&resumed),
    ])));
    assert!(
        out.contains("resuming from") && out.contains("epoch=2 ") && !out.contains("epoch=1 "),
        "{out}"
    );
    assert_eq!(
        std::fs::read(&straight).unwrap(),
        std::fs::read(&resumed).unwrap(),
        "resumed run differs"
    );
}

#[test]
fn bad_usage_exits_with_2() {
    expect_failure(&lenet5(&["train", "--batch-size", "0"]), 2, "--batch-size");
    expect_failure(
        &lenet5(&["train", "--lr", "-1"]),
        2,
        "must be a finite number greater than 0",
    );
    expect_failure(
        &lenet5(&["train", "--optimizer", "lbfgs"]),
        2,
        "adam, adamw",
    );
    expect_failure(&lenet5(&["eval"]), 2, "--model");
    expect_failure(&lenet5(&["fly"]), 2, "unrecognized subcommand");
}

#[test]
fn missing_or_corrupt_data_exits_with_1() {
    expect_failure(
        &lenet5(&["train", "--data", "/no/such/mnist"]),
        1,
        "error: data folder /no/such/mnist does not exist",
    );
    let dir = tempfile::tempdir().unwrap();
    let bundled = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/mnist");
    for name in [
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    ] {
        std::fs::copy(bundled.join(name), dir.path().join(name)).unwrap();
    }
    let labels = dir.path().join("t10k-labels-idx1-ubyte.gz");
    let mut bytes = std::fs::read(&labels).unwrap();
    bytes.truncate(bytes.len() / 2);
    std::fs::write(&labels, bytes).unwrap();
    expect_failure(
        &lenet5(&["train", "--data", path(dir.path())]),
        1,
        "t10k-labels-idx1-ubyte.gz",
    );
}

#[test]
fn corrupt_truncated_or_foreign_model_files_exit_with_1() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.bin");
    save_tiny_model(&model);
    let bytes = std::fs::read(&model).unwrap();
    let cases: [(&str, Vec<u8>, &str); 3] = [
        (
            "truncated.bin",
            bytes[..bytes.len() - 100].to_vec(),
            "truncated",
        ),
        (
            "corrupt.bin",
            bytes
                .iter()
                .enumerate()
                .map(|(i, &b)| if i == bytes.len() / 2 { !b } else { b })
                .collect(),
            "checksum",
        ),
        (
            "foreign.bin",
            b"\x89PNG\r\n\x1a\n not a model".to_vec(),
            "not a model file",
        ),
    ];
    for (name, content, needle) in cases {
        let p = dir.path().join(name);
        std::fs::write(&p, content).unwrap();
        expect_failure(
            &lenet5(&["eval", "--model", path(&p), "--test-limit", "100"]),
            1,
            needle,
        );
    }
    expect_failure(
        &lenet5(&["eval", "--model", path(&dir.path().join("none.bin"))]),
        1,
        "none.bin",
    );
}

#[test]
fn export_writes_safetensors_and_onnx_of_the_saved_model() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.bin");
    save_tiny_model(&model);
    let st = dir.path().join("m.safetensors");
    let onnx = dir.path().join("m.onnx");
    let out = export_both(&model, &st, &onnx);
    assert!(out.contains("(10 tensors, PyTorch names)"), "{out}");
    assert!(
        out.contains("ONNX opset 17") && out.contains("(batch, 1, 28, 28)"),
        "{out}"
    );
    let (_, saved) = nn_train::load_network(&model).unwrap();
    let mut fresh = nn_layers::models::lenet5(&mut core_tensor::random::seeded_rng(0)).unwrap();
    nn_interop::load_safetensors(&mut fresh, &st).unwrap();
    for ((a, p), (b, q)) in fresh.params().into_iter().zip(saved.params()) {
        assert_eq!((a, &p.value), (b, &q.value));
    }
    assert_eq!(
        std::fs::read(&onnx).unwrap(),
        nn_interop::to_onnx(&saved).unwrap()
    );
    // Only one of the two outputs is fine too.
    let only = dir.path().join("only.onnx");
    ok(&lenet5(&[
        "export",
        "--model",
        path(&model),
        "--onnx",
        path(&only),
    ]));
    assert!(only.exists() && !dir.path().join("only.safetensors").exists());

    // Bad usage and bad files.
    expect_failure(
        &lenet5(&["export", "--model", path(&model)]),
        2,
        "--safetensors",
    );
    let foreign = dir.path().join("foreign.bin");
    std::fs::write(&foreign, b"not a model").unwrap();
    expect_failure(
        &lenet5(&["export", "--model", path(&foreign), "--onnx", path(&only)]),
        1,
        "not a model file",
    );
    expect_failure(
        &lenet5(&[
            "export",
            "--model",
            path(&model),
            "--safetensors",
            "/no/such/folder/m.safetensors",
        ]),
        1,
        "/no/such/folder/m.safetensors",
    );
}
