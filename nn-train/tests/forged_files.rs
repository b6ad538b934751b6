//! Model files and checkpoints forged with valid headers and recomputed checksums (what anyone
//! can write, the checksum being public): huge and zero sizes, missing, extra, swapped and
//! reshaped tensors, NaN values, deep nesting. Every one must load correctly or fail with a typed
//! error, never panic or abort, and the memory a load takes must stay within a small multiple of
//! the file's size.
//!
//! The file layout is rebuilt here from its documentation (`nn_train::files`); the first test
//! checks that the rebuild writes exactly the bytes `Model::save` writes.
//!
//! Memory is measured by a counting global allocator (`alloc-counter`), so the tests of this
//! binary take one lock and run one at a time.

use nn_layers::NamedState;
use std::path::Path;

use alloc_counter::{peak_bytes, serial};
use nn_layers::{BatchNormConfig, Conv2DConfig, LayerSpec, LinearConfig, NetworkSpec, PoolConfig};
use nn_optim::OptimizerState;
use nn_train::{History, Model, OptimizerKind, OptimizerSpec, TrainError, load_network};
use proptest::prelude::*;
use serde::Serialize;

#[global_allocator]
static ALLOCATOR: alloc_counter::Counting = alloc_counter::Counting;

// ---------------------------------------------------------------- the format, rebuilt

#[derive(Serialize, Clone, Debug)]
struct StoredTensor {
    name: String,
    shape: Vec<usize>,
    data: Vec<f32>,
}

#[derive(Serialize, Clone, Debug)]
struct NetworkFile {
    spec: NetworkSpec,
    tensors: Vec<StoredTensor>,
}

/// Bytes written as they are: bincode writes a tuple's `u8`s one byte each, with no length.
#[derive(Clone, Debug)]
struct Raw(Vec<u8>);

impl Serialize for Raw {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeTuple;
        let mut t = s.serialize_tuple(self.0.len())?;
        for b in &self.0 {
            t.serialize_element(b)?;
        }
        t.end()
    }
}

#[derive(Serialize)]
struct CheckpointFile {
    network: NetworkFile,
    optimizer_spec: OptimizerSpec,
    optimizer_state: OptimizerState,
    /// `Option<Scheduler>`, as bytes so that it can be nested deeper than serde would recurse.
    scheduler: Raw,
    epochs_done: u64,
    init_seed: u64,
    rng_positions: Vec<(String, u128)>,
    history: History,
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// A whole file: magic, version, payload length, payload (the value and the counters),
/// checksum.
fn file_bytes<T: Serialize>(magic: &[u8; 8], value: &T, counters: &[(String, u64)]) -> Vec<u8> {
    let config = bincode::config::standard();
    // A checkpoint (format 4) ends with its loss and training settings (weight decay, schedule
    // per batch, recipe, best epoch: all unset here); a model file (format 2) with the counters.
    let (version, payload) = if magic == b"NNRSCKPT" {
        let loss = nn_train::LossKind::CrossEntropy;
        let training = (None::<f32>, false, nn_train::Recipe::default(), None::<()>);
        (
            4_u32,
            bincode::serde::encode_to_vec((value, counters, loss, training), config),
        )
    } else {
        (
            2_u32,
            bincode::serde::encode_to_vec((value, counters), config),
        )
    };
    let payload = payload.unwrap();
    let mut bytes = magic.to_vec();
    bytes.extend_from_slice(&version.to_le_bytes());
    bytes.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&payload);
    bytes.extend_from_slice(&fnv1a(&payload).to_le_bytes());
    bytes
}

/// A small network with every kind of stored state: conv weight and bias, batch-norm
/// parameters and buffers, linear weight and bias.
fn small_spec() -> NetworkSpec {
    NetworkSpec {
        input: vec![1, 6, 6],
        layers: vec![
            LayerSpec::Conv2D(Conv2DConfig::new(1, 2, [3, 3])),
            LayerSpec::BatchNormalization(BatchNormConfig::new(2)),
            LayerSpec::Relu,
            LayerSpec::MaxPooling(PoolConfig::new([2, 2])),
            LayerSpec::Flatten,
            LayerSpec::Linear(LinearConfig::new(8, 3)),
        ],
    }
}

fn model() -> Model {
    let opt = OptimizerSpec {
        kind: OptimizerKind::Adam,
        lr: 1e-3,
    };
    Model::new(small_spec(), opt, 7).unwrap()
}

/// The network file of `model`, as the format lays it out.
fn network_file(model: &Model) -> NetworkFile {
    let net = model.net();
    let params = net.params().into_iter().map(|(n, p)| (n, p.value.clone()));
    let buffers = net.buffers().into_iter().map(|(n, b)| (n, b.clone()));
    NetworkFile {
        spec: model.spec().clone(),
        tensors: params
            .chain(buffers)
            .map(|(name, t)| StoredTensor {
                name,
                shape: t.shape().to_vec(),
                data: t.iter().copied().collect(),
            })
            .collect(),
    }
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

// ---------------------------------------------------------------- forgeries

/// One way to damage a valid network file.
#[derive(Debug, Clone)]
enum Forgery {
    /// A size of a layer's configuration set to `value`.
    LayerSize {
        layer: usize,
        field: usize,
        value: usize,
    },
    /// An input dimension set to `value`.
    InputSize { dim: usize, value: usize },
    /// Tensor `index` removed.
    Drop { index: usize },
    /// Tensors `a` and `b` swapped.
    Swap { a: usize, b: usize },
    /// Tensor `index` given `shape` (its data unchanged).
    Reshape { index: usize, shape: Vec<usize> },
    /// Tensor `index` with `len` values.
    Resize { index: usize, len: usize },
    /// Value `at` of tensor `index` set to a non-finite `value`.
    NonFinite { index: usize, at: usize, value: f32 },
    /// `count` empty tensors appended.
    Empty { count: usize },
    /// Tensor `index` duplicated.
    Duplicate { index: usize },
    /// `count` Relu layers appended (one byte each in the file, 80 in memory).
    Layers { count: usize },
}

const HUGE: [usize; 7] = [
    0,
    1 << 24,
    (1 << 24) + 1,
    1 << 31,
    1 << 33,
    1 << 62,
    usize::MAX,
];

fn forgery() -> impl Strategy<Value = Forgery> {
    let size = prop_oneof![prop::sample::select(HUGE.to_vec()), 0_usize..64];
    prop_oneof![
        (0..6_usize, 0..4_usize, size.clone()).prop_map(|(layer, field, value)| {
            Forgery::LayerSize {
                layer,
                field,
                value,
            }
        }),
        (0..3_usize, size.clone()).prop_map(|(dim, value)| Forgery::InputSize { dim, value }),
        (0..8_usize).prop_map(|index| Forgery::Drop { index }),
        (0..8_usize, 0..8_usize).prop_map(|(a, b)| Forgery::Swap { a, b }),
        (0..8_usize, prop::collection::vec(size.clone(), 0..5))
            .prop_map(|(index, shape)| Forgery::Reshape { index, shape }),
        (0..8_usize, 0..100_usize).prop_map(|(index, len)| Forgery::Resize { index, len }),
        (
            0..8_usize,
            0..20_usize,
            prop::sample::select(vec![f32::NAN, f32::INFINITY, f32::NEG_INFINITY])
        )
            .prop_map(|(index, at, value)| Forgery::NonFinite { index, at, value }),
        (0..200_000_usize).prop_map(|count| Forgery::Empty { count }),
        (0..8_usize).prop_map(|index| Forgery::Duplicate { index }),
        (0..300_000_usize).prop_map(|count| Forgery::Layers { count }),
    ]
}

fn set_size(layer: &mut LayerSpec, field: usize, value: usize) {
    match layer {
        LayerSpec::Conv2D(c) => match field {
            0 => c.in_channels = value,
            1 => c.out_channels = value,
            2 => c.kernel[0] = value,
            _ => c.padding[1] = value,
        },
        LayerSpec::Linear(c) => match field % 2 {
            0 => c.in_features = value,
            _ => c.out_features = value,
        },
        LayerSpec::BatchNormalization(c) => c.num_features = value,
        LayerSpec::MaxPooling(c) => c.kernel[field % 2] = value,
        _ => {}
    }
}

fn apply(file: &mut NetworkFile, forgery: &Forgery) {
    let n = file.tensors.len();
    let by_index = !matches!(
        forgery,
        Forgery::LayerSize { .. }
            | Forgery::InputSize { .. }
            | Forgery::Empty { .. }
            | Forgery::Layers { .. }
    );
    if n == 0 && by_index {
        // Every tensor dropped already: nothing left to pick.
        return;
    }
    match forgery.clone() {
        Forgery::LayerSize {
            layer,
            field,
            value,
        } => set_size(&mut file.spec.layers[layer], field, value),
        Forgery::InputSize { dim, value } => file.spec.input[dim] = value,
        Forgery::Drop { index } => {
            file.tensors.remove(index % n);
        }
        Forgery::Swap { a, b } => file.tensors.swap(a % n, b % n),
        Forgery::Reshape { index, shape } => file.tensors[index % n].shape = shape,
        Forgery::Resize { index, len } => file.tensors[index % n].data.resize(len, 0.5),
        Forgery::NonFinite { index, at, value } => {
            let t = &mut file.tensors[index % n];
            let len = t.data.len();
            // An emptied tensor (a dropped one replaced by an empty entry) has no value to set.
            if len > 0 {
                t.data[at % len] = value;
            }
        }
        Forgery::Empty { count } => file.tensors.extend((0..count).map(|_| StoredTensor {
            name: String::new(),
            shape: Vec::new(),
            data: Vec::new(),
        })),
        Forgery::Duplicate { index } => {
            let t = file.tensors[index % n].clone();
            file.tensors.push(t);
        }
        Forgery::Layers { count } => file
            .spec
            .layers
            .extend(std::iter::repeat_n(LayerSpec::Relu, count)),
    }
}

/// The most a load may hold allocated, for a file of `len` bytes: a small multiple of the file,
/// plus a fixed allowance for the lists whose length is capped (`nn_layers::bounded_serde`:
/// 65 536 empty tensors of 72 bytes take 4.7 MB, twice that while the list grows, from a
/// 0.2 MB file) and the small network built.
fn memory_bound(len: usize) -> usize {
    8 * len + (16 << 20)
}

/// Loads `path` as a model file; checks the outcome and the memory it took.
fn check_model_load(path: &Path) -> Result<(), TestCaseError> {
    let len = std::fs::metadata(path).unwrap().len() as usize;
    let (result, peak) = peak_bytes(|| std::panic::catch_unwind(|| load_network(path)));
    let result = result.map_err(|_| TestCaseError::fail("load_network panicked"))?;
    prop_assert!(
        peak <= memory_bound(len),
        "a {len}-byte file took {peak} bytes to load"
    );
    if let Err(e) = result {
        prop_assert!(
            matches!(e, TrainError::BadFile { .. } | TrainError::Mismatch { .. }),
            "{e:?}"
        );
    }
    Ok(())
}

#[test]
fn the_rebuilt_format_writes_the_bytes_save_writes() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let m = model();
    let saved = dir.path().join("saved.bin");
    m.save(&saved).unwrap();
    let rebuilt = file_bytes(b"NNRSMODL", &network_file(&m), &m.net().counters());
    assert_eq!(std::fs::read(&saved).unwrap(), rebuilt);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn forged_model_files_load_or_fail_cleanly_within_bounded_memory(
        forgeries in prop::collection::vec(forgery(), 1..4)
    ) {
        let _serial = serial();
        let m = model();
        let mut file = network_file(&m);
        for f in &forgeries {
            apply(&mut file, f);
        }
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "forged.bin", &file_bytes(b"NNRSMODL", &file, &m.net().counters()));
        check_model_load(&path)?;
        // A file that loads holds exactly what it says.
        if let Ok((spec, net)) = load_network(&path) {
            prop_assert_eq!(&spec, &file.spec);
            prop_assert!(net.params().iter().all(|(_, p)| p.value.iter().all(|v| v.is_finite())));
        }
    }
}

/// A sequence the property test once drew: a tensor dropped, an empty one added, then a value of
/// that empty tensor set to NaN (nothing to set: the forgery leaves it empty).
#[test]
fn a_forgery_of_an_emptied_tensor_fails_cleanly() {
    let _serial = serial();
    let m = model();
    let mut file = network_file(&m);
    for f in [
        Forgery::Drop { index: 0 },
        Forgery::Empty { count: 1 },
        Forgery::NonFinite {
            index: 7,
            at: 0,
            value: f32::NAN,
        },
    ] {
        apply(&mut file, &f);
    }
    let dir = tempfile::tempdir().unwrap();
    let bytes = file_bytes(b"NNRSMODL", &file, &m.net().counters());
    let path = write(dir.path(), "forged.bin", &bytes);
    check_model_load(&path).unwrap();
    assert!(load_network(&path).is_err());
}

#[test]
fn the_issues_forgeries_fail_cleanly() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let m = model();
    let counters = m.net().counters();
    type Forge = Box<dyn Fn(&mut NetworkFile)>;
    let cases: Vec<(&str, Forge, &str)> = vec![
        (
            "conv with 2^33 output channels",
            Box::new(|f| set_size(&mut f.spec.layers[0], 1, 1 << 33)),
            "out_channels",
        ),
        (
            "linear with 2^31 outputs",
            Box::new(|f| set_size(&mut f.spec.layers[5], 1, 1 << 31)),
            "out_features",
        ),
        (
            "conv with 2^22 output channels and its tensors",
            Box::new(|f| {
                set_size(&mut f.spec.layers[0], 1, 1 << 22);
                f.tensors[0].shape = vec![1 << 22, 1, 3, 3];
            }),
            "holds 18 values",
        ),
        (
            "a shape too large for ndarray",
            Box::new(|f| f.tensors[0].shape = vec![usize::MAX, 2]),
            "shape",
        ),
        (
            "a NaN weight",
            Box::new(|f| f.tensors[0].data[3] = f32::NAN),
            "tensor 0.weight holds NaN",
        ),
        (
            "an infinite running variance",
            Box::new(|f| {
                let last = f.tensors.len() - 1;
                f.tensors[last].data[0] = f32::INFINITY;
            }),
            "running_var holds inf",
        ),
        (
            "as many values in another shape",
            Box::new(|f| f.tensors[0].shape = vec![2, 1, 9]),
            "tensor 0.weight has shape [2, 1, 9], the architecture needs [2, 1, 3, 3]",
        ),
        (
            "fewer values than the shape",
            Box::new(|f| {
                f.tensors[0].data.pop();
            }),
            "holds 17 values",
        ),
    ];
    for (what, forge, expected) in cases {
        let mut file = network_file(&m);
        forge(&mut file);
        let path = write(
            dir.path(),
            "case.bin",
            &file_bytes(b"NNRSMODL", &file, &counters),
        );
        let (result, peak) = peak_bytes(|| load_network(&path));
        let err = result.unwrap_err().to_string();
        assert!(err.contains(expected), "{what}: {err}");
        assert!(peak < 4 << 20, "{what}: took {peak} bytes");
    }
}

/// `Some(Scheduler { Warmup^depth(Constant), base_lr, t })` as bincode bytes.
fn nested_scheduler(depth: usize) -> Raw {
    let mut bytes = vec![1];
    for _ in 0..depth {
        bytes.extend_from_slice(&[4, 1]);
        bytes.extend_from_slice(&0.5_f32.to_le_bytes());
    }
    bytes.push(0);
    bytes.extend_from_slice(&0.001_f32.to_le_bytes());
    bytes.push(0);
    Raw(bytes)
}

/// The checkpoint of `m` as its file lays it out, changed by `edit`, with `m`'s counters.
fn checkpoint_bytes(m: &Model, edit: impl FnOnce(&mut CheckpointFile)) -> Vec<u8> {
    let mut file = checkpoint_file(m);
    edit(&mut file);
    file_bytes(b"NNRSCKPT", &file, &m.net().counters())
}

fn checkpoint_file(m: &Model) -> CheckpointFile {
    CheckpointFile {
        network: network_file(m),
        optimizer_spec: m.optimizer_spec(),
        optimizer_state: m.optimizer().state(),
        scheduler: Raw(vec![0]),
        epochs_done: m.epochs_done() as u64,
        init_seed: m.init_seed(),
        rng_positions: m.net().rng_positions(),
        history: m.history().clone(),
    }
}

/// Two images of 6 x 6.
fn tiny_data() -> nn_data::Dataset {
    nn_data::Dataset::new(vec![1; 72], vec![0, 1], 6, 6).unwrap()
}

fn fit_config(epochs: usize) -> nn_train::FitConfig {
    nn_train::FitConfig {
        epochs,
        batch_size: 2,
        shuffle_seed: 0,
        progress: nn_train::Progress::Quiet,
    }
}

/// [`model`] trained for `epochs` epochs on [`tiny_data`].
fn trained(epochs: usize) -> Model {
    let mut m = model();
    m.fit(&tiny_data(), None, &fit_config(epochs), |_, _| Ok(()))
        .unwrap();
    m
}

#[test]
fn counters_at_their_maximum_do_not_overflow_when_training_resumes() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let m = trained(1);
    let scheduler = nn_optim::Scheduler {
        schedule: nn_optim::Schedule::Step {
            step_size: 1,
            gamma: 0.5,
        },
        base_lr: 1e-3,
        t: u64::MAX,
    };
    let mut file = checkpoint_file(&m);
    for p in &mut file.optimizer_state.params {
        p.step = u64::MAX;
    }
    file.scheduler =
        Raw(bincode::serde::encode_to_vec(Some(&scheduler), bincode::config::standard()).unwrap());
    // Batch norm's num_batches_tracked too.
    let counters: Vec<(String, u64)> = m
        .net()
        .counters()
        .into_iter()
        .map(|(name, _)| (name, u64::MAX))
        .collect();
    assert!(!counters.is_empty());
    let path = write(
        dir.path(),
        "max.bin",
        &file_bytes(b"NNRSCKPT", &file, &counters),
    );
    let mut resumed = Model::load_checkpoint(&path).unwrap();
    // Another epoch: steps and the schedule's t stay at their maximum instead of wrapping
    // (or panicking in a debug build); the rate decayed to 0 leaves the weights as they were.
    resumed
        .fit(&tiny_data(), None, &fit_config(2), |_, _| Ok(()))
        .unwrap();
    let state = resumed.optimizer().state();
    assert!(state.params.iter().all(|p| p.step == u64::MAX));
    assert!(resumed.net().counters().iter().all(|(_, c)| *c == u64::MAX));
}

#[test]
fn forged_checkpoints_fail_cleanly() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let m = model();
    // The rebuilt checkpoint is what save_checkpoint writes.
    let saved = dir.path().join("saved.bin");
    m.save_checkpoint(&saved).unwrap();
    assert_eq!(std::fs::read(&saved).unwrap(), checkpoint_bytes(&m, |_| {}));
    let within = write(
        dir.path(),
        "within.bin",
        &checkpoint_bytes(&m, |f| f.scheduler = nested_scheduler(3)),
    );
    Model::load_checkpoint(&within).unwrap();

    let state_with_nan = {
        // One Adam step makes the optimizer's state; then poison a value of it.
        let mut state = trained(1).optimizer().state();
        state.params[0].buffers[0].1[0] = f32::NAN;
        state
    };
    type Edit = Box<dyn Fn(&mut CheckpointFile)>;
    let cases: Vec<(&str, Edit, &str)> = vec![
        (
            "a schedule nested 20 000 deep",
            Box::new(|f| f.scheduler = nested_scheduler(20_000)),
            "nest more than",
        ),
        (
            "a NaN in the optimizer's state",
            Box::new(move |f| f.optimizer_state = state_with_nan.clone()),
            "holds a NaN or infinite value",
        ),
        (
            "a conv of 2^33 channels",
            Box::new(|f| set_size(&mut f.network.spec.layers[0], 1, 1 << 33)),
            "out_channels",
        ),
        (
            "a NaN weight",
            Box::new(|f| f.network.tensors[1].data[0] = f32::NAN),
            "tensor 0.bias holds NaN",
        ),
    ];
    for (what, edit, expected) in cases {
        let path = write(dir.path(), "case.bin", &checkpoint_bytes(&m, edit));
        let len = std::fs::metadata(&path).unwrap().len() as usize;
        let (result, peak) = peak_bytes(|| Model::load_checkpoint(&path));
        let err = result.unwrap_err().to_string();
        assert!(err.contains(expected), "{what}: {err}");
        assert!(peak <= memory_bound(len), "{what}: took {peak} bytes");
    }
}

#[test]
fn files_that_are_not_regular_or_too_large_are_refused_before_reading() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    // A 4 GiB file (sparse: it takes no disk) with a valid magic number.
    let huge = dir.path().join("huge.bin");
    {
        let f = std::fs::File::create(&huge).unwrap();
        std::io::Write::write_all(&mut &f, b"NNRSMODL").unwrap();
        f.set_len(4 << 30).unwrap();
    }
    let (result, peak) = peak_bytes(|| load_network(&huge));
    let err = result.unwrap_err().to_string();
    assert!(err.contains("limit"), "{err}");
    assert!(peak < 1 << 20, "took {peak} bytes");
    // A limit of one's own.
    let small = dir.path().join("small.bin");
    model().save(&small).unwrap();
    let err = nn_train::load_network_with_limit(&small, 100)
        .unwrap_err()
        .to_string();
    assert!(err.contains("100-byte limit"), "{err}");
    // A device and a folder.
    for path in [Path::new("/dev/zero"), dir.path()] {
        if path.exists() {
            let err = load_network(path).unwrap_err().to_string();
            assert!(err.contains("not a regular file"), "{err}");
            let err = Model::load_checkpoint(path).unwrap_err().to_string();
            assert!(err.contains("not a regular file"), "{err}");
        }
    }
    // A FIFO with no writer would block an open forever.
    let fifo = dir.path().join("fifo");
    if std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success())
    {
        let err = load_network(&fifo).unwrap_err().to_string();
        assert!(err.contains("not a regular file"), "{err}");
    }
    // A header whose length disagrees with the file's size is caught before the body is read.
    let mut bytes = std::fs::read(&small).unwrap();
    bytes[12..20].copy_from_slice(&(1_u64 << 40).to_le_bytes());
    let lying = write(dir.path(), "lying.bin", &bytes);
    let (result, peak) = peak_bytes(|| load_network(&lying));
    assert!(result.unwrap_err().to_string().contains("truncated"));
    assert!(peak < 1 << 20, "took {peak} bytes");
}

/// Checkpoints written before the loss was stored (format 2) load, with the cross-entropy loss
/// they were trained with.
#[test]
fn a_format_2_checkpoint_loads_with_the_cross_entropy_loss() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let m = model();
    let payload = bincode::serde::encode_to_vec(
        (checkpoint_file(&m), m.net().counters()),
        bincode::config::standard(),
    )
    .unwrap();
    let mut bytes = b"NNRSCKPT".to_vec();
    bytes.extend_from_slice(&2_u32.to_le_bytes());
    bytes.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&payload);
    bytes.extend_from_slice(&fnv1a(&payload).to_le_bytes());
    let path = write(dir.path(), "v2.bin", &bytes);
    let loaded = Model::load_checkpoint(&path).unwrap();
    assert_eq!(loaded.loss(), nn_train::LossKind::CrossEntropy);
    assert_eq!(loaded.epochs_done(), m.epochs_done());
}
