//! safetensors: PyTorch's names and types, files PyTorch wrote, and every way a file can fail to
//! fit.

use nn_layers::NamedState;
use std::borrow::Cow;
use std::path::PathBuf;

use core_tensor::random::seeded_rng;
use nn_interop::{InteropError, from_safetensors, load_safetensors, to_safetensors};
use nn_layers::{Layer, Mode, Sequential, Tensor, models};
use safetensors::tensor::{Dtype, SafeTensors};

fn pytorch_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata/pytorch-safetensors")
}

fn tensor(v: &serde_json::Value) -> Tensor {
    let shape: Vec<usize> = serde_json::from_value(v["shape"].clone()).unwrap();
    let data: Vec<f32> = serde_json::from_value(v["data"].clone()).unwrap();
    Tensor::from_shape_vec(shape, data).unwrap()
}

#[test]
fn a_file_saved_by_pytorch_loads_and_gives_its_logits() {
    let mut net = models::seed_bn_net(&mut seeded_rng(0)).unwrap();
    load_safetensors(&mut net, &pytorch_dir().join("seed_bn_net.safetensors")).unwrap();
    let golden: serde_json::Value =
        serde_json::from_slice(&std::fs::read(pytorch_dir().join("seed_bn_net.json")).unwrap())
            .unwrap();
    let logits = net.forward(&tensor(&golden["input"]), Mode::Eval).unwrap();
    let want = tensor(&golden["logits"]);
    let diff = (&logits - &want).fold(0.0_f32, |m, v| m.max(v.abs()));
    assert!(diff <= 1e-4, "max |ours - torch| = {diff}");
    assert_eq!(net.counters(), [("2.num_batches_tracked".to_string(), 3)]);
}

#[test]
fn names_types_and_shapes_are_pytorchs() {
    let net = models::seed_bn_net(&mut seeded_rng(0)).unwrap();
    let ours = to_safetensors(&net).unwrap();
    let ours = SafeTensors::deserialize(&ours).unwrap();
    let torch_bytes = std::fs::read(pytorch_dir().join("seed_bn_net.safetensors")).unwrap();
    let torch = SafeTensors::deserialize(&torch_bytes).unwrap();
    let mut names = ours.names();
    names.sort();
    let mut torch_names = torch.names();
    torch_names.sort();
    assert_eq!(names, torch_names);
    for name in names {
        let (a, b) = (ours.tensor(name).unwrap(), torch.tensor(name).unwrap());
        assert_eq!((a.dtype(), a.shape()), (b.dtype(), b.shape()), "{name}");
    }
    let count = ours.tensor("2.num_batches_tracked").unwrap();
    assert_eq!((count.dtype(), count.shape()), (Dtype::I64, &[][..]));
    // The same network gives the same bytes.
    assert_eq!(to_safetensors(&net).unwrap(), to_safetensors(&net).unwrap());
}

/// A tensor for `safetensors::serialize` in a test.
struct Raw(Dtype, Vec<usize>, Vec<u8>);

impl safetensors::View for &Raw {
    fn dtype(&self) -> Dtype {
        self.0
    }
    fn shape(&self) -> &[usize] {
        &self.1
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.2)
    }
    fn data_len(&self) -> usize {
        self.2.len()
    }
}

/// The network's own file, with `edit` applied to its tensors.
fn edited(net: &Sequential, edit: impl FnOnce(&mut Vec<(String, Raw)>)) -> Vec<u8> {
    let bytes = to_safetensors(net).unwrap();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let mut tensors: Vec<(String, Raw)> = file
        .tensors()
        .into_iter()
        .map(|(n, t)| (n, Raw(t.dtype(), t.shape().to_vec(), t.data().to_vec())))
        .collect();
    edit(&mut tensors);
    safetensors::serialize(tensors.iter().map(|(n, r)| (n.clone(), r)), None).unwrap()
}

fn set(tensors: &mut [(String, Raw)], name: &str, raw: Raw) {
    let slot = tensors.iter_mut().find(|(n, _)| n == name).unwrap();
    slot.1 = raw;
}

#[test]
fn tensors_that_do_not_fit_are_errors_naming_them_and_leave_the_network_alone() {
    let source = models::seed_bn_net(&mut seeded_rng(1)).unwrap();
    let mut net = models::seed_bn_net(&mut seeded_rng(2)).unwrap();
    let before = to_safetensors(&net).unwrap();
    let mut expect = |bytes: Vec<u8>, needle: &str| {
        let err = from_safetensors(&mut net, &bytes).unwrap_err();
        assert!(err.to_string().contains(needle), "{needle:?} not in: {err}");
        err
    };

    let err = expect(
        edited(&source, |t| t.retain(|(n, _)| n != "4.weight")),
        "4.weight",
    );
    assert!(matches!(err, InteropError::Missing { .. }));
    let err = expect(
        edited(&source, |t| {
            t.push(("9.weight".into(), Raw(Dtype::F32, vec![1], vec![0; 4])))
        }),
        "9.weight",
    );
    assert!(matches!(err, InteropError::Extra { .. }));
    let err = expect(
        edited(&source, |t| {
            set(t, "7.weight", Raw(Dtype::F32, vec![196, 10], vec![0; 7840]))
        }),
        "7.weight has shape [196, 10], the network needs [10, 196]",
    );
    assert!(matches!(err, InteropError::Shape { .. }));
    let err = expect(
        edited(&source, |t| {
            set(t, "0.bias", Raw(Dtype::F64, vec![4], vec![0; 32]))
        }),
        "0.bias is F64, the network needs F32",
    );
    assert!(matches!(err, InteropError::Dtype { .. }));
    let err = expect(
        edited(&source, |t| {
            set(
                t,
                "2.num_batches_tracked",
                Raw(Dtype::I64, vec![], (-1_i64).to_le_bytes().to_vec()),
            )
        }),
        "2.num_batches_tracked holds -1",
    );
    assert!(matches!(err, InteropError::BadCount { .. }));
    expect(
        b"this is not a safetensors file".to_vec(),
        "not a valid safetensors file",
    );
    // The file of another architecture names what is missing.
    let lenet5 = models::lenet5(&mut seeded_rng(0)).unwrap();
    expect(
        to_safetensors(&lenet5).unwrap(),
        "tensor 0.weight has shape [6, 1, 5, 5]",
    );

    // After all those failures, nothing of the network changed.
    assert_eq!(to_safetensors(&net).unwrap(), before);
    let err =
        load_safetensors(&mut net, &pytorch_dir().join("no-such-file.safetensors")).unwrap_err();
    assert!(
        err.to_string().contains("no-such-file.safetensors"),
        "{err}"
    );
}
