//! Test support for the whole workspace: the PyTorch golden vectors.
//!
//! The vectors live in `testdata/torch/*.json` (copied from the shared test-vector folder; see its
//! README). Each file is `{"note": ..., "cases": [...]}` and a tensor is `{"shape": [...], "data":
//! [...]}` in row-major order. Tests read the folder named by the environment variable
//! `NN_TESTVECTORS` when it is set, else the project's copy. A missing folder or file is an error
//! that says so: a test that cannot find its vectors fails, it never passes silently.
//!
//! Cases and shapes are read from the files, never assumed, so another vector set in the same
//! format (other shapes, other values) is checked just as well.
//!
//! This crate is a dev-dependency only; it is not part of the framework's stack.
//!
//! Dependencies: `serde_json` parses the files, `ndarray` holds the tensors, `thiserror` types the
//! errors.

use std::path::{Path, PathBuf};

use ndarray::{ArrayD, IxDyn};
use serde_json::Value;

/// Everything that can go wrong while reading a vector file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VectorError {
    /// The file could not be read.
    #[error(
        "cannot read test vectors {path}: {source} (set NN_TESTVECTORS to the folder holding the PyTorch vectors, or restore testdata/torch/)"
    )]
    Io {
        /// The file.
        path: PathBuf,
        /// The reason.
        source: std::io::Error,
    },
    /// The file is not valid JSON.
    #[error("test vectors {path} are not valid JSON: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The reason.
        source: serde_json::Error,
    },
    /// A field is missing or has the wrong type.
    #[error("test vectors: case `{case}`: field `{field}` {problem}")]
    Field {
        /// The case name.
        case: String,
        /// The field.
        field: String,
        /// What is wrong with it.
        problem: String,
    },
}

/// The folder holding the vectors: `$NN_TESTVECTORS`, else `<workspace>/testdata/torch`.
pub fn vectors_dir() -> PathBuf {
    match std::env::var_os("NN_TESTVECTORS") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/torch"),
    }
}

/// One vector file: its note and its cases.
#[derive(Debug)]
pub struct VectorFile {
    /// The file read.
    pub path: PathBuf,
    /// What the file holds, in PyTorch's words.
    pub note: String,
    /// The cases, in file order.
    pub cases: Vec<Case>,
}

/// Reads `name` (for example `"conv2d.json"`) from [`vectors_dir`].
pub fn load(name: &str) -> Result<VectorFile, VectorError> {
    let path = vectors_dir().join(name);
    let text = std::fs::read_to_string(&path).map_err(|source| VectorError::Io {
        path: path.clone(),
        source,
    })?;
    let root: Value = serde_json::from_str(&text).map_err(|source| VectorError::Json {
        path: path.clone(),
        source,
    })?;
    let file_case = Case {
        name: name.to_string(),
        value: root,
    };
    let note = file_case.str("note")?.to_string();
    let cases = file_case
        .field("cases")?
        .as_array()
        .ok_or_else(|| file_case.problem("cases", "is not an array"))?
        .iter()
        .enumerate()
        .map(|(i, value)| {
            let name = value
                .get("name")
                .and_then(Value::as_str)
                .map_or_else(|| format!("#{i}"), str::to_string);
            Case {
                name,
                value: value.clone(),
            }
        })
        .collect();
    Ok(VectorFile { path, note, cases })
}

/// One case of a vector file: a JSON object with named fields.
#[derive(Debug, Clone)]
pub struct Case {
    /// The case's `name` field (or its index).
    pub name: String,
    value: Value,
}

impl Case {
    fn problem(&self, field: &str, problem: &str) -> VectorError {
        VectorError::Field {
            case: self.name.clone(),
            field: field.to_string(),
            problem: problem.to_string(),
        }
    }

    /// Whether the case has the field.
    pub fn has(&self, field: &str) -> bool {
        self.value.get(field).is_some()
    }

    /// The raw JSON of a field.
    pub fn field(&self, field: &str) -> Result<&Value, VectorError> {
        self.value
            .get(field)
            .ok_or_else(|| self.problem(field, "is missing"))
    }

    /// A nested object as a case of its own (for `params`, `grads` ...).
    pub fn sub(&self, field: &str) -> Result<Case, VectorError> {
        Ok(Case {
            name: format!("{}.{}", self.name, field),
            value: self.field(field)?.clone(),
        })
    }

    /// The keys of an object field, in file order.
    pub fn keys(&self) -> Vec<String> {
        self.value
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// A string field.
    pub fn str(&self, field: &str) -> Result<&str, VectorError> {
        self.field(field)?
            .as_str()
            .ok_or_else(|| self.problem(field, "is not a string"))
    }

    /// A number field.
    pub fn f64(&self, field: &str) -> Result<f64, VectorError> {
        self.field(field)?
            .as_f64()
            .ok_or_else(|| self.problem(field, "is not a number"))
    }

    /// An array of non-negative integers (labels, strides ...).
    pub fn usizes(&self, field: &str) -> Result<Vec<usize>, VectorError> {
        self.field(field)?
            .as_array()
            .ok_or_else(|| self.problem(field, "is not an array"))?
            .iter()
            .map(|v| {
                v.as_u64()
                    .and_then(|u| usize::try_from(u).ok())
                    .ok_or_else(|| {
                        self.problem(field, "holds a value that is not a non-negative integer")
                    })
            })
            .collect()
    }

    /// A pair of integers such as `"stride": [2, 1]`.
    pub fn pair(&self, field: &str) -> Result<[usize; 2], VectorError> {
        let v = self.usizes(field)?;
        match v.as_slice() {
            [a, b] => Ok([*a, *b]),
            _ => Err(self.problem(field, "is not a pair")),
        }
    }

    /// A tensor field `{"shape": [...], "data": [...]}` as `f32` (the values the f32 code sees).
    pub fn tensor(&self, field: &str) -> Result<ArrayD<f32>, VectorError> {
        Ok(self.tensor_f64(field)?.mapv(|v| v as f32))
    }

    /// A tensor field at full (f64) precision, for the reference side of a comparison.
    pub fn tensor_f64(&self, field: &str) -> Result<ArrayD<f64>, VectorError> {
        tensor_from_value(self.field(field)?).map_err(|p| self.problem(field, &p))
    }

    /// An array of tensors (such as the per-step gradients of `optim.json`).
    pub fn tensors(&self, field: &str) -> Result<Vec<ArrayD<f64>>, VectorError> {
        self.field(field)?
            .as_array()
            .ok_or_else(|| self.problem(field, "is not an array"))?
            .iter()
            .map(|v| tensor_from_value(v).map_err(|p| self.problem(field, &p)))
            .collect()
    }
}

fn tensor_from_value(v: &Value) -> Result<ArrayD<f64>, String> {
    let shape: Vec<usize> = v
        .get("shape")
        .and_then(Value::as_array)
        .ok_or("has no `shape` array")?
        .iter()
        .map(|d| d.as_u64().map(|u| u as usize).ok_or("has a bad dimension"))
        .collect::<Result<_, _>>()?;
    let data: Vec<f64> = v
        .get("data")
        .and_then(Value::as_array)
        .ok_or("has no `data` array")?
        .iter()
        .map(|d| d.as_f64().ok_or("holds a non-number"))
        .collect::<Result<_, _>>()?;
    ArrayD::from_shape_vec(IxDyn(&shape), data)
        .map_err(|e| format!("shape {shape:?} does not fit its data: {e}"))
}

/// The tolerance rule of the vectors' README: `max |ours - ref| <= tol * max(1, max |ref|)`.
///
/// Returns `Err` with a message naming the tensor, the worst element and both values when the
/// shapes differ or the tolerance is exceeded.
pub fn check_close(
    what: &str,
    ours: &ArrayD<f32>,
    reference: &ArrayD<f64>,
    tol: f64,
) -> Result<(), String> {
    if ours.shape() != reference.shape() {
        return Err(format!(
            "{what}: shape {:?}, PyTorch has {:?}",
            ours.shape(),
            reference.shape()
        ));
    }
    let scale = reference.iter().fold(1.0_f64, |m, v| m.max(v.abs()));
    let mut worst = (0.0_f64, 0_usize);
    for (i, (a, b)) in ours.iter().zip(reference.iter()).enumerate() {
        let d = (f64::from(*a) - b).abs();
        if d > worst.0 || d.is_nan() {
            worst = (d, i);
            if d.is_nan() {
                break;
            }
        }
    }
    let (diff, at) = worst;
    if diff.is_nan() || diff > tol * scale {
        let ours_at = ours.iter().nth(at).copied().unwrap_or(f32::NAN);
        let ref_at = reference.iter().nth(at).copied().unwrap_or(f64::NAN);
        return Err(format!(
            "{what}: max |ours - torch| = {diff:.3e} at flat index {at} (ours {ours_at}, torch {ref_at}) exceeds {tol:e} * {scale:.3}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::arr1;

    #[test]
    fn check_close_accepts_and_rejects() {
        let r = arr1(&[1.0_f64, -2.0]).into_dyn();
        let good = arr1(&[1.0_f32, -2.0001]).into_dyn();
        let bad = arr1(&[1.0_f32, -2.01]).into_dyn();
        assert!(check_close("t", &good, &r, 1e-4).is_ok());
        let msg = check_close("t", &bad, &r, 1e-4).unwrap_err();
        assert!(msg.contains("flat index 1"), "{msg}");
        let nan = arr1(&[f32::NAN, -2.0]).into_dyn();
        assert!(check_close("t", &nan, &r, 1e-4).is_err());
    }

    #[test]
    fn missing_file_is_an_error_naming_it() {
        let err = load("no-such-file.json").unwrap_err().to_string();
        assert!(err.contains("no-such-file.json"), "{err}");
    }
}
