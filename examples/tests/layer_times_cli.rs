//! The `layer_times` tool times every layer of the network it is given, and refuses a bad file.

mod common;

use std::process::Command;

use common::{ok, stderr};

#[test]
fn every_layer_gets_a_line_and_the_totals_add_up() {
    let out = Command::new(env!("CARGO_BIN_EXE_layer_times"))
        .args(["--steps", "2", "--batch-size", "8", "--threads", "1"])
        .output()
        .unwrap();
    let text = ok(&out);
    let numbers = |line: &str| -> Vec<f64> {
        line.split_whitespace()
            .rev()
            .take(3)
            .map(|v| v.parse().unwrap_or_else(|_| panic!("{line}")))
            .collect()
    };
    let rows: Vec<Vec<f64>> = text
        .lines()
        .filter(|l| l.starts_with(|c: char| c.is_ascii_digit()))
        .map(numbers)
        .collect();
    assert_eq!(rows.len(), 12, "LeNet5 has 12 layers: {text}");
    let total = numbers(text.lines().last().unwrap());
    for (k, &t) in total.iter().enumerate() {
        let sum: f64 = rows.iter().map(|r| r[k]).sum();
        // Each figure is rounded to 0.1 µs.
        assert!((sum - t).abs() <= 0.1 * 13.0, "{sum} against {t}: {text}");
        assert!(t > 0.0, "{text}");
    }
}

#[test]
fn a_missing_network_file_is_an_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_layer_times"))
        .args(["--net", "no/such/network.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.starts_with("error: ") && err.contains("no/such/network.json"),
        "{err}"
    );
}
