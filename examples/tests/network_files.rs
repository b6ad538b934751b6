//! The trainer with every network file in `examples/networks/`: trained briefly, saved,
//! evaluated and exported; wrong files are one `error:` line naming the problem.

mod common;

use common::*;
use std::path::PathBuf;

/// Every shipped network file.
fn network_files() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("networks");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 4,
        "network files in {}: {files:?}",
        dir.display()
    );
    files
}

#[test]
fn every_shipped_network_trains_saves_evaluates_and_exports() {
    let dir = tempfile::tempdir().unwrap();
    for net in network_files() {
        let name = net.file_stem().unwrap().to_string_lossy().into_owned();
        let model = dir.path().join(format!("{name}.nnrs"));
        let out = ok(&lenet5(&one_epoch(
            "128",
            &[
                "--net",
                path(&net),
                "--save",
                path(&model),
                "--threads",
                "2",
            ],
        )));
        let trained = field(&out, "test_acc");
        let out = ok(&lenet5(&[
            "eval",
            "--model",
            path(&model),
            "--test-limit",
            "100",
        ]));
        assert_eq!(
            field(&out, "test_acc"),
            trained,
            "{name}: eval of the saved model"
        );
        let st = dir.path().join(format!("{name}.safetensors"));
        let onnx = dir.path().join(format!("{name}.onnx"));
        export_both(&model, &st, &onnx);
        assert!(st.exists() && onnx.exists(), "{name}: exported files");
    }
}

#[test]
fn the_shipped_lenet5_file_is_the_default_network() {
    let text = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("networks/lenet5.json"),
    )
    .unwrap();
    let spec: nn_layers::NetworkSpec = serde_json::from_str(&text).unwrap();
    assert_eq!(spec, nn_layers::models::lenet5_spec());
    let text = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("networks/seed_bn_net.json"),
    )
    .unwrap();
    let spec: nn_layers::NetworkSpec = serde_json::from_str(&text).unwrap();
    assert_eq!(spec, nn_layers::models::seed_bn_net_spec());
}

#[test]
fn a_wrong_network_file_is_one_error_line() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("not json", "not a valid network file"),
        (
            r#"{"input": [1, 28, 28], "layers": [{"type": "Conv3D"}]}"#,
            "unknown variant `Conv3D`",
        ),
        (
            r#"{"input": [1, 28, 28], "layers": [{"type": "Linear", "in_features": 5, "out_features": 2}]}"#,
            "layer 0 (Linear(5, 2))",
        ),
        (
            r#"{"input": [1, 28, 28], "layers": [{"type": "Conv2D", "in_channels": 1, "out_channels": 0, "kernel": [3, 3]}]}"#,
            "out_channels must be",
        ),
        (
            r#"{"input": [1, 28, 28], "layers": [{"type": "Flatten"}, {"type": "Linear", "in_features": 784, "out_features": 3}]}"#,
            "one score per class",
        ),
    ];
    for (i, (text, needle)) in cases.into_iter().enumerate() {
        let file = dir.path().join(format!("net{i}.json"));
        std::fs::write(&file, text).unwrap();
        let o = lenet5(&one_epoch("64", &["--net", path(&file)]));
        expect_failure(&o, 1, needle);
        assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    }
    let missing = dir.path().join("missing.json");
    expect_failure(
        &lenet5(&one_epoch("64", &["--net", path(&missing)])),
        1,
        "missing.json",
    );
}

#[test]
fn resume_keeps_the_network_and_the_loss_of_the_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("ck.bin");
    let net = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("networks/seed_bn_net.json");
    ok(&lenet5(&one_epoch(
        "64",
        &[
            "--net",
            path(&net),
            "--loss",
            "mse",
            "--checkpoint",
            path(&ck),
        ],
    )));
    let resume = |extra: &[&str]| {
        let mut args = vec![
            "train",
            "--epochs",
            "2",
            "--limit",
            "64",
            "--test-limit",
            "50",
        ];
        args.extend(["--quiet", "--resume", path(&ck)]);
        args.extend_from_slice(extra);
        lenet5(&args)
    };
    expect_failure(&resume(&["--loss", "cross-entropy"]), 2, "--loss");
    let lenet = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("networks/lenet5.json");
    expect_failure(&resume(&["--net", path(&lenet)]), 2, "--net");
    let out = ok(&resume(&["--net", path(&net), "--loss", "mse"]));
    assert!(out.contains("epoch=2"), "{out}");
}
