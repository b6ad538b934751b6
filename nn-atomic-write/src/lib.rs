#![doc = include_str!("../README.md")]
//!
//! Atomic writes: a temporary file beside the target, synced, then renamed over it, so that a
//! crash, a kill or a full disk never leaves a half-written file where a good one was.
//!
//! - A target that is a symbolic link stays a link: the file it points to is replaced.
//! - The temporary file is named `.NAME.tmp-PID-XXXXXX`; one left behind by a killed process
//!   (whose PID no longer runs) is removed by the next write to the same target, on systems with
//!   `/proc`.
//! - [`check_writable`] tells before a long run whether a write would fail.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use thiserror::Error;

/// A file that could not be written, with the reason.
#[derive(Debug, Error)]
#[error("{path}: {source}")]
pub struct WriteError {
    /// The file.
    pub path: PathBuf,
    /// The reason.
    pub source: io::Error,
}

/// `Result` with [`WriteError`].
pub type Result<T, E = WriteError> = std::result::Result<T, E>;

/// How many symbolic links are followed before giving up (as Linux's `ELOOP`).
const MAX_LINKS: usize = 40;

/// Writes `bytes` to `path` atomically (see the module documentation).
///
/// # Errors
/// [`WriteError`] naming the path: a missing folder, no permission, a full disk, a folder at
/// `path`, a symbolic-link loop.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("notes.txt");
/// nn_atomic_write::write_atomically(&path, b"first").unwrap();
/// nn_atomic_write::write_atomically(&path, b"second").unwrap();
/// assert_eq!(std::fs::read(&path).unwrap(), b"second");
/// ```
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomically_with(path, |file, _| file.write_all(bytes))
}

/// Writes `path` atomically through `write`, which gets the open temporary file and its path (for
/// writers that open the path themselves, like the plotting backends). The temporary file has
/// `path`'s extension.
///
/// # Errors
/// As [`write_atomically`], plus `write`'s error.
pub fn write_atomically_with(
    path: &Path,
    write: impl FnOnce(&mut File, &Path) -> io::Result<()>,
) -> Result<()> {
    let io_error = |source| WriteError {
        path: path.to_path_buf(),
        source,
    };
    let target = resolve_output(path)?;
    let (dir, name) = split(&target).map_err(io_error)?;
    remove_stale_temporaries(&dir, &name);
    let suffix = target
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    let mut tmp = temporary_in(&dir, &name, &suffix).map_err(io_error)?;
    let tmp_path = tmp.path().to_path_buf();
    write(tmp.as_file_mut(), &tmp_path).map_err(io_error)?;
    tmp.as_file_mut().flush().map_err(io_error)?;
    tmp.as_file().sync_all().map_err(io_error)?;
    tmp.persist(&target).map_err(|e| io_error(e.error))?;
    if let Ok(d) = File::open(&dir) {
        // Not every platform can sync a folder; the rename has happened either way.
        let _ = d.sync_all();
    }
    Ok(())
}

/// Checks that [`write_atomically`] could write `path` now: its folder exists and takes a new
/// file, and `path` is not a folder. Nothing is left behind. Call it before a long run whose
/// result goes to `path`.
///
/// # Errors
/// [`WriteError`] naming the path and the reason.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// assert!(nn_atomic_write::check_writable(&dir.path().join("model.bin")).is_ok());
/// assert!(nn_atomic_write::check_writable(&dir.path().join("no/such/model.bin")).is_err());
/// assert!(nn_atomic_write::check_writable(dir.path()).is_err());
/// ```
pub fn check_writable(path: &Path) -> Result<()> {
    let io_error = |source: io::Error| WriteError {
        path: path.to_path_buf(),
        source: io::Error::new(source.kind(), format!("cannot be written: {source}")),
    };
    let target = resolve_output(path).map_err(|e| io_error(e.source))?;
    if target.is_dir() {
        return Err(io_error(io::Error::new(
            io::ErrorKind::IsADirectory,
            "is a folder, not a file",
        )));
    }
    let (dir, name) = split(&target).map_err(io_error)?;
    temporary_in(&dir, &name, "").map(drop).map_err(io_error)
}

/// The file that writing `path` replaces: `path` with its symbolic links followed and its folder
/// made absolute, so that two spellings of one file compare equal.
///
/// # Errors
/// A symbolic-link loop, or a folder that cannot be resolved (it does not exist).
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let a = nn_atomic_write::resolve_output(&dir.path().join("m.bin")).unwrap();
/// let b = nn_atomic_write::resolve_output(&dir.path().join(".").join("m.bin")).unwrap();
/// assert_eq!(a, b);
/// ```
pub fn resolve_output(path: &Path) -> Result<PathBuf> {
    let io_error = |source| WriteError {
        path: path.to_path_buf(),
        source,
    };
    let mut target = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match std::fs::symlink_metadata(&target) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let link = std::fs::read_link(&target).map_err(io_error)?;
                target = match target.parent() {
                    Some(parent) if link.is_relative() => parent.join(link),
                    _ => link,
                };
            }
            _ => {
                let (dir, name) = split(&target).map_err(io_error)?;
                let dir = dir.canonicalize().map_err(io_error)?;
                return Ok(dir.join(name));
            }
        }
    }
    Err(io_error(io::Error::other(format!(
        "more than {MAX_LINKS} symbolic links to follow"
    ))))
}

/// The folder (`.` for a bare name) and the file name of `path`.
fn split(path: &Path) -> io::Result<(PathBuf, String)> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "names no file"))?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok((dir, name))
}

/// The prefix every temporary file of target `name` starts with.
fn temporary_prefix(name: &str) -> String {
    format!(".{name}.tmp-")
}

/// A new temporary file for target `name` in `dir`, ending in `suffix`.
fn temporary_in(dir: &Path, name: &str, suffix: &str) -> io::Result<tempfile::NamedTempFile> {
    let prefix = format!("{}{}-", temporary_prefix(name), std::process::id());
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(suffix);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // As `File::create` would make it (the umask still applies), not tempfile's private 0600.
        builder.permissions(std::fs::Permissions::from_mode(0o644));
    }
    builder.tempfile_in(dir)
}

/// Removes the temporary files of target `name` in `dir` whose writing process no longer runs.
/// Only where `/proc` tells which processes run; elsewhere it does nothing.
fn remove_stale_temporaries(dir: &Path, name: &str) {
    let proc = Path::new("/proc");
    if !proc.join("self").is_dir() {
        return;
    }
    let prefix = temporary_prefix(name);
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = file_name.strip_prefix(&prefix) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid != std::process::id() && !proc.join(pid.to_string()).exists() {
            // Best effort: another writer may have removed it first.
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_symbolic_link_stays_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.bin");
        std::fs::write(&real, b"old").unwrap();
        let link = dir.path().join("link.bin");
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("real.bin", &link).unwrap();
            write_atomically(&link, b"new").unwrap();
            assert!(
                std::fs::symlink_metadata(&link)
                    .unwrap()
                    .file_type()
                    .is_symlink()
            );
            assert_eq!(std::fs::read(&real).unwrap(), b"new");
        }
    }

    #[test]
    fn a_dead_writers_temporary_file_is_removed_and_a_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("m.bin");
        // PIDs above the kernel's maximum (4 194 304) never run.
        let dead = dir.path().join(".m.bin.tmp-999999999-abc123");
        let live = dir
            .path()
            .join(format!(".m.bin.tmp-{}-abc123", std::process::id()));
        let other = dir.path().join(".other.bin.tmp-999999999-abc123");
        for p in [&dead, &live, &other] {
            std::fs::write(p, b"partial").unwrap();
        }
        write_atomically(&target, b"done").unwrap();
        if Path::new("/proc/self").is_dir() {
            assert!(!dead.exists());
        }
        assert!(live.exists() && other.exists());
        assert_eq!(std::fs::read(&target).unwrap(), b"done");
    }

    #[test]
    fn written_files_are_readable_by_others_as_file_create_makes_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.bin");
        write_atomically(&path, b"x").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o600, 0o600, "{mode:o}");
            assert_ne!(mode & 0o044, 0, "{mode:o}");
        }
    }

    #[test]
    fn a_folder_or_a_missing_folder_is_not_writable() {
        let dir = tempfile::tempdir().unwrap();
        assert!(check_writable(dir.path()).is_err());
        assert!(check_writable(&dir.path().join("missing/m.bin")).is_err());
        assert!(write_atomically(dir.path(), b"x").is_err());
        let file = dir.path().join("m.bin");
        check_writable(&file).unwrap();
        assert!(!file.exists(), "the check leaves nothing behind");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
