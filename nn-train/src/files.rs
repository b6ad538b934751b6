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
//! |   | network's counters (batch norm's `num_batches_tracked`) as `(name, u64)` pairs |
//! | 8 | FNV-1a 64 checksum of the payload, little-endian |
//!
//! Reading checks each field in order, so a foreign, truncated, corrupted or newer file is an
//! error that says which; the payload is decoded with a size limit. Writing goes to a temporary
//! file in the same folder, is flushed to disk, and is renamed over the target: a crash never
//! leaves a half-written file where a good one was.

use std::io::Write;
use std::path::{Path, PathBuf};

use nn_layers::{Layer, NetworkSpec, Sequential, Tensor};
use nn_optim::{OptimizerState, Scheduler};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{Result, TrainError};
use crate::history::History;
use crate::model::Model;
use crate::optimizer_spec::OptimizerSpec;

const MODEL_MAGIC: &[u8; 8] = b"NNRSMODL";
const CHECKPOINT_MAGIC: &[u8; 8] = b"NNRSCKPT";
/// The format version this build writes and the newest it reads.
///
/// Version 2 added the counters after the payload; version 1 files still load, with every counter
/// at 0.
pub const FORMAT_VERSION: u32 = 2;
/// The largest payload read: 1 GiB.
const MAX_PAYLOAD: u64 = 1 << 30;
const HEADER: usize = 8 + 4 + 8;

/// A named tensor as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct StoredTensor {
    name: String,
    shape: Vec<usize>,
    data: Vec<f32>,
}

/// A network as stored: its architecture and every parameter and buffer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct NetworkFile {
    spec: NetworkSpec,
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
    rng_positions: Vec<(String, u128)>,
    history: History,
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
fn restore_network(path: &Path, file: NetworkFile) -> Result<Sequential> {
    let mismatch = |reason: String| TrainError::Mismatch {
        path: path.to_path_buf(),
        reason,
    };
    let mut net = file
        .spec
        .build(&mut core_tensor::init::seeded_rng(0))
        .map_err(|e| mismatch(format!("the stored architecture does not build: {e}")))?;
    let mut stored = file.tensors.into_iter();
    let mut count = 0;
    let mut fill = |name: &str, target: &mut Tensor| {
        let t = stored
            .next()
            .ok_or_else(|| format!("tensor {name} is missing"))?;
        count += 1;
        place(&t, name, target)
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

fn place(
    stored: &StoredTensor,
    name: &str,
    target: &mut Tensor,
) -> std::result::Result<(), String> {
    if stored.name != name {
        return Err(format!("expected tensor {name}, found {}", stored.name));
    }
    if stored.shape != target.shape() || stored.data.len() != target.len() {
        return Err(format!(
            "tensor {name} has shape {:?}, the architecture needs {:?}",
            stored.shape,
            target.shape()
        ));
    }
    let t = Tensor::from_shape_vec(stored.shape.clone(), stored.data.clone())
        .map_err(|e| format!("tensor {name}: {e}"))?;
    *target = t;
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
    write_file(path, MODEL_MAGIC, &network_file(spec, net), &net.counters())
}

/// Loads a network saved by [`save_network`] (or [`Model::save`]).
///
/// # Errors
/// A missing, foreign, truncated, corrupted or newer file, or tensors that do not fit the stored
/// architecture.
pub fn load_network(path: &Path) -> Result<(NetworkSpec, Sequential)> {
    let (file, counters): (NetworkFile, _) = read_file(path, MODEL_MAGIC, "model")?;
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
        write_file(path, CHECKPOINT_MAGIC, &file, &self.net.counters())
    }

    /// Restores a model saved by [`Model::save_checkpoint`].
    ///
    /// # Errors
    /// A missing, foreign, truncated, corrupted or newer file, or contents that do not fit
    /// together.
    pub fn load_checkpoint(path: &Path) -> Result<Self> {
        let (file, counters): (CheckpointFile, _) =
            read_file(path, CHECKPOINT_MAGIC, "checkpoint")?;
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
        let mut model = Model::from_parts(spec, net, file.optimizer_spec, file.init_seed)?;
        model
            .optimizer
            .load_state(file.optimizer_state, &model.net)
            .map_err(|e| TrainError::Mismatch {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?;
        model.scheduler = file.scheduler;
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

fn write_file<T: Serialize>(
    path: &Path,
    magic: &[u8; 8],
    value: &T,
    counters: &Counters,
) -> Result<()> {
    let payload = bincode::serde::encode_to_vec((value, counters), bincode::config::standard())
        .map_err(|e| TrainError::BadFile {
            path: path.to_path_buf(),
            reason: format!("cannot encode: {e}"),
        })?;
    let mut bytes = Vec::with_capacity(HEADER + payload.len() + 8);
    bytes.extend_from_slice(magic);
    bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    bytes.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&payload);
    bytes.extend_from_slice(&fnv1a(&payload).to_le_bytes());
    write_atomically(path, &bytes)
}

/// Writes `bytes` to a temporary file beside `path`, syncs it, renames it over `path`, and syncs
/// the folder.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let io = |source| TrainError::Io {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        if let Ok(d) = std::fs::File::open(&dir) {
            // Not every platform can sync a folder; the rename has happened either way.
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(io)
}

fn read_file<T: DeserializeOwned>(
    path: &Path,
    magic: &[u8; 8],
    kind: &str,
) -> Result<(T, Counters)> {
    let bad = |reason: String| TrainError::BadFile {
        path: path.to_path_buf(),
        reason,
    };
    let bytes = std::fs::read(path).map_err(|source| TrainError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let other = if magic == MODEL_MAGIC {
        CHECKPOINT_MAGIC
    } else {
        MODEL_MAGIC
    };
    if bytes.len() < 8 || &bytes[..8] != magic {
        if bytes.len() >= 8 && &bytes[..8] == other {
            let found = if other == MODEL_MAGIC {
                "a model file"
            } else {
                "a checkpoint"
            };
            return Err(bad(format!("this is {found}, not a {kind} file")));
        }
        return Err(bad(format!(
            "not a {kind} file of this framework (no {} header)",
            String::from_utf8_lossy(magic)
        )));
    }
    if bytes.len() < HEADER {
        return Err(bad(format!(
            "truncated: {} bytes, shorter than the {HEADER}-byte header",
            bytes.len()
        )));
    }
    let version = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
    if version > FORMAT_VERSION || version == 0 {
        return Err(bad(format!(
            "format version {version}: this build reads versions 1 to {FORMAT_VERSION}; use a newer build"
        )));
    }
    let mut len8 = [0_u8; 8];
    len8.copy_from_slice(&bytes[12..20]);
    let len = u64::from_le_bytes(len8);
    if len > MAX_PAYLOAD {
        return Err(bad(format!(
            "claims a {len}-byte payload, more than the {MAX_PAYLOAD}-byte limit"
        )));
    }
    let expected = HEADER as u64 + len + 8;
    if bytes.len() as u64 != expected {
        let what = if (bytes.len() as u64) < expected {
            "truncated"
        } else {
            "has trailing bytes"
        };
        return Err(bad(format!(
            "{what}: {} bytes, the header says {expected}",
            bytes.len()
        )));
    }
    let payload = &bytes[HEADER..HEADER + len as usize];
    let mut sum8 = [0_u8; 8];
    sum8.copy_from_slice(&bytes[HEADER + len as usize..]);
    if u64::from_le_bytes(sum8) != fnv1a(payload) {
        return Err(bad(
            "corrupted: the checksum does not match the contents".into()
        ));
    }
    let config = bincode::config::standard().with_limit::<{ 1 << 30 }>();
    let decoded = if version >= 2 {
        bincode::serde::decode_from_slice(payload, config)
    } else {
        bincode::serde::decode_from_slice(payload, config).map(|(v, used)| ((v, Vec::new()), used))
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
