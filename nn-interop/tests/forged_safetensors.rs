//! safetensors files forged by hand: a header of any names, types, shapes and offsets, a body
//! of any length, NaN values. Each must load correctly or fail with a typed error, never panic,
//! leave the network as it was on error, and take memory in proportion to the network, not to
//! what the header claims.

use alloc_counter::{peak_bytes, serial};
use core_tensor::random::seeded_rng;
use nn_interop::{InteropError, from_safetensors, load_safetensors, to_safetensors};
use nn_layers::NamedState;
use nn_layers::{Sequential, models};
use proptest::prelude::*;

/// A safetensors file from a header (JSON text) and a body, as the format lays it out: the
/// header's length (u64, little-endian), the header, the body.
fn forge(header: &str, body: &[u8]) -> Vec<u8> {
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(body);
    bytes
}

#[global_allocator]
static ALLOCATOR: alloc_counter::Counting = alloc_counter::Counting;

fn net() -> Sequential {
    models::seed_bn_net(&mut seeded_rng(0)).unwrap()
}

fn values(net: &Sequential) -> Vec<f32> {
    net.params()
        .into_iter()
        .flat_map(|(_, p)| p.value.iter().copied().collect::<Vec<_>>())
        .collect()
}

const DTYPES: [&str; 5] = ["F32", "F64", "I64", "U8", "BF16"];
const SIZES: [usize; 6] = [0, 1, 3, 1 << 31, 1 << 62, usize::MAX];

/// One tensor entry of a forged header: name, dtype, shape, offsets.
fn entry() -> impl Strategy<Value = (String, &'static str, Vec<usize>, [usize; 2])> {
    let names = prop::sample::select(vec![
        "0.weight",
        "0.bias",
        "2.weight",
        "2.running_var",
        "2.num_batches_tracked",
        "9.weight",
        "extra",
    ]);
    let size = prop_oneof![prop::sample::select(SIZES.to_vec()), 0_usize..40];
    (
        names.prop_map(str::to_string),
        prop::sample::select(DTYPES.to_vec()),
        prop::collection::vec(size.clone(), 0..5),
        [size.clone(), size],
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn forged_headers_load_or_fail_cleanly(
        entries in prop::collection::vec(entry(), 0..8),
        body_len in 0_usize..4096,
    ) {
        let header = format!(
            "{{{}}}",
            entries
                .iter()
                .map(|(name, dtype, shape, [a, b])| format!(
                    r#""{name}":{{"dtype":"{dtype}","shape":{shape:?},"data_offsets":[{a},{b}]}}"#
                ))
                .collect::<Vec<_>>()
                .join(",")
        );
        let _serial = serial();
        let bytes = forge(&header, &vec![0x3f; body_len]);
        let mut target = net();
        let before = values(&target);
        let (result, peak) = peak_bytes(|| std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            from_safetensors(&mut target, &bytes)
        })));
        let result = result.map_err(|_| TestCaseError::fail("from_safetensors panicked"))?;
        // The header's index and at most the network's own values, whatever the shapes claim.
        prop_assert!(peak <= 16 * bytes.len() + (1 << 20), "{} bytes took {peak}", bytes.len());
        // No forged header names every tensor of the network, so none loads; the network is
        // untouched.
        prop_assert!(result.is_err());
        prop_assert_eq!(values(&target), before);
    }

    #[test]
    fn a_valid_file_with_damaged_values_loads_or_names_the_tensor(
        at in 0_usize..20_000,
        value in prop::sample::select(vec![f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 1.5]),
    ) {
        let _serial = serial();
        let source = net();
        let mut bytes = to_safetensors(&source).unwrap();
        // The body is every tensor's bytes back to back after the header; put `value` at a
        // float-aligned place in it.
        let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        let body = 8 + header_len;
        let slot = body + 4 * (at % ((bytes.len() - body) / 4));
        bytes[slot..slot + 4].copy_from_slice(&value.to_le_bytes());
        let mut target = net();
        match from_safetensors(&mut target, &bytes) {
            Ok(()) => prop_assert!(values(&target).iter().all(|v| v.is_finite())),
            Err(e) => prop_assert!(
                matches!(e, InteropError::NonFinite { .. } | InteropError::BadCount { .. }),
                "{e:?}"
            ),
        }
    }
}

#[test]
fn a_nan_weight_is_an_error_naming_the_tensor() {
    let _serial = serial();
    let mut source = net();
    source.params_mut()[0].1.value[[0, 0, 0, 0]] = f32::NAN;
    let bytes = to_safetensors(&source).unwrap();
    let err = from_safetensors(&mut net(), &bytes)
        .unwrap_err()
        .to_string();
    assert!(err.contains("0.weight") && err.contains("NaN"), "{err}");
}

#[test]
fn files_that_are_not_regular_or_too_large_are_refused_before_reading() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let huge = dir.path().join("huge.safetensors");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(4 << 30)
        .unwrap();
    let (result, peak) = peak_bytes(|| load_safetensors(&mut net(), &huge));
    let err = result.unwrap_err().to_string();
    assert!(err.contains("limit"), "{err}");
    assert!(peak < 1 << 20, "took {peak} bytes");
    let small = dir.path().join("small.safetensors");
    std::fs::write(&small, to_safetensors(&net()).unwrap()).unwrap();
    let err = nn_interop::load_safetensors_with_limit(&mut net(), &small, 64)
        .unwrap_err()
        .to_string();
    assert!(err.contains("64-byte limit"), "{err}");
    for path in [std::path::Path::new("/dev/zero"), dir.path()] {
        if path.exists() {
            let err = load_safetensors(&mut net(), path).unwrap_err().to_string();
            assert!(err.contains("not a regular file"), "{err}");
        }
    }
    load_safetensors(&mut net(), &small).unwrap();
}
