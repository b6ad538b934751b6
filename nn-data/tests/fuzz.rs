//! Random bytes into the IDX parser and the gzip reader: errors are fine, panics are not, and
//! reading a file takes memory in proportion to what it holds (decompressed), never to what its
//! header claims. (Runs a few seconds in CI: 2 000 cases per property.)

mod common;

use alloc_counter::{peak_bytes, serial};

#[global_allocator]
static ALLOCATOR: alloc_counter::Counting = alloc_counter::Counting;

/// Reading (and decompressing) and parsing may hold the contents about three times over while
/// the buffer grows and is trimmed, plus the reader's fixed buffers.
fn memory_bound(contents: usize) -> usize {
    3 * contents + (256 << 10)
}

use std::path::Path;

use nn_data::idx::{parse_images, parse_labels, read_maybe_gzip};
use proptest::prelude::*;

fn header_like() -> impl Strategy<Value = Vec<u8>> {
    // Mostly well-formed headers with random sizes and payloads, so the length checks get exercised.
    (
        any::<bool>(),
        any::<u32>(),
        0u32..64,
        0u32..64,
        prop::collection::vec(any::<u8>(), 0..300),
    )
        .prop_map(|(images, count, rows, cols, payload)| {
            let mut v = Vec::new();
            let words: Vec<u32> = if images {
                vec![0x0803, count % 16, rows, cols]
            } else {
                vec![0x0801, count % 300]
            };
            for w in words {
                v.extend_from_slice(&w.to_be_bytes());
            }
            v.extend(payload);
            v
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn parsers_never_panic_on_random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _serial = serial();
        let _ = parse_images(Path::new("fuzz"), bytes.clone());
        let _ = parse_labels(Path::new("fuzz"), bytes);
    }

    #[test]
    fn parsers_never_panic_on_header_like_bytes(bytes in header_like()) {
        let _serial = serial();
        let dir = tempfile::tempdir().unwrap();
        let path = common::write(dir.path(), "f", &bytes);
        let (_, peak) = peak_bytes(|| read_maybe_gzip(&path).map(|b| parse_images(&path, b)));
        prop_assert!(peak <= memory_bound(bytes.len()), "{} bytes took {peak}", bytes.len());
        if let Ok(img) = parse_images(Path::new("fuzz"), bytes.clone()) {
            prop_assert_eq!(img.pixels.len(), img.count * img.rows * img.cols);
        }
        if let Ok(labels) = parse_labels(Path::new("fuzz"), bytes) {
            prop_assert!(labels.iter().all(|&l| l < 10));
        }
    }

    #[test]
    fn gzip_reader_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200), flip in any::<usize>()) {
        let _serial = serial();
        let dir = tempfile::tempdir().unwrap();
        let mut gz = common::gzip(&bytes);
        let at = flip % gz.len();
        gz[at] ^= 0xff;
        let path = common::write(dir.path(), "f.gz", &gz);
        if let Ok(data) = read_maybe_gzip(&path) {
            let _ = parse_images(&path, data);
        }
    }
}

#[test]
fn a_header_claiming_a_huge_set_takes_memory_for_what_is_there() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    // 2^31 images of 28 x 28 claimed, 10 000 bytes present; plain and gzipped.
    let bytes = common::idx_images(1 << 31, 28, 28, &[7; 10_000]);
    for (name, file) in [("plain", bytes.clone()), ("f.gz", common::gzip(&bytes))] {
        let path = common::write(dir.path(), name, &file);
        let (result, peak) =
            peak_bytes(|| read_maybe_gzip(&path).and_then(|b| parse_images(&path, b)));
        assert!(result.unwrap_err().to_string().contains("promises"));
        assert!(peak <= memory_bound(bytes.len()), "{name}: took {peak}");
    }
}
