//! A per-epoch metrics log, written as training goes.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Result, TrainError};
use crate::history::EpochRecord;

/// The log's format, from its file's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Comma-separated values with a header line (`.csv`).
    Csv,
    /// One JSON object per line (`.jsonl`).
    JsonLines,
}

impl LogFormat {
    /// The format of `path`: `.csv` or `.jsonl`.
    ///
    /// # Errors
    /// Any other extension.
    pub fn of(path: &Path) -> Result<Self> {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("csv") => Ok(Self::Csv),
            Some(e) if e.eq_ignore_ascii_case("jsonl") => Ok(Self::JsonLines),
            _ => Err(TrainError::InvalidArgument(format!(
                "{}: a metrics log ends in .csv or .jsonl",
                path.display()
            ))),
        }
    }
}

/// A row per epoch with every figure of its [`EpochRecord`]: epoch, training loss and accuracy,
/// the evaluated set's loss and accuracy, learning rate and the seconds of each phase. Each row
/// is written and flushed when its epoch ends, so a run that is killed keeps the rows of the
/// epochs it finished.
///
/// ```
/// use nn_train::{EpochRecord, MetricsLog, PhaseTimings};
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("log.csv");
/// let mut log = MetricsLog::create(&path, "test", false).unwrap();
/// let record = EpochRecord { epoch: 1, train_loss: 0.5, train_accuracy: 0.9, val_loss: Some(0.4),
///     val_accuracy: Some(0.92), lr: 1e-3, train_s: 3.0, timings: PhaseTimings::default() };
/// log.write(&record).unwrap();
/// let text = std::fs::read_to_string(&path).unwrap();
/// assert!(text.starts_with("epoch,train_loss,train_acc,test_loss,test_acc,lr,"));
/// assert!(text.lines().nth(1).unwrap().starts_with("1,0.5,0.9,0.4,0.92,0.001,"));
/// ```
#[derive(Debug)]
pub struct MetricsLog {
    path: PathBuf,
    file: File,
    format: LogFormat,
    eval_label: String,
}

impl MetricsLog {
    /// Opens the log at `path` (format by extension) naming the evaluated set's columns after
    /// `eval_label` (`test_loss`, `val_acc` ...). `append` keeps the rows already there (a
    /// resumed run); otherwise the file starts afresh.
    ///
    /// # Errors
    /// An extension other than `.csv` or `.jsonl`, or a file that cannot be opened.
    pub fn create(path: &Path, eval_label: &str, append: bool) -> Result<Self> {
        let format = LogFormat::of(path)?;
        let io = |source| TrainError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = if append {
            OpenOptions::new().create(true).append(true).open(path)
        } else {
            File::create(path)
        }
        .map_err(io)?;
        let empty = file.metadata().map_err(io)?.len() == 0;
        let mut log = Self {
            path: path.to_path_buf(),
            file,
            format,
            eval_label: eval_label.to_string(),
        };
        if format == LogFormat::Csv && empty {
            let header = log.columns().join(",");
            log.put(&header)?;
        }
        Ok(log)
    }

    /// The columns, in order.
    fn columns(&self) -> Vec<String> {
        let e = &self.eval_label;
        [
            "epoch".to_string(),
            "train_loss".into(),
            "train_acc".into(),
            format!("{e}_loss"),
            format!("{e}_acc"),
            "lr".into(),
            "train_s".into(),
            "data_s".into(),
            "forward_s".into(),
            "backward_s".into(),
            "update_s".into(),
        ]
        .into()
    }

    /// Appends `record`'s row and flushes it to the file.
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn write(&mut self, record: &EpochRecord) -> Result<()> {
        let opt = |v: Option<f32>| v.map(|v| v.to_string());
        let t = &record.timings;
        let values = [
            Some(record.epoch.to_string()),
            Some(record.train_loss.to_string()),
            Some(record.train_accuracy.to_string()),
            opt(record.val_loss),
            opt(record.val_accuracy),
            Some(record.lr.to_string()),
            Some(record.train_s.to_string()),
            Some(t.data_s.to_string()),
            Some(t.forward_s.to_string()),
            Some(t.backward_s.to_string()),
            Some(t.update_s.to_string()),
        ];
        let line = match self.format {
            LogFormat::Csv => values
                .iter()
                .map(|v| v.clone().unwrap_or_default())
                .collect::<Vec<_>>()
                .join(","),
            LogFormat::JsonLines => {
                // Every value is a number (Rust prints finite floats as JSON numbers) or null (a value
                // that is missing or not finite).
                let fields: Vec<String> = self
                    .columns()
                    .iter()
                    .zip(&values)
                    .map(|(k, v)| {
                        let number = v
                            .as_deref()
                            .filter(|v| v.parse::<f64>().is_ok_and(f64::is_finite));
                        format!("\"{k}\":{}", number.unwrap_or("null"))
                    })
                    .collect();
                format!("{{{}}}", fields.join(","))
            }
        };
        self.put(&line)
    }

    fn put(&mut self, line: &str) -> Result<()> {
        self.file
            .write_all(format!("{line}\n").as_bytes())
            .and_then(|()| self.file.flush())
            .map_err(|source| TrainError::Io {
                path: self.path.clone(),
                source,
            })
    }
}
