//! The `seed_bn_net` example runs and shows that eval mode changes the network's outputs.

use std::process::Command;

#[test]
fn eval_mode_changes_the_outputs() {
    let out = Command::new(env!("CARGO_BIN_EXE_seed_bn_net"))
        .args(["--limit", "640", "--threads", "2"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("BatchNormalization(4)") && text.contains("2.running_mean = "),
        "{text}"
    );
    let diff: f32 = text
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("largest logit difference between the modes: ")
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        diff > 1e-3,
        "train and eval modes gave the same outputs: {text}"
    );
    assert!(text.lines().last().unwrap().starts_with("test_acc="));
}
