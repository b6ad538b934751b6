//! Class names: from `--classes`, from a `classes.txt` file, or the class indices.

use std::path::Path;

use nn_train::{Result, TrainError};

/// The most classes a names list takes.
const MAX_CLASSES: usize = 4096;
/// The longest class name.
const MAX_NAME_CHARS: usize = 64;
/// The name of the file of class names looked for beside the data files.
pub const CLASSES_FILE: &str = "classes.txt";

/// Class names as given on the command line (one value, so that clap keeps the list whole).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassNames(pub Vec<String>);

/// Parses `--classes NAME,NAME,...`.
///
/// # Errors
/// An empty name, a name longer than 64 characters, or more than 4096 names (clap's message).
pub fn parse_classes(s: &str) -> std::result::Result<ClassNames, String> {
    let names: Vec<String> = s.split(',').map(|n| n.trim().to_string()).collect();
    check_names(&names)?;
    Ok(ClassNames(names))
}

fn check_names(names: &[String]) -> std::result::Result<(), String> {
    if names.len() > MAX_CLASSES {
        return Err(format!(
            "at most {MAX_CLASSES} class names, got {}",
            names.len()
        ));
    }
    if let Some(i) = names.iter().position(String::is_empty) {
        return Err(format!("class name {} is empty", i + 1));
    }
    if let Some(n) = names.iter().find(|n| n.chars().count() > MAX_NAME_CHARS) {
        return Err(format!(
            "class name {n:?} is longer than {MAX_NAME_CHARS} characters"
        ));
    }
    Ok(())
}

/// The class names for a run on the data in `dir`: `given` (`--classes`), else the lines of
/// `dir/classes.txt` when it exists, else none (the indices are printed). `classes` is how many
/// classes the model scores; fewer names than that is an error.
///
/// # Errors
/// An unreadable or invalid `classes.txt`, or too few names.
pub fn class_names(
    given: Option<&ClassNames>,
    dir: Option<&Path>,
    classes: usize,
) -> Result<Vec<String>> {
    let names = match (given, dir.map(|d| d.join(CLASSES_FILE))) {
        (Some(ClassNames(names)), _) => names.clone(),
        (None, Some(file)) if file.is_file() => read_classes_file(&file)?,
        _ => return Ok((0..classes).map(|c| c.to_string()).collect()),
    };
    if names.len() < classes {
        return Err(TrainError::InvalidArgument(format!(
            "{} class names for a model of {classes} classes; give one name per class",
            names.len()
        )));
    }
    Ok(names)
}

/// Reads a file of class names, one a line (blank lines at the end ignored).
fn read_classes_file(path: &Path) -> Result<Vec<String>> {
    let bad = |reason: String| TrainError::BadFile {
        path: path.to_path_buf(),
        reason,
    };
    let max = (MAX_CLASSES * (MAX_NAME_CHARS * 4 + 2)) as u64;
    let bytes = crate::read_bounded(path, max, "a file of class names", "a text file")?;
    let text = String::from_utf8(bytes).map_err(|_| bad("not UTF-8 text".into()))?;
    let names: Vec<String> = text
        .trim_end()
        .lines()
        .map(|l| l.trim().to_string())
        .collect();
    check_names(&names).map_err(|e| bad(format!("{e} (one class name a line)")))?;
    Ok(names)
}
