//! Model files and checkpoints: a checked header, a bincode payload, atomic writes.
//!
//! Layout of both kinds of file:
//!
//! | bytes | contents |
//! |---|---|
//! | 8 | magic: `NNRSMODL` (model) or `NNRSCKPT` (checkpoint) |
//! | 4 | format version, little-endian `u32` |
//! | 8 | payload length, little-endian `u64` |
//! | n | payload: bincode 2 (standard config) of the serde structure, then (version 2 on) of the |
//! |   | network's counters (batch norm's `num_batches_tracked`) as `(name, u64)` pairs; a |
//! |   | checkpoint then holds its loss (version 3 on) and its training settings: weight decay, |
//! |   | how the schedule steps, the [`crate::Recipe`] and the best epoch's values (version 4) |
//! | 8 | FNV-1a 64 checksum of the payload, little-endian |
//!
//! Reading is bounded by the file, whoever wrote it (the checksum catches accidents, not
//! forgeries):
//! - only a regular file of at most [`MAX_FILE_BYTES`] (or a chosen limit) is opened, so a
//!   device, a pipe or a huge file is refused before anything is read;
//! - each field is checked in order, and the header's length against the file's size before the
//!   body is read, so a foreign, truncated, corrupted or newer file is an error that says which;
//! - the payload is decoded with a limit proportional to its size, every list in it has a capped
//!   length (`nn_layers::bounded_serde`) and nothing nests without a limit;
//! - the stored architecture is checked (every size within `core_tensor::limits`) and each stored
//!   tensor compared with the shape the architecture gives it before the network is built;
//! - a NaN or infinite parameter, buffer or optimizer value is an error naming the tensor.
//!
//! Writing goes to a temporary file in the same folder, is flushed to disk, and is renamed over
//! the target ([`write_atomically`]): a crash never leaves a half-written file where a good one
//! was.

use nn_layers::NamedState;
use std::io::Read;
use std::path::Path;

use nn_layers::bounded_serde::{MAX_RANK, MAX_TENSORS, vec_at_most};
use nn_layers::{NetworkSpec, Sequential, Tensor};
use nn_optim::{OptimizerState, Scheduler};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{Result, TrainError};
use crate::history::History;
use crate::loss_kind::LossKind;
use crate::model::Model;
use crate::optimizer_spec::OptimizerSpec;
use crate::recipe::{BestEpoch, Recipe};
pub use nn_atomic_write::{
    WriteError, check_writable, resolve_output, write_atomically, write_atomically_with,
};

const MODEL_MAGIC: &[u8; 8] = b"NNRSMODL";
const CHECKPOINT_MAGIC: &[u8; 8] = b"NNRSCKPT";
/// The format version this build writes and the newest it reads.
///
/// Version 2 added the counters after the payload; version 1 files still load, with every counter
/// at 0. Version 3 added the loss after the counters of a checkpoint; model files are still
/// written as version 2 (they hold no loss), and checkpoints of versions 1 and 2 load with the
/// cross-entropy loss they were trained with. Version 4 added the training settings after the
/// loss; checkpoints of earlier versions load with none (the optimizer's default weight decay,
/// a schedule stepped per epoch, the default recipe).
pub const FORMAT_VERSION: u32 = 4;
/// The version of the model files this build writes.
const MODEL_VERSION: u32 = 2;
/// The largest model or checkpoint file [`load_network`] and [`Model::load_checkpoint`] read:
/// 1 GiB. [`load_network_with_limit`] and [`Model::load_checkpoint_with_limit`] take another.
pub const MAX_FILE_BYTES: u64 = 1 << 30;
const HEADER: usize = 8 + 4 + 8;

/// A named tensor as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct StoredTensor {
    name: String,
    #[serde(deserialize_with = "vec_at_most::<MAX_RANK, _, _>")]
    shape: Vec<usize>,
    data: Vec<f32>,
}

/// A network as stored: its architecture and every parameter and buffer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct NetworkFile {
    spec: NetworkSpec,
    #[serde(deserialize_with = "vec_at_most::<MAX_TENSORS, _, _>")]
    tensors: Vec<StoredTensor>,
}

/// A checkpoint as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct CheckpointFile {
    network: NetworkFile,
    optimizer_spec: OptimizerSpec,
    optimizer_state: OptimizerState,
    scheduler: Option<Scheduler>,
    epochs_done: u64,
    init_seed: u64,
    #[serde(deserialize_with = "vec_at_most::<MAX_TENSORS, _, _>")]
    rng_positions: Vec<(String, u128)>,
    history: History,
}

/// A checkpoint's training settings as stored (version 4 on).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
struct StoredTraining {
    weight_decay: Option<f32>,
    schedule_per_batch: bool,
    recipe: Recipe,
    best: Option<StoredBest>,
}

/// [`BestEpoch`] as stored: its tensors under the network's names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct StoredBest {
    epoch: u64,
    accuracy: f32,
    #[serde(deserialize_with = "vec_at_most::<MAX_TENSORS, _, _>")]
    tensors: Vec<StoredTensor>,
    #[serde(deserialize_with = "vec_at_most::<MAX_TENSORS, _, _>")]
    counters: Counters,
}

/// What a checkpoint holds after its counters: nothing (versions 1 and 2), the loss (3), the
/// loss and the training settings (4).
type Trailer = Option<(LossKind, StoredTraining)>;

/// The names of `net`'s parameters then buffers, the order [`BestEpoch`] keeps them in.
fn state_names(net: &Sequential) -> Vec<String> {
    let params = net.params().into_iter().map(|(n, _)| n);
    params
        .chain(net.buffers().into_iter().map(|(n, _)| n))
        .collect()
}

fn store_best(net: &Sequential, best: &BestEpoch) -> StoredBest {
    let tensors = state_names(net)
        .into_iter()
        .zip(&best.tensors)
        .map(|(name, t)| StoredTensor {
            name,
            shape: t.shape().to_vec(),
            data: t.iter().copied().collect(),
        })
        .collect();
    StoredBest {
        epoch: best.epoch as u64,
        accuracy: best.accuracy,
        tensors,
        counters: best.counters.clone(),
    }
}

/// The best epoch of a checkpoint, its tensors checked against the network's names and shapes.
fn load_best(path: &Path, net: &Sequential, stored: StoredBest) -> Result<BestEpoch> {
    let mismatch = |reason: String| TrainError::Mismatch {
        path: path.to_path_buf(),
        reason: format!("the best epoch's values: {reason}"),
    };
    let names = state_names(net);
    if names.len() != stored.tensors.len() {
        return Err(mismatch(format!(
            "{} tensors for a network of {}",
            stored.tensors.len(),
            names.len()
        )));
    }
    let shapes = net
        .params()
        .into_iter()
        .map(|(_, p)| p.value.shape().to_vec())
        .chain(net.buffers().into_iter().map(|(_, t)| t.shape().to_vec()));
    let mut tensors = Vec::with_capacity(names.len());
    for ((name, shape), t) in names.iter().zip(shapes).zip(stored.tensors) {
        if &t.name != name {
            return Err(mismatch(format!(
                "expected tensor {name}, found {}",
                t.name
            )));
        }
        check_stored(&t, &shape).map_err(mismatch)?;
        if t.data.iter().any(|v| !v.is_finite()) {
            return Err(mismatch(format!(
                "tensor {name} holds a NaN or infinite value"
            )));
        }
        tensors.push(Tensor::from_shape_vec(t.shape, t.data).map_err(|e| mismatch(e.to_string()))?);
    }
    if !stored.accuracy.is_finite() {
        return Err(mismatch(format!("accuracy {}", stored.accuracy)));
    }
    Ok(BestEpoch {
        epoch: usize::try_from(stored.epoch).unwrap_or(usize::MAX),
        accuracy: stored.accuracy,
        tensors,
        counters: stored.counters,
    })
}

fn network_file(spec: &NetworkSpec, net: &Sequential) -> NetworkFile {
    let params = net.params().into_iter().map(|(n, p)| (n, &p.value));
    let buffers = net.buffers();
    let tensors = params
        .chain(buffers)
        .map(|(name, t)| StoredTensor {
            name,
            shape: t.shape().to_vec(),
            data: t.iter().copied().collect(),
        })
        .collect();
    NetworkFile {
        spec: spec.clone(),
        tensors,
    }
}

/// Builds the network a file describes and fills in its tensors, which must match exactly.
///
/// Every stored tensor is compared with the shape the architecture gives it before the network is
/// built, so a forged architecture cannot make the build allocate more than the file holds.
fn restore_network(path: &Path, file: NetworkFile) -> Result<Sequential> {
    let mismatch = |reason: String| TrainError::Mismatch {
        path: path.to_path_buf(),
        reason,
    };
    let shapes = file
        .spec
        .state_shapes()
        .map_err(|e| mismatch(format!("the stored architecture is invalid: {e}")))?;
    if shapes.all().count() != file.tensors.len() {
        return Err(mismatch(format!(
            "the stored architecture has {} tensors, the file holds {}",
            shapes.all().count(),
            file.tensors.len()
        )));
    }
    for (t, shape) in file.tensors.iter().zip(shapes.all()) {
        check_stored(t, shape).map_err(mismatch)?;
    }
    if let Some((t, v)) = file
        .tensors
        .iter()
        .find_map(|t| t.data.iter().find(|v| !v.is_finite()).map(|v| (t, v)))
    {
        return Err(TrainError::BadFile {
            path: path.to_path_buf(),
            reason: format!(
                "tensor {} holds {v}: the model diverged before it was saved; train again \
                 with a smaller learning rate",
                t.name
            ),
        });
    }
    let mut net = file
        .spec
        .build(&mut core_tensor::random::seeded_rng(0))
        .map_err(|e| mismatch(format!("the stored architecture does not build: {e}")))?;
    let mut stored = file.tensors.into_iter();
    let mut count = 0;
    let mut fill = |name: &str, target: &mut Tensor| {
        let t = stored
            .next()
            .ok_or_else(|| format!("tensor {name} is missing"))?;
        count += 1;
        place(t, name, target)
    };
    for (name, p) in net.params_mut() {
        fill(&name, &mut p.value).map_err(mismatch)?;
    }
    for (name, b) in net.buffers_mut() {
        fill(&name, b).map_err(mismatch)?;
    }
    if let Some(extra) = stored.next() {
        return Err(mismatch(format!(
            "extra tensor {} after the {count} the architecture has",
            extra.name
        )));
    }
    Ok(net)
}

/// Checks a stored tensor against the shape the architecture gives it: the same shape, and as
/// many values as the shape has.
fn check_stored(stored: &StoredTensor, shape: &[usize]) -> std::result::Result<(), String> {
    let name = &stored.name;
    if stored.shape != shape {
        return Err(format!(
            "tensor {name} has shape {:?}, the architecture needs {shape:?}",
            stored.shape
        ));
    }
    if Some(stored.data.len()) != core_tensor::limits::element_count(shape) {
        return Err(format!(
            "tensor {name} of shape {shape:?} holds {} values",
            stored.data.len()
        ));
    }
    Ok(())
}

/// Moves a stored tensor's values into `target` (no copy) once its name and shape are checked.
fn place(stored: StoredTensor, name: &str, target: &mut Tensor) -> std::result::Result<(), String> {
    if stored.name != name {
        return Err(format!("expected tensor {name}, found {}", stored.name));
    }
    check_stored(&stored, target.shape())?;
    *target = Tensor::from_shape_vec(stored.shape, stored.data)
        .map_err(|e| format!("tensor {name}: {e}"))?;
    Ok(())
}

/// Sets the network's counters to the stored ones; a file without them (version 1) leaves them
/// at 0, a counter the network does not have is an error.
fn restore_counters(path: &Path, net: &mut Sequential, counters: Counters) -> Result<()> {
    for (name, value) in counters {
        net.set_counter(&name, value)
            .map_err(|e| TrainError::Mismatch {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?;
    }
    Ok(())
}

/// Saves a network (architecture, parameters, buffers) to `path`, atomically.
///
/// # Errors
/// The file cannot be written.
pub fn save_network(path: &Path, spec: &NetworkSpec, net: &Sequential) -> Result<()> {
    write_file(
        path,
        MODEL_MAGIC,
        &network_file(spec, net),
        &net.counters(),
        None,
    )
}

/// Loads a network saved by [`save_network`] (or [`Model::save`]).
///
/// # Errors
/// A missing, foreign, truncated, corrupted or newer file, or tensors that do not fit the stored
/// architecture.
pub fn load_network(path: &Path) -> Result<(NetworkSpec, Sequential)> {
    load_network_with_limit(path, MAX_FILE_BYTES)
}

/// [`load_network`] for files of up to `max_bytes` bytes.
///
/// # Errors
/// As [`load_network`]; a larger file is refused before it is read.
pub fn load_network_with_limit(path: &Path, max_bytes: u64) -> Result<(NetworkSpec, Sequential)> {
    let (file, counters, _): (NetworkFile, _, _) =
        read_file(path, MODEL_MAGIC, "model", max_bytes)?;
    let spec = file.spec.clone();
    let mut net = restore_network(path, file)?;
    restore_counters(path, &mut net, counters)?;
    Ok((spec, net))
}

impl Model {
    /// Saves the trained network (architecture, parameters, batch-norm statistics) to `path`,
    /// atomically. The file depends only on those values: the same training gives the same bytes.
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn save(&self, path: &Path) -> Result<()> {
        save_network(path, &self.spec, &self.net)
    }

    /// Saves everything needed to continue training exactly: the network, the optimizer and its
    /// state, the schedule, the epochs done, generator positions and the history.
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn save_checkpoint(&self, path: &Path) -> Result<()> {
        let file = CheckpointFile {
            network: network_file(&self.spec, &self.net),
            optimizer_spec: self.optimizer_spec,
            optimizer_state: self.optimizer.state(),
            scheduler: self.scheduler.clone(),
            epochs_done: self.epochs_done as u64,
            init_seed: self.init_seed,
            rng_positions: self.net.rng_positions(),
            history: self.history.clone(),
        };
        let training = StoredTraining {
            weight_decay: self.weight_decay,
            schedule_per_batch: self.schedule_per_batch,
            recipe: self.recipe,
            best: self.best.as_ref().map(|b| store_best(&self.net, b)),
        };
        write_file(
            path,
            CHECKPOINT_MAGIC,
            &file,
            &self.net.counters(),
            Some((self.loss, training)),
        )
    }

    /// Restores a model saved by [`Model::save_checkpoint`].
    ///
    /// # Errors
    /// A missing, foreign, truncated, corrupted or newer file, or contents that do not fit
    /// together.
    pub fn load_checkpoint(path: &Path) -> Result<Self> {
        Self::load_checkpoint_with_limit(path, MAX_FILE_BYTES)
    }

    /// [`Model::load_checkpoint`] for files of up to `max_bytes` bytes.
    ///
    /// # Errors
    /// As [`Model::load_checkpoint`]; a larger file is refused before it is read.
    pub fn load_checkpoint_with_limit(path: &Path, max_bytes: u64) -> Result<Self> {
        let (file, counters, trailer): (CheckpointFile, _, _) =
            read_file(path, CHECKPOINT_MAGIC, "checkpoint", max_bytes)?;
        let (loss, training) = trailer.unwrap_or_default();
        let spec = file.network.spec.clone();
        let mut net = restore_network(path, file.network)?;
        restore_counters(path, &mut net, counters)?;
        for (name, pos) in &file.rng_positions {
            net.set_rng_position(name, *pos)
                .map_err(|e| TrainError::Mismatch {
                    path: path.to_path_buf(),
                    reason: e.to_string(),
                })?;
        }
        let mismatch = |reason: String| TrainError::Mismatch {
            path: path.to_path_buf(),
            reason,
        };
        let best = match training.best {
            Some(b) => Some(load_best(path, &net, b)?),
            None => None,
        };
        let mut model = Model::from_parts(spec, net, file.optimizer_spec, file.init_seed)?;
        if let Some(wd) = training.weight_decay {
            model = model
                .with_weight_decay(wd)
                .map_err(|e| mismatch(e.to_string()))?;
        }
        model = model
            .with_recipe(training.recipe)
            .map_err(|e| mismatch(e.to_string()))?;
        model.best = best;
        model.schedule_per_batch = training.schedule_per_batch;
        model
            .optimizer
            .load_state(file.optimizer_state, &model.net)
            .map_err(|e| TrainError::Mismatch {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?;
        model.scheduler = file.scheduler;
        model.loss = loss;
        model.epochs_done = usize::try_from(file.epochs_done).unwrap_or(usize::MAX);
        model.history = file.history;
        Ok(model)
    }
}

/// FNV-1a, 64 bits: a small, dependency-free checksum that catches flipped and shuffled bytes.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// A network's counters as stored: `(path name, value)`.
type Counters = Vec<(String, u64)>;

/// [`Counters`] as read: bincode encodes a newtype as its content, so this reads what writing a
/// `Counters` wrote, with its length bounded.
#[derive(Deserialize)]
struct StoredCounters(#[serde(deserialize_with = "vec_at_most::<MAX_TENSORS, _, _>")] Counters);

/// Writes a file of `magic` holding `value` and `counters`, and the trailer of a checkpoint.
fn write_file<T: Serialize>(
    path: &Path,
    magic: &[u8; 8],
    value: &T,
    counters: &Counters,
    trailer: Trailer,
) -> Result<()> {
    let config = bincode::config::standard();
    let (version, payload) = match trailer {
        Some((loss, training)) => (
            FORMAT_VERSION,
            bincode::serde::encode_to_vec((value, counters, loss, training), config),
        ),
        None => (
            MODEL_VERSION,
            bincode::serde::encode_to_vec((value, counters), config),
        ),
    };
    let payload = payload.map_err(|e| TrainError::BadFile {
        path: path.to_path_buf(),
        reason: format!("cannot encode: {e}"),
    })?;
    let mut bytes = Vec::with_capacity(HEADER + payload.len() + 8);
    bytes.extend_from_slice(magic);
    bytes.extend_from_slice(&version.to_le_bytes());
    bytes.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&payload);
    bytes.extend_from_slice(&fnv1a(&payload).to_le_bytes());
    Ok(write_atomically(path, &bytes)?)
}

/// Reads and checks a file of `kind` ("model" or "checkpoint") in the order of its layout, so
/// that nothing is read or allocated beyond what the header, checked against the file's size,
/// promises.
fn read_file<T: DeserializeOwned>(
    path: &Path,
    magic: &[u8; 8],
    kind: &str,
    max_bytes: u64,
) -> Result<(T, Counters, Trailer)> {
    let bad = |reason: String| TrainError::BadFile {
        path: path.to_path_buf(),
        reason,
    };
    let io = |source| TrainError::Io {
        path: path.to_path_buf(),
        source,
    };
    // Before opening: a FIFO would block the open, a device would never end.
    let size = std::fs::metadata(path).map_err(io)?;
    if !size.is_file() {
        return Err(bad(format!(
            "not a regular file (a folder, device or pipe); give the path of a {kind} file"
        )));
    }
    let size = size.len();
    if size > max_bytes {
        return Err(bad(format!(
            "{size} bytes, more than the {max_bytes}-byte limit for a {kind} file (a library \
             user can raise it: load_network_with_limit, Model::load_checkpoint_with_limit)"
        )));
    }
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut header = [0_u8; HEADER];
    let got = read_up_to(&mut file, &mut header).map_err(io)?;
    check_magic(&header[..got], magic, kind).map_err(bad)?;
    if got < HEADER {
        return Err(bad(format!(
            "truncated: {size} bytes, shorter than the {HEADER}-byte header"
        )));
    }
    let version = u32::from_le_bytes([header[8], header[9], header[10], header[11]]);
    if version > FORMAT_VERSION || version == 0 {
        return Err(bad(format!(
            "format version {version}: this build reads versions 1 to {FORMAT_VERSION}; use a newer build"
        )));
    }
    let mut len8 = [0_u8; 8];
    len8.copy_from_slice(&header[12..20]);
    let len = u64::from_le_bytes(len8);
    let expected = len.checked_add(HEADER as u64 + 8);
    if expected != Some(size) {
        let what = match expected {
            Some(e) if size > e => "has trailing bytes",
            _ => "truncated",
        };
        return Err(bad(format!(
            "{what}: {size} bytes, the header promises a {len}-byte payload and {} in all",
            HEADER as u64 + 8 + len.min(u64::MAX - HEADER as u64 - 8)
        )));
    }
    // `len + 8 == size - HEADER <= max_bytes`: the body fits the limit the caller chose.
    let body_len =
        usize::try_from(len + 8).map_err(|_| bad("too large for this machine".into()))?;
    let mut body = Vec::new();
    body.try_reserve_exact(body_len)
        .map_err(|_| bad(format!("cannot allocate {body_len} bytes to read it")))?;
    file.take(len + 8).read_to_end(&mut body).map_err(io)?;
    if body.len() != body_len {
        return Err(bad("changed while being read: shorter than its size".into()));
    }
    let (payload, sum) = body.split_at(body_len - 8);
    let mut sum8 = [0_u8; 8];
    sum8.copy_from_slice(sum);
    if u64::from_le_bytes(sum8) != fnv1a(payload) {
        return Err(bad(
            "corrupted: the checksum does not match the contents".into()
        ));
    }
    let decoded = match version {
        1 => decode_bounded(payload).map(|(v, used)| ((v, Vec::new(), None), used)),
        2 => decode_bounded(payload).map(|((v, StoredCounters(c)), used)| ((v, c, None), used)),
        3 => decode_bounded(payload).map(|((v, StoredCounters(c), loss), used)| {
            ((v, c, Some((loss, StoredTraining::default()))), used)
        }),
        _ => decode_bounded(payload).map(|((v, StoredCounters(c), loss, training), used)| {
            ((v, c, Some((loss, training))), used)
        }),
    };
    let (value, used) = decoded.map_err(|e| bad(format!("cannot decode the {kind}: {e}")))?;
    if used != payload.len() {
        return Err(bad(format!(
            "cannot decode the {kind}: {} unused bytes",
            payload.len() - used
        )));
    }
    Ok(value)
}

/// Fills `buf` from `reader` until it is full or the input ends; the count read.
fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match reader.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// Checks the first bytes of a file against `magic`, telling a model file from a checkpoint.
fn check_magic(start: &[u8], magic: &[u8; 8], kind: &str) -> std::result::Result<(), String> {
    if start.len() >= 8 && &start[..8] == magic {
        return Ok(());
    }
    for (other, found) in [
        (MODEL_MAGIC, "a model file"),
        (CHECKPOINT_MAGIC, "a checkpoint"),
    ] {
        if other != magic && start.len() >= 8 && &start[..8] == other {
            return Err(format!("this is {found}, not a {kind} file"));
        }
    }
    Err(format!(
        "not a {kind} file of this framework (no {} header)",
        String::from_utf8_lossy(magic)
    ))
}

/// Decodes a payload with bincode's limit on the bytes decoded values claim set to about eight
/// times the payload (a varint of one byte can decode to an eight-byte integer, never more than
/// that for the types stored here) plus 1 MiB: what a real file needs, and a bound on what a
/// forged one can make the decoder allocate.
fn decode_bounded<T: DeserializeOwned>(
    payload: &[u8],
) -> std::result::Result<(T, usize), bincode::error::DecodeError> {
    let need = payload.len().saturating_mul(8).saturating_add(1 << 20);
    macro_rules! within {
        ($($bits:literal),*) => {
            $(
                if need <= 1_usize << $bits {
                    let config = bincode::config::standard().with_limit::<{ 1_usize << $bits }>();
                    return bincode::serde::decode_from_slice(payload, config);
                }
            )*
        };
    }
    within!(21, 23, 25, 27, 29, 31, 33);
    let config = bincode::config::standard().with_limit::<{ 1_usize << 35 }>();
    bincode::serde::decode_from_slice(payload, config)
}
