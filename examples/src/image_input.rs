//! Image files as a model's input: decoded, made grayscale, resized, inverted to MNIST's light
//! strokes on a dark ground.

use std::path::Path;

use image::imageops::FilterType;
use image::{GrayImage, ImageFormat};
use nn_train::{Result, TrainError};

/// The largest image file `predict` reads.
pub const MAX_IMAGE_FILE_BYTES: u64 = 64 << 20;
/// The largest width or height `predict` decodes.
const MAX_SIDE: u32 = 16_384;

/// Reads a PNG, JPEG or PGM/PPM file as `rows` x `cols` gray pixels (0 black, 255 white), in
/// row-major order: resized with a triangle filter and, when `invert` is on and the image's
/// border is lighter than mid-gray (dark ink on light paper), inverted to MNIST's light digits
/// on black.
///
/// # Errors
/// A file that cannot be read, is not an image of those formats, or is too large.
pub fn read_image(path: &Path, rows: usize, cols: usize, invert: bool) -> Result<Vec<u8>> {
    let bad = |reason: String| TrainError::BadFile {
        path: path.to_path_buf(),
        reason,
    };
    let bytes = crate::read_bounded(
        path,
        MAX_IMAGE_FILE_BYTES,
        "an image file",
        "a PNG, JPEG or PGM file",
    )?;
    let format = image::guess_format(&bytes)
        .ok()
        .filter(|f| matches!(f, ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::Pnm))
        .ok_or_else(|| bad("not a PNG, JPEG or PGM/PPM image".into()))?;
    let mut reader = image::io::Reader::with_format(std::io::Cursor::new(&bytes), format);
    let mut limits = image::io::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    reader.limits(limits);
    let decoded = reader
        .decode()
        .map_err(|e| bad(format!("cannot decode the image: {e}")))?;
    let (w, h) = (u32::try_from(cols), u32::try_from(rows));
    let (Ok(w), Ok(h)) = (w, h) else {
        return Err(bad("the model's input is too large".into()));
    };
    let gray: GrayImage = decoded.to_luma8();
    let mut small = if gray.dimensions() == (w, h) {
        gray
    } else {
        image::imageops::resize(&gray, w, h, FilterType::Triangle)
    };
    if invert && border_mean(&small) > 127.5 {
        image::imageops::invert(&mut small);
    }
    Ok(small.into_raw())
}

/// The mean of an image's outermost pixels.
fn border_mean(img: &GrayImage) -> f64 {
    let (w, h) = img.dimensions();
    let (mut sum, mut n) = (0.0, 0.0);
    for (x, y, p) in img.enumerate_pixels() {
        if x == 0 || y == 0 || x + 1 == w || y + 1 == h {
            sum += f64::from(p.0[0]);
            n += 1.0;
        }
    }
    sum / f64::max(n, 1.0)
}
