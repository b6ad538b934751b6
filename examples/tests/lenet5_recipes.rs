//! The trainer's recipes and reports: schedules, weight decay, standardisation, shifts, a
//! validation split with keep-best and early stopping, the metrics log, the confusion matrix,
//! the error grid, class names, and `predict` on image files.

mod common;

use std::path::Path;

use common::*;
use nn_data::{Split, SplitFiles, bundled_mnist_dir};

/// The recipe flags of these tests, on a small run.
const RECIPE: [&str; 10] = [
    "--optimizer",
    "adamw",
    "--lr",
    "0.003",
    "--weight-decay",
    "0.0001",
    "--standardize",
    "--shift",
    "2",
    "--quiet",
];

fn recipe_run<'a>(epochs: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    recipe_run_on("600", epochs, extra)
}

fn recipe_run_on<'a>(limit: &'a str, epochs: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "train",
        "--epochs",
        epochs,
        "--limit",
        limit,
        "--test-limit",
        "200",
        "--seed",
        "3",
    ];
    args.extend_from_slice(&RECIPE);
    args.extend_from_slice(extra);
    args
}

fn exit_code(args: &[&str]) -> (Option<i32>, String) {
    let o = lenet5(args);
    (o.status.code(), stderr(&o))
}

#[test]
fn every_recipe_option_trains_logs_and_draws() {
    let dir = tempfile::tempdir().unwrap();
    let (csv, jsonl) = (dir.path().join("log.csv"), dir.path().join("log.jsonl"));
    let (confusion, errors) = (dir.path().join("c.png"), dir.path().join("e.svg"));
    let names = "zero,one,two,three,four,five,six,seven,eight,nine";
    let out = ok(&lenet5(&recipe_run(
        "3",
        &[
            "--schedule",
            "one-cycle",
            "--val-split",
            "100",
            "--keep-best",
            "--patience",
            "5",
            "--log",
            path(&csv),
            "--confusion",
            path(&confusion),
            "--errors",
            path(&errors),
            "--classes",
            names,
        ],
    )));
    assert!(out.contains("Standardize(mean="), "{out}");
    assert!(
        out.contains("500 training, 100 validation and 200 test images"),
        "{out}"
    );
    assert!(
        out.contains("epoch=3 ") && out.contains(" val_acc="),
        "{out}"
    );
    assert!(out.contains("kept the best epoch: "), "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("seven ") && l.ends_with('%')),
        "{out}"
    );
    let log = std::fs::read_to_string(&csv).unwrap();
    let rows: Vec<&str> = log.lines().collect();
    assert_eq!(rows.len(), 4, "{log}");
    assert!(rows[0].starts_with("epoch,train_loss,train_acc,val_loss,val_acc,lr,train_s"));
    // The one-cycle rate rises over the first epochs of three.
    let lr = |row: &str| row.split(',').nth(5).unwrap().parse::<f64>().unwrap();
    assert!(lr(rows[1]) < lr(rows[2]), "{log}");
    assert_eq!(&std::fs::read(&confusion).unwrap()[..4], b"\x89PNG");
    let svg = std::fs::read_to_string(&errors).unwrap();
    assert!(
        svg.contains("<svg") && svg.contains("Misclassified"),
        "{svg:.200}"
    );

    // JSON lines: one object per epoch, every figure a number.
    ok(&lenet5(&recipe_run(
        "2",
        &["--schedule", "cosine", "--log", path(&jsonl)],
    )));
    let text = std::fs::read_to_string(&jsonl).unwrap();
    let objects: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(objects.len(), 2);
    assert_eq!(objects[1]["epoch"], 2);
    assert!(objects[1]["test_acc"].as_f64().unwrap() > 0.2, "{text}"); // above chance (0.1)
    // Cosine over the run: the second epoch starts at half the rate.
    let lr = |k: usize| objects[k]["lr"].as_f64().unwrap();
    assert!((lr(1) / lr(0) - 0.5).abs() < 1e-3, "{text}");
}

#[test]
fn patience_stops_a_run_that_no_longer_improves() {
    // A rate so small that nothing changes: epoch 1 stays the best, patience 1 stops after 2.
    let out = ok(&lenet5(&[
        "train",
        "--epochs",
        "6",
        "--limit",
        "400",
        "--test-limit",
        "100",
        "--quiet",
        "--lr",
        "1e-9",
        "--val-split",
        "100",
        "--patience",
        "1",
    ]));
    assert!(
        out.contains("epoch=2 ") && !out.contains("epoch=3 "),
        "{out}"
    );
    assert!(out.contains("stopped early after epoch 2"), "{out}");
}

#[test]
fn a_resumed_recipe_run_equals_the_uninterrupted_one_and_appends_its_log() {
    let dir = tempfile::tempdir().unwrap();
    let (straight, resumed) = (dir.path().join("a.bin"), dir.path().join("b.bin"));
    let (ck, log) = (dir.path().join("ck.bin"), dir.path().join("log.csv"));
    // A schedule per epoch: one-cycle and cosine are sized by --epochs when the run starts, so
    // a run of 1 epoch has a shorter cycle than one of 3 (the library tests resume within one).
    let split = [
        "--val-split",
        "100",
        "--keep-best",
        "--schedule",
        "step:1:0.5",
    ];
    let with = |extra: &[&'static str], more: &[&str]| -> Vec<String> {
        extra.iter().chain(more).map(|s| s.to_string()).collect()
    };
    let a = with(&split, &["--save", path(&straight)]);
    ok(&lenet5(&recipe_run(
        "3",
        &a.iter().map(String::as_str).collect::<Vec<_>>(),
    )));
    let b = with(&split, &["--checkpoint", path(&ck), "--log", path(&log)]);
    ok(&lenet5(&recipe_run(
        "1",
        &b.iter().map(String::as_str).collect::<Vec<_>>(),
    )));
    let out = ok(&lenet5(&[
        "train",
        "--epochs",
        "3",
        "--limit",
        "600",
        "--test-limit",
        "200",
        "--quiet",
        "--resume",
        path(&ck),
        "--save",
        path(&resumed),
        "--log",
        path(&log),
    ]));
    assert!(
        out.contains("resuming from") && out.contains("epoch=3 "),
        "{out}"
    );
    assert!(
        std::fs::read(&straight).unwrap() == std::fs::read(&resumed).unwrap(),
        "the resumed run differs"
    );
    let rows = std::fs::read_to_string(&log).unwrap();
    let epochs: Vec<&str> = rows.lines().skip(1).map(|l| &l[..2]).collect();
    assert_eq!(epochs, ["1,", "2,", "3,"], "{rows}");
    // A flag that contradicts the checkpoint's recipe is a usage error.
    for bad in [
        ["--shift", "1"],
        ["--weight-decay", "0.5"],
        ["--schedule", "one-cycle"],
    ] {
        let mut args = vec![
            "train",
            "--epochs",
            "3",
            "--limit",
            "600",
            "--quiet",
            "--resume",
            path(&ck),
        ];
        args.extend_from_slice(&bad);
        let (code, err) = exit_code(&args);
        assert_eq!(code, Some(2), "{bad:?}: {err}");
        assert!(err.contains("contradicts the checkpoint"), "{err}");
    }
}

#[test]
fn bad_recipe_values_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let txt = dir.path().join("x.txt");
    let cases: Vec<Vec<&str>> = vec![
        vec!["--shift", "9"],
        vec!["--schedule", "sometimes"],
        vec!["--schedule", "step:0:0.5"],
        vec!["--schedule", "step:2:-1"],
        vec!["--weight-decay", "-1"],
        vec!["--weight-decay", "nan"],
        vec!["--keep-best"],
        vec!["--patience", "2"],
        vec!["--val-split", "100", "--patience", "0"],
        vec!["--val-split", "0"],
        vec!["--val-split", "600"],
        vec!["--confusion", path(&txt)],
        vec!["--errors", path(&txt)],
        vec!["--log", path(&txt)],
        vec!["--classes", "a,,b"],
    ];
    for case in cases {
        let mut args = vec!["train", "--epochs", "1", "--limit", "600", "--quiet"];
        args.extend_from_slice(&case);
        let (code, err) = exit_code(&args);
        assert_eq!(code, Some(2), "{case:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

/// Writes the first `n` test images of the bundled set as PNG files (and the first also as an
/// inverted PNG, a JPEG and a PGM), returning the paths.
fn cut_test_images(dir: &Path, n: usize) -> Vec<String> {
    let test = SplitFiles::find(&bundled_mnist_dir(), Split::Test)
        .unwrap()
        .load()
        .unwrap();
    let mut paths = Vec::new();
    for i in 0..n {
        let img = image::GrayImage::from_raw(28, 28, test.image(i).unwrap().to_vec()).unwrap();
        let p = dir.join(format!("test{i}.png"));
        img.save(&p).unwrap();
        paths.push(p.to_str().unwrap().to_string());
        if i == 0 {
            let mut inverted = img.clone();
            image::imageops::invert(&mut inverted);
            let big =
                image::imageops::resize(&inverted, 84, 84, image::imageops::FilterType::Triangle);
            for (name, picture) in [
                ("paper.png", &big),
                ("paper.jpg", &big),
                ("plain.pgm", &img),
            ] {
                let p = dir.join(name);
                picture.save(&p).unwrap();
                paths.push(p.to_str().unwrap().to_string());
            }
        }
    }
    paths
}

#[test]
fn predict_on_image_files_agrees_with_eval_and_names_bad_files() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.bin");
    ok(&lenet5(&recipe_run_on(
        "3000",
        "2",
        &["--schedule", "one-cycle", "--save", path(&model)],
    )));
    let eval = ok(&lenet5(&[
        "eval",
        "--model",
        path(&model),
        "--test-limit",
        "100",
    ]));
    let predicted: Vec<String> = eval
        .lines()
        .find_map(|l| l.strip_prefix("predicted:"))
        .unwrap()
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let files = cut_test_images(dir.path(), 10);
    let mut args = vec!["predict", "--model", path(&model)];
    args.extend(files.iter().map(String::as_str));
    let out = ok(&lenet5(&args));
    let class_of = |file: &str| -> String {
        let line = out
            .lines()
            .find(|l| l.starts_with(file))
            .unwrap_or_else(|| panic!("{file}: {out}"));
        assert!(line.contains("top3: "), "{line}");
        line.split("class=")
            .nth(1)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .to_string()
    };
    for (i, want) in predicted.iter().enumerate() {
        assert_eq!(
            &class_of(&files[if i == 0 { 0 } else { i + 3 }]),
            want,
            "image {i}: {out}"
        );
    }
    // Dark ink on light paper, larger, as JPEG or PGM: the same digit.
    for other in &files[1..4] {
        assert_eq!(class_of(other), predicted[0], "{other}: {out}");
    }
    // A file that is not an image: its error names it, the others still print, exit 1.
    let junk = dir.path().join("junk.png");
    std::fs::write(&junk, b"not an image").unwrap();
    let o = lenet5(&["predict", "--model", path(&model), path(&junk), &files[0]]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("junk.png"), "{}", stderr(&o));
    assert!(stdout(&o).contains(&files[0]), "{}", stdout(&o));
    // Without inversion the dark-on-light image is still classified (the output names it).
    let out = ok(&lenet5(&[
        "predict",
        "--model",
        path(&model),
        "--no-invert",
        &files[1],
    ]));
    assert!(
        out.starts_with(&files[1]) && out.contains("top3: "),
        "{out}"
    );
    // Names from --classes.
    let names = "a,b,c,d,e,f,g,h,i,j";
    let out = ok(&lenet5(&[
        "predict",
        "--model",
        path(&model),
        "--classes",
        names,
        &files[0],
    ]));
    assert!(out.contains("class=h "), "{out}"); // the first test image is a 7
}

#[test]
fn eval_reads_class_names_beside_the_data_and_draws_its_reports() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    for entry in std::fs::read_dir(bundled_mnist_dir()).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name().to_string_lossy().starts_with("t10k") {
            std::fs::copy(entry.path(), data.join(entry.file_name())).unwrap();
        }
    }
    let model = dir.path().join("m.bin");
    save_tiny_model(&model);
    let words = [
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
    ];
    std::fs::write(data.join("classes.txt"), words.join("\n") + "\n").unwrap();
    let conf = dir.path().join("c.svg");
    let errs = dir.path().join("e.png");
    let out = ok(&lenet5(&[
        "eval",
        "--model",
        path(&model),
        "--data",
        path(&data),
        "--test-limit",
        "300",
        "--confusion",
        path(&conf),
        "--errors",
        path(&errs),
    ]));
    assert!(out.lines().any(|l| l.starts_with("nine ")), "{out}");
    assert!(std::fs::read_to_string(&conf).unwrap().contains("nine"));
    assert_eq!(&std::fs::read(&errs).unwrap()[..4], b"\x89PNG");
    // Too few names is an error naming the count.
    std::fs::write(data.join("classes.txt"), "zero\none\n").unwrap();
    let o = lenet5(&[
        "eval",
        "--model",
        path(&model),
        "--data",
        path(&data),
        "--test-limit",
        "50",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("2 class names for a model of 10 classes"),
        "{}",
        stderr(&o)
    );
}
