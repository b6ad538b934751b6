//! The data crate's error type.

use std::path::PathBuf;

/// What can go wrong while loading or batching a data set. Every variant names the file (or the
/// argument) and what is wrong with it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// The data folder does not exist.
    #[error(
        "data folder {dir} does not exist: pass --data DIR with the four MNIST-format IDX files \
         (train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz], \
         t10k-labels-idx1-ubyte[.gz]); MNIST itself is bundled in the project's data/mnist"
    )]
    MissingFolder {
        /// The folder looked for.
        dir: PathBuf,
    },
    /// None of the accepted names of a file is in the folder.
    #[error("{dir}: no {what} file: looked for {}", tried.join(", "))]
    MissingFile {
        /// The folder.
        dir: PathBuf,
        /// Which file (e.g. "training images").
        what: &'static str,
        /// The names tried.
        tried: Vec<String>,
    },
    /// The file could not be read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The reason.
        source: std::io::Error,
    },
    /// A `.gz` file that does not decompress.
    #[error("{path}: not a valid gzip file: {reason}")]
    BadGzip {
        /// The file.
        path: PathBuf,
        /// The decoder's complaint.
        reason: String,
    },
    /// The file decompresses to more than any IDX file we accept.
    #[error("{path}: decompresses to more than {limit} bytes; not an MNIST-format file")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The limit.
        limit: u64,
    },
    /// The file does not start with the expected IDX magic number.
    #[error(
        "{path}: wrong magic number 0x{found:08x}, expected 0x{expected:08x} ({kind}); is this the right file?"
    )]
    BadMagic {
        /// The file.
        path: PathBuf,
        /// What the file should hold ("IDX3 images" or "IDX1 labels").
        kind: &'static str,
        /// The magic number expected.
        expected: u32,
        /// The magic number found (0 if the file is shorter than 4 bytes).
        found: u32,
    },
    /// The header is well-formed but its sizes are not acceptable.
    #[error("{path}: bad header: {reason}")]
    BadHeader {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The file's length differs from what its header says.
    #[error("{path}: the header promises {expected} bytes ({detail}) but the file has {actual}{}", if actual < expected { " (truncated?)" } else { " (trailing bytes)" })]
    WrongLength {
        /// The file.
        path: PathBuf,
        /// Bytes the header implies, header included.
        expected: u64,
        /// Bytes present.
        actual: u64,
        /// The header's counts, in words.
        detail: String,
    },
    /// The image and label files disagree on the number of items.
    #[error("{images} holds {image_count} images but {labels} holds {label_count} labels")]
    CountMismatch {
        /// The image file.
        images: PathBuf,
        /// Its count.
        image_count: usize,
        /// The label file.
        labels: PathBuf,
        /// Its count.
        label_count: usize,
    },
    /// A label outside 0..=9.
    #[error("{path}: label {value} at index {index} is outside 0..={max}")]
    BadLabel {
        /// The file.
        path: PathBuf,
        /// The label's position.
        index: usize,
        /// Its value.
        value: u8,
        /// The largest valid label.
        max: u8,
    },
    /// Images of another size than they must have.
    #[error("{path}: images are {}x{}, but {reason} {}x{}", found[0], found[1], expected[0], expected[1])]
    ImageSize {
        /// The image file.
        path: PathBuf,
        /// Its (rows, cols).
        found: [usize; 2],
        /// The (rows, cols) needed.
        expected: [usize; 2],
        /// Who needs them, e.g. "the model takes".
        reason: String,
    },
    /// A file that holds no images where some are needed.
    #[error("{path}: holds no images; {what} needs at least one")]
    Empty {
        /// The image file.
        path: PathBuf,
        /// What needs images ("training", "evaluation").
        what: &'static str,
    },
    /// An invalid argument (a batch size of zero, a split larger than the set ...).
    #[error("{0}")]
    InvalidArgument(String),
}

/// `Result` with [`DataError`].
pub type Result<T, E = DataError> = std::result::Result<T, E>;
