//! Helpers that write small IDX files for the tests.
#![allow(dead_code, missing_docs)]

use std::io::Write;
use std::path::{Path, PathBuf};

pub fn idx_images(count: u32, rows: u32, cols: u32, pixels: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    for word in [0x0803, count, rows, cols] {
        v.extend_from_slice(&u32::to_be_bytes(word));
    }
    v.extend_from_slice(pixels);
    v
}

pub fn idx_labels(labels: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    for word in [0x0801, labels.len() as u32] {
        v.extend_from_slice(&u32::to_be_bytes(word));
    }
    v.extend_from_slice(labels);
    v
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// A valid small set: `n` training and `n / 2 + 1` test images of 4 x 3, labels i % 10.
pub fn small_set(dir: &Path, n: u32, gz: bool) {
    let m = n / 2 + 1;
    let files = [
        (
            "train-images-idx3-ubyte",
            idx_images(n, 4, 3, &(0..n * 12).map(|v| v as u8).collect::<Vec<_>>()),
        ),
        (
            "train-labels-idx1-ubyte",
            idx_labels(&(0..n).map(|v| (v % 10) as u8).collect::<Vec<_>>()),
        ),
        (
            "t10k-images-idx3-ubyte",
            idx_images(m, 4, 3, &vec![9; (m * 12) as usize]),
        ),
        ("t10k-labels-idx1-ubyte", idx_labels(&vec![1; m as usize])),
    ];
    for (name, bytes) in files {
        if gz {
            write(dir, &format!("{name}.gz"), &gzip(&bytes));
        } else {
            write(dir, name, &bytes);
        }
    }
}
