//! The bundled MNIST: its checksums, its contents, agreement with the `mnist` crate, memory.

use std::io::Read;
use std::path::Path;

use nn_data::{Mnist, bundled_mnist_dir};
use sha2::{Digest, Sha256};

fn raw(name: &str) -> Vec<u8> {
    let file = std::fs::File::open(bundled_mnist_dir().join(name)).unwrap();
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(file)
        .read_to_end(&mut out)
        .unwrap();
    out
}

#[test]
fn sha256_sums_match_the_recorded_ones() {
    let dir = bundled_mnist_dir();
    let sums = std::fs::read_to_string(dir.join("SHA256SUMS")).unwrap();
    let mut checked = 0;
    for line in sums.lines().filter(|l| !l.trim().is_empty()) {
        let (expected, name) = line.split_once("  ").unwrap();
        let bytes = std::fs::read(dir.join(name.trim())).unwrap();
        let got = format!("{:x}", Sha256::digest(&bytes));
        assert_eq!(got, expected, "{name}: SHA-256 differs from SHA256SUMS");
        checked += 1;
    }
    assert_eq!(checked, 4);
}

#[test]
fn bundled_mnist_loads_with_the_known_contents() {
    let mnist = Mnist::load(&bundled_mnist_dir()).unwrap();
    assert_eq!((mnist.train.len(), mnist.test.len()), (60_000, 10_000));
    assert_eq!(mnist.train.image_size(), [28, 28]);
    assert_eq!(&mnist.train.labels()[..10], &[5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
    assert_eq!(&mnist.test.labels()[..10], &[7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);

    // Pixel sums of a few images against the raw bytes after the 16-byte header.
    let train_raw = raw("train-images-idx3-ubyte.gz");
    let test_raw = raw("t10k-images-idx3-ubyte.gz");
    for (set, raw, i) in [
        (&mnist.train, &train_raw, 0),
        (&mnist.train, &train_raw, 59_999),
        (&mnist.test, &test_raw, 1234),
    ] {
        let ours: u64 = set.image(i).unwrap().iter().map(|&p| u64::from(p)).sum();
        let theirs: u64 = raw[16 + i * 784..16 + (i + 1) * 784]
            .iter()
            .map(|&p| u64::from(p))
            .sum();
        assert_eq!(ours, theirs, "image {i}");
        assert!(ours > 0);
    }

    // Memory: the whole set is kept as bytes.
    let bytes = mnist.train.heap_bytes() + mnist.test.heap_bytes();
    assert!(bytes < 60_000_000, "loaded MNIST holds {bytes} bytes");
}

#[test]
fn the_mnist_crate_reads_the_same_bytes() {
    // The `mnist` crate reads only uncompressed files: decompress into a temporary folder.
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ] {
        std::fs::write(dir.path().join(name), raw(&format!("{name}.gz"))).unwrap();
    }
    let base = format!("{}/", dir.path().display());
    let reference = mnist::MnistBuilder::new()
        .base_path(&base)
        .training_set_length(60_000)
        .validation_set_length(0)
        .test_set_length(10_000)
        .finalize();
    let ours = Mnist::load(Path::new(dir.path())).unwrap();
    assert_eq!(ours.train.labels(), &reference.trn_lbl[..]);
    assert_eq!(ours.test.labels(), &reference.tst_lbl[..]);
    let train_pixels: Vec<u8> = (0..60_000)
        .flat_map(|i| ours.train.image(i).unwrap().to_vec())
        .collect();
    assert_eq!(train_pixels, reference.trn_img);
    let test_pixels: Vec<u8> = (0..10_000)
        .flat_map(|i| ours.test.image(i).unwrap().to_vec())
        .collect();
    assert_eq!(test_pixels, reference.tst_img);
}
