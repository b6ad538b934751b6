//! What the `lenet5` CLI tests share: running the binary and reading what it printed.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

pub const BIN: &str = env!("CARGO_BIN_EXE_lenet5");

pub fn lenet5(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("cannot start lenet5")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        stdout(o),
        stderr(o)
    );
    stdout(o)
}

/// The value of `key=` on the last line that has it.
pub fn field(out: &str, key: &str) -> f64 {
    out.lines()
        .rev()
        .find_map(|l| {
            l.split_whitespace()
                .find_map(|w| w.strip_prefix(&format!("{key}=")))
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {key}= in:\n{out}"))
}

pub fn small_run<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "train",
        "--limit",
        "2000",
        "--test-limit",
        "1000",
        "--quiet",
    ];
    args.extend_from_slice(extra);
    args
}

/// The arguments of one quiet training epoch on the first `limit` images (tested on 100), then
/// `extra`.
pub fn one_epoch<'a>(limit: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "train",
        "--epochs",
        "1",
        "--limit",
        limit,
        "--test-limit",
        "100",
        "--quiet",
    ];
    args.extend_from_slice(extra);
    args
}

/// Trains LeNet5 for one epoch on 256 images and saves it to `model`.
pub fn save_tiny_model(model: &Path) {
    ok(&lenet5(&one_epoch("256", &["--save", path(model)])));
}

/// `lenet5 export --model MODEL --safetensors ST --onnx ONNX`, succeeded; what it printed.
pub fn export_both(model: &Path, st: &Path, onnx: &Path) -> String {
    ok(&lenet5(&[
        "export",
        "--model",
        path(model),
        "--safetensors",
        path(st),
        "--onnx",
        path(onnx),
    ]))
}

pub fn path(p: &Path) -> &str {
    p.to_str().expect("temporary paths are UTF-8")
}

pub fn expect_failure(o: &Output, code: i32, needle: &str) {
    let err = stderr(o);
    assert_eq!(
        o.status.code(),
        Some(code),
        "stderr:\n{err}\nstdout:\n{}",
        stdout(o)
    );
    assert!(
        err.contains(needle),
        "expected {needle:?} in stderr:\n{err}"
    );
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{err}"
    );
}
