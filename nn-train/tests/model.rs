//! Model files, checkpoints, fit behaviour and plots.

use nn_layers::NamedState;
use std::path::Path;

use nn_data::Dataset;
use nn_layers::{Layer, models};
use nn_train::*;

/// 64 images of 28 x 28 in two classes: bright left half (0) or bright right half (1), with noise.
fn toy() -> Dataset {
    let labels: Vec<u8> = (0..64).map(|i| (i % 2) as u8).collect();
    let mut pixels = Vec::new();
    for (i, &l) in labels.iter().enumerate() {
        pixels.extend((0..784).map(|p| {
            let bright = (p % 28 < 14) == (l == 0);
            let noise = ((i * 31 + p * 17) % 50) as u8;
            if bright { 200 + noise } else { noise }
        }));
    }
    Dataset::new(pixels, labels, 28, 28).unwrap()
}

/// A fresh LeNet5 with Adam 2e-3, initialised from seed 3.
fn fresh_lenet5() -> Model {
    let adam = OptimizerSpec {
        kind: OptimizerKind::Adam,
        lr: 2e-3,
    };
    Model::new(models::lenet5_spec(), adam, 3).unwrap()
}

/// The fit settings of these tests, for `epochs` epochs.
fn fit_config(epochs: usize) -> FitConfig {
    FitConfig {
        epochs,
        batch_size: 16,
        shuffle_seed: 3,
        progress: Progress::Quiet,
    }
}

fn trained(epochs: usize) -> Model {
    let mut m = fresh_lenet5();
    m.fit(&toy(), Some(&toy()), &fit_config(epochs), |_, _| Ok(()))
        .unwrap();
    m
}

fn predictions(net: &mut dyn Layer) -> Vec<usize> {
    let data = toy();
    let idx: Vec<usize> = (0..data.len()).collect();
    let x = data
        .batch(&idx, nn_data::Normalization::Unit)
        .unwrap()
        .images
        .into_dyn();
    argmax_rows(&net.forward(&x, nn_layers::Mode::Eval).unwrap())
}

#[test]
fn fit_learns_records_history_and_evaluates() {
    let mut m = trained(3);
    let h = m.history().clone();
    assert_eq!(h.epochs.len(), 3);
    assert_eq!(h.batches.len(), 3 * 4);
    assert!(h.epochs[2].val_accuracy.unwrap() > 0.9, "{:?}", h.epochs);
    let t = h.epochs[0].timings;
    assert!(
        t.forward_s > 0.0 && t.backward_s > 0.0 && t.total() <= h.epochs[0].train_s * 1.01 + 1e-3
    );
    let ev = m.evaluate(&toy(), 10).unwrap();
    assert_eq!(ev.accuracy, h.epochs[2].val_accuracy.unwrap());
    assert_eq!(Model::compute_accuracy(&[1, 2, 3], &[1, 0, 3]), 2.0 / 3.0);
}

#[test]
fn save_load_gives_identical_predictions() {
    let mut m = trained(2);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.bin");
    m.save(&path).unwrap();
    let (spec, mut net) = load_network(&path).unwrap();
    assert_eq!(&spec, m.spec());
    assert_eq!(predictions(&mut net), predictions(m.net_mut()));
    for ((n1, p1), (n2, p2)) in net.params().into_iter().zip(m.net().params()) {
        assert_eq!((n1, &p1.value), (n2, &p2.value));
    }
    // Saving again gives the same bytes, and no temporary file is left behind.
    let again = dir.path().join("again.bin");
    m.save(&again).unwrap();
    assert_eq!(
        std::fs::read(&path).unwrap(),
        std::fs::read(&again).unwrap()
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
}

#[test]
fn batch_norm_statistics_are_saved() {
    let mut m = Model::new(
        models::seed_bn_net_spec(),
        OptimizerSpec {
            kind: OptimizerKind::Adam,
            lr: 1e-3,
        },
        1,
    )
    .unwrap();
    let cfg = FitConfig {
        epochs: 1,
        batch_size: 16,
        shuffle_seed: 1,
        progress: Progress::Quiet,
    };
    m.fit(&toy(), None, &cfg, |_, _| Ok(())).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bn.bin");
    m.save(&path).unwrap();
    let (_, net) = load_network(&path).unwrap();
    let ours = m.net().buffers();
    let theirs = net.buffers();
    assert_eq!(ours.len(), 2);
    for ((a, x), (b, y)) in ours.into_iter().zip(theirs) {
        assert_eq!((a, x), (b, y));
    }
    // num_batches_tracked: 64 images in batches of 16, one batch-norm layer.
    assert_eq!(
        m.net().counters(),
        [("2.num_batches_tracked".to_string(), 4)]
    );
    assert_eq!(net.counters(), m.net().counters());
    let ck = dir.path().join("bn.ckpt");
    m.save_checkpoint(&ck).unwrap();
    assert_eq!(
        Model::load_checkpoint(&ck).unwrap().net().counters(),
        m.net().counters()
    );
}

/// FNV-1a 64, as the file format's checksum.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[test]
fn version_1_files_without_counters_still_load() {
    let mut m = trained(1);
    let dir = tempfile::tempdir().unwrap();
    let v2 = dir.path().join("v2.bin");
    m.save(&v2).unwrap();
    let bytes = std::fs::read(&v2).unwrap();
    assert_eq!(bytes[8..12], 2_u32.to_le_bytes());
    // Version 2 ends its payload with the counters; LeNet5 has none, encoded as one zero byte.
    // Version 1 is the same file without that byte.
    let payload = &bytes[20..bytes.len() - 8];
    assert_eq!(payload.last(), Some(&0));
    let payload = &payload[..payload.len() - 1];
    let mut v1 = bytes[..8].to_vec();
    v1.extend_from_slice(&1_u32.to_le_bytes());
    v1.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    v1.extend_from_slice(payload);
    v1.extend_from_slice(&fnv1a(payload).to_le_bytes());
    let old = dir.path().join("v1.bin");
    std::fs::write(&old, &v1).unwrap();
    let (_, mut net) = load_network(&old).unwrap();
    assert_eq!(predictions(&mut net), predictions(m.net_mut()));
    // The same bytes claiming version 2 lack the counters: an error, not a guess.
    v1[8..12].copy_from_slice(&2_u32.to_le_bytes());
    std::fs::write(&old, &v1).unwrap();
    expect_bad(&old, "cannot decode");
}

fn expect_bad(path: &Path, needle: &str) {
    let err = load_network(path).unwrap_err().to_string();
    assert!(err.contains(needle), "expected {needle:?} in: {err}");
}

#[test]
fn damaged_foreign_and_newer_files_are_clear_errors() {
    let m = trained(1);
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.bin");
    m.save(&good).unwrap();
    let bytes = std::fs::read(&good).unwrap();
    let write = |name: &str, b: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, b).unwrap();
        p
    };
    expect_bad(
        &write("truncated.bin", &bytes[..bytes.len() / 2]),
        "truncated",
    );
    expect_bad(&write("tiny.bin", &bytes[..10]), "truncated");
    let mut flipped = bytes.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x40;
    expect_bad(&write("flipped.bin", &flipped), "checksum");
    expect_bad(
        &write("foreign.bin", b"PK\x03\x04 this is a zip file, not a model"),
        "not a model file",
    );
    expect_bad(&write("empty.bin", b""), "not a model file");
    let mut newer = bytes.clone();
    newer[8] = 9;
    expect_bad(&write("newer.bin", &newer), "format version 9");
    let mut long = bytes.clone();
    long.push(0);
    expect_bad(&write("long.bin", &long), "trailing bytes");
    expect_bad(&dir.path().join("missing.bin"), "missing.bin");
    // A checkpoint is not a model file, and the other way round.
    let ck = dir.path().join("ck.bin");
    m.save_checkpoint(&ck).unwrap();
    expect_bad(&ck, "this is a checkpoint");
    let err = Model::load_checkpoint(&good).unwrap_err().to_string();
    assert!(err.contains("this is a model file"), "{err}");
}

#[test]
fn a_file_whose_tensors_do_not_fit_its_architecture_is_refused() {
    // Same tensors, another architecture: Linear(84, 10) -> Linear(84, 11) in the spec.
    let m = trained(1);
    let mut spec = m.spec().clone();
    let last = spec.layers.len() - 1;
    spec.layers[last] = nn_layers::LayerSpec::Linear(nn_layers::LinearConfig::new(84, 11));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mismatch.bin");
    // Write the other spec with this network's tensors through the public save function.
    save_network(&path, &spec, m.net()).unwrap();
    let err = load_network(&path).unwrap_err().to_string();
    assert!(
        err.contains("architecture mismatch")
            && err.contains("11.weight")
            && err.contains("[10, 84]"),
        "{err}"
    );
}

#[test]
fn resuming_from_a_checkpoint_equals_an_uninterrupted_run() {
    let straight = trained(3);
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("ck.bin");
    let mut first = fresh_lenet5();
    first
        .fit(&toy(), Some(&toy()), &fit_config(1), |m, _| {
            m.save_checkpoint(&ck)
        })
        .unwrap();
    let mut resumed = Model::load_checkpoint(&ck).unwrap();
    assert_eq!(resumed.epochs_done(), 1);
    resumed
        .fit(&toy(), Some(&toy()), &fit_config(3), |_, _| Ok(()))
        .unwrap();
    let (a, b) = (dir.path().join("a.bin"), dir.path().join("b.bin"));
    straight.save(&a).unwrap();
    resumed.save(&b).unwrap();
    assert_eq!(std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
    assert_eq!(
        resumed.history().batches.len(),
        straight.history().batches.len()
    );
}

#[test]
fn divergence_stops_with_epoch_and_batch() {
    let mut m = Model::new(
        models::lenet5_spec(),
        OptimizerSpec {
            kind: OptimizerKind::Sgd,
            lr: 1e8,
        },
        0,
    )
    .unwrap();
    let cfg = FitConfig {
        epochs: 5,
        batch_size: 16,
        shuffle_seed: 0,
        progress: Progress::Quiet,
    };
    let err = m.fit(&toy(), None, &cfg, |_, _| Ok(())).unwrap_err();
    assert!(matches!(err, TrainError::Diverged { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("epoch") && msg.contains("batch") && msg.contains("smaller learning rate"),
        "{msg}"
    );
}

#[cfg(feature = "plot")]
#[test]
fn plots_are_written_as_svg_and_png() {
    let m = trained(2);
    let dir = tempfile::tempdir().unwrap();
    let [svg, png] = plot_history(m.history(), &dir.path().join("curves.png")).unwrap();
    let svg_text = std::fs::read_to_string(&svg).unwrap();
    assert!(
        svg_text.contains("<svg")
            && svg_text.contains("Accuracy")
            && svg_text.contains("test, per epoch")
    );
    let png_bytes = std::fs::read(&png).unwrap();
    assert_eq!(&png_bytes[..8], b"\x89PNG\r\n\x1a\n");
    assert!(png_bytes.len() > 10_000);
    assert!(plot_history(&History::default(), &dir.path().join("empty")).is_err());
    // Written atomically: no temporary file is left beside the pictures.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn nn_atomic_write_replaces_and_leaves_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.bin");
    files::write_atomically(&path, b"first").unwrap();
    files::write_atomically(&path, b"second").unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"second");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    // A folder that does not exist: an error, and nothing written.
    assert!(files::write_atomically(&dir.path().join("no/such/f.bin"), b"x").is_err());
}

/// The folder of the stored test files, relative to this crate.
fn testdata(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata/models")
        .join(name)
}

/// A small network (convolutions with padding, stride and no bias, batch norm, pooling, dropout,
/// linear) saved by the build before convolutions had dilation and groups: it loads, and gives
/// the logits that build printed.
#[test]
fn a_file_saved_before_dilation_and_groups_loads_and_predicts_the_same() {
    let (spec, mut net) = load_network(&testdata("v2_small.nnrs")).unwrap();
    let conv = match &spec.layers[4] {
        nn_layers::LayerSpec::Conv2D(c) => *c,
        other => panic!("layer 4 is {other:?}"),
    };
    assert_eq!(
        (conv.stride, conv.dilation, conv.groups, conv.bias),
        ([2, 2], [1, 1], 1, false)
    );
    let x = nn_layers::Tensor::from_shape_vec(
        vec![2, 1, 8, 8],
        (0..128).map(|i| (i as f32 * 0.37).sin()).collect(),
    )
    .unwrap();
    let y = net.forward(&x, nn_layers::Mode::Eval).unwrap();
    let text = std::fs::read_to_string(testdata("v2_small.logits.json")).unwrap();
    let want: Vec<f32> = text
        .trim_matches(|c| c == '[' || c == ']' || c == '\n')
        .split(',')
        .map(|v| v.trim().parse().unwrap())
        .collect();
    assert_eq!(y.iter().copied().collect::<Vec<_>>(), want);
    // Saved again by this build, the file is the same bytes.
    let dir = tempfile::tempdir().unwrap();
    let again = dir.path().join("again.nnrs");
    save_network(&again, &spec, &net).unwrap();
    assert_eq!(
        std::fs::read(&again).unwrap(),
        std::fs::read(testdata("v2_small.nnrs")).unwrap()
    );
}

/// Dilated, grouped and depthwise convolutions survive a save and a load, to the bit.
#[test]
fn dilated_and_grouped_convolutions_save_and_load() {
    use nn_layers::{Conv2DConfig, LayerSpec, LinearConfig, NetworkSpec};
    let spec = NetworkSpec {
        input: vec![2, 12, 12],
        layers: vec![
            LayerSpec::Conv2D(
                Conv2DConfig::new(2, 8, [3, 3])
                    .with_padding([2, 2])
                    .with_dilation([2, 2]),
            ),
            LayerSpec::Conv2D(
                Conv2DConfig::new(8, 8, [3, 3])
                    .with_padding([1, 1])
                    .with_groups(8),
            ),
            LayerSpec::Conv2D(
                Conv2DConfig::new(8, 4, [1, 1])
                    .with_groups(2)
                    .with_bias(false),
            ),
            LayerSpec::Flatten,
            LayerSpec::Linear(LinearConfig::new(4 * 12 * 12, 3)),
        ],
    };
    let mut net = spec.build(&mut core_tensor::random::seeded_rng(1)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("grouped.nnrs");
    save_network(&path, &spec, &net).unwrap();
    let (loaded_spec, mut loaded) = load_network(&path).unwrap();
    assert_eq!(loaded_spec, spec);
    let x =
        nn_layers::Tensor::from_shape_fn(vec![3, 2, 12, 12], |i| (i[3] as f32 - i[2] as f32) * 0.1);
    let a = net.forward(&x, nn_layers::Mode::Eval).unwrap();
    let b = loaded.forward(&x, nn_layers::Mode::Eval).unwrap();
    assert_eq!(a, b);
}
