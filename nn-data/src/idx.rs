//! The IDX file format, read defensively.
//!
//! An IDX file is a big-endian header (a magic number, then one 32-bit size per dimension)
//! followed by the raw bytes. Every size in the header is checked against the bytes actually
//! present before anything is trusted; nothing is ever allocated from a size the header claims,
//! so a corrupt or hostile file is an error, never a panic or a huge allocation.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use flate2::bufread::MultiGzDecoder;

use crate::error::{DataError, Result};

/// Magic number of an IDX file of unsigned bytes with 3 dimensions (images).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of an IDX file of unsigned bytes with 1 dimension (labels).
pub const LABELS_MAGIC: u32 = 0x0000_0801;
/// The number of classes of MNIST-format sets: labels lie in `0..NUM_CLASSES`.
pub const NUM_CLASSES: usize = 10;
/// The most bytes an IDX file may hold (or decompress to): 1 GiB, twenty times MNIST's.
pub const MAX_FILE_BYTES: u64 = 1 << 30;

const IMAGES_HEADER: usize = 16;
const LABELS_HEADER: usize = 8;
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The contents of a file, decompressed if it is gzip (recognised by its first two bytes, so a
/// misnamed file works too).
///
/// # Errors
/// The file cannot be read, is not valid gzip although it starts like gzip, or holds more than
/// [`MAX_FILE_BYTES`].
pub fn read_maybe_gzip(path: &Path) -> Result<Vec<u8>> {
    let io = |source| DataError::Io {
        path: path.to_path_buf(),
        source,
    };
    let too_large = || DataError::TooLarge {
        path: path.to_path_buf(),
        limit: MAX_FILE_BYTES,
    };
    let mut reader = BufReader::new(File::open(path).map_err(io)?);
    let is_gzip = reader.fill_buf().map_err(io)?.starts_with(&GZIP_MAGIC);
    let mut bytes = Vec::new();
    if is_gzip {
        // Every member: `cat a.gz b.gz` is a valid gzip file of both contents (RFC 1952).
        MultiGzDecoder::new(reader)
            .take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| DataError::BadGzip {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?;
    } else {
        reader
            .take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(io)?;
    }
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large());
    }
    // Growth by doubling may have left up to half the capacity unused: give it back.
    bytes.shrink_to_fit();
    Ok(bytes)
}

/// The images of an IDX3 file: `count` images of `rows` x `cols` bytes, row-major, back to back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxImages {
    /// Number of images.
    pub count: usize,
    /// Rows per image.
    pub rows: usize,
    /// Columns per image.
    pub cols: usize,
    /// `count * rows * cols` pixel bytes.
    pub pixels: Vec<u8>,
}

fn be_u32(bytes: &[u8], at: usize) -> u32 {
    let mut word = [0_u8; 4];
    for (i, w) in word.iter_mut().enumerate() {
        *w = bytes.get(at + i).copied().unwrap_or(0);
    }
    u32::from_be_bytes(word)
}

fn check_magic(path: &Path, bytes: &[u8], expected: u32, kind: &'static str) -> Result<()> {
    let found = be_u32(bytes, 0);
    if bytes.len() < 4 || found != expected {
        return Err(DataError::BadMagic {
            path: path.to_path_buf(),
            kind,
            expected,
            found,
        });
    }
    Ok(())
}

fn check_length(
    path: &Path,
    actual: usize,
    header: usize,
    payload: Option<u64>,
    detail: String,
) -> Result<u64> {
    let Some(expected) = payload.and_then(|p| p.checked_add(header as u64)) else {
        return Err(DataError::BadHeader {
            path: path.to_path_buf(),
            reason: format!("{detail}: the sizes overflow"),
        });
    };
    if expected != actual as u64 {
        return Err(DataError::WrongLength {
            path: path.to_path_buf(),
            expected,
            actual: actual as u64,
            detail,
        });
    }
    Ok(expected)
}

/// Parses the bytes of an IDX3 image file (as [`read_maybe_gzip`] returns them), in place: the
/// header is checked against the length and then dropped.
///
/// # Errors
/// A wrong magic number, a header shorter than 16 bytes, zero rows or columns, or a length other
/// than `16 + count * rows * cols`.
pub fn parse_images(path: &Path, mut bytes: Vec<u8>) -> Result<IdxImages> {
    check_magic(path, &bytes, IMAGES_MAGIC, "IDX3 images")?;
    if bytes.len() < IMAGES_HEADER {
        return Err(DataError::WrongLength {
            path: path.to_path_buf(),
            expected: IMAGES_HEADER as u64,
            actual: bytes.len() as u64,
            detail: "a 16-byte header".into(),
        });
    }
    let [count, rows, cols] = [4, 8, 12].map(|at| be_u32(&bytes, at));
    if rows == 0 || cols == 0 {
        return Err(DataError::BadHeader {
            path: path.to_path_buf(),
            reason: format!("images of {rows} x {cols} pixels"),
        });
    }
    let payload = u64::from(count)
        .checked_mul(u64::from(rows))
        .and_then(|v| v.checked_mul(u64::from(cols)));
    let detail = format!("{count} images of {rows} x {cols}");
    check_length(path, bytes.len(), IMAGES_HEADER, payload, detail)?;
    bytes.drain(..IMAGES_HEADER);
    Ok(IdxImages {
        count: count as usize,
        rows: rows as usize,
        cols: cols as usize,
        pixels: bytes,
    })
}

/// Parses the bytes of an IDX1 label file, in place, and checks every label is below
/// [`NUM_CLASSES`].
///
/// # Errors
/// A wrong magic number, a header shorter than 8 bytes, a length other than `8 + count`, or a
/// label of 10 or more.
pub fn parse_labels(path: &Path, mut bytes: Vec<u8>) -> Result<Vec<u8>> {
    check_magic(path, &bytes, LABELS_MAGIC, "IDX1 labels")?;
    if bytes.len() < LABELS_HEADER {
        return Err(DataError::WrongLength {
            path: path.to_path_buf(),
            expected: LABELS_HEADER as u64,
            actual: bytes.len() as u64,
            detail: "an 8-byte header".into(),
        });
    }
    let count = be_u32(&bytes, 4);
    check_length(
        path,
        bytes.len(),
        LABELS_HEADER,
        Some(u64::from(count)),
        format!("{count} labels"),
    )?;
    bytes.drain(..LABELS_HEADER);
    check_labels(path, &bytes)?;
    Ok(bytes)
}

/// Checks that every label is below [`NUM_CLASSES`].
///
/// # Errors
/// The first label that is not, with its index.
pub fn check_labels(path: &Path, labels: &[u8]) -> Result<()> {
    match labels.iter().position(|&l| usize::from(l) >= NUM_CLASSES) {
        Some(index) => Err(DataError::BadLabel {
            path: path.to_path_buf(),
            index,
            value: labels[index],
            max: (NUM_CLASSES - 1) as u8,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn images_file(count: u32, rows: u32, cols: u32, payload: usize) -> Vec<u8> {
        let mut v = Vec::new();
        for word in [IMAGES_MAGIC, count, rows, cols] {
            v.extend_from_slice(&word.to_be_bytes());
        }
        v.extend(std::iter::repeat_n(7_u8, payload));
        v
    }

    #[test]
    fn well_formed_images_parse() {
        let img = parse_images(Path::new("x"), images_file(2, 3, 2, 12)).unwrap();
        assert_eq!(
            (img.count, img.rows, img.cols, img.pixels.len()),
            (2, 3, 2, 12)
        );
    }

    #[test]
    fn a_huge_claim_is_a_length_error_not_an_allocation() {
        let e = parse_images(Path::new("x"), images_file(u32::MAX, 28, 28, 10)).unwrap_err();
        assert!(matches!(e, DataError::WrongLength { .. }), "{e}");
        let e =
            parse_images(Path::new("x"), images_file(u32::MAX, u32::MAX, u32::MAX, 0)).unwrap_err();
        assert!(matches!(e, DataError::BadHeader { .. }), "{e}");
    }

    #[test]
    fn short_and_wrong_files_are_errors() {
        assert!(parse_images(Path::new("x"), vec![0, 0]).is_err());
        assert!(parse_images(Path::new("x"), vec![0, 0, 8, 3, 0, 0]).is_err());
        assert!(parse_labels(Path::new("x"), vec![0, 0, 8, 1, 0, 0, 0, 1]).is_err());
        let e = parse_labels(Path::new("x"), vec![0, 0, 8, 1, 0, 0, 0, 2, 3, 10]).unwrap_err();
        assert!(e.to_string().contains("label 10 at index 1"), "{e}");
    }
}
