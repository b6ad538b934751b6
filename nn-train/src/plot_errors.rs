//! The misclassified images as a grid of pictures.

use std::path::Path;

use nn_data::Dataset;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::classify::Classification;
use crate::error::{Result, TrainError};
use crate::plot::{FAMILY, Picture, save_picture};

/// The most images [`plot_errors`] draws.
pub const MAX_ERROR_IMAGES: usize = 64;
/// Images per row of the grid.
const COLUMNS: usize = 8;
/// Pixels of the longer side of each image as drawn.
const IMAGE: usize = 112;
/// Room around each image for its caption.
const CELL_W: i32 = 150;
const CAPTION: i32 = 44;
const TITLE: i32 = 44;

/// Draws up to [`MAX_ERROR_IMAGES`] misclassified images of `data` to `path` (`.png` or
/// `.svg`), the most confidently wrong first, each captioned with its index in the set, its
/// true class, the predicted class and the probability the model gave that prediction.
/// `names` are the classes' names (indices where missing). Returns how many were drawn (0 when
/// nothing was misclassified: the picture then says so).
///
/// # Errors
/// A classification of another set, another extension, or a file that cannot be written.
pub fn plot_errors(
    data: &Dataset,
    classification: &Classification,
    names: &[String],
    path: &Path,
) -> Result<usize> {
    if classification.predicted.len() != data.len() {
        return Err(TrainError::InvalidArgument(format!(
            "{} predictions for a set of {} images",
            classification.predicted.len(),
            data.len()
        )));
    }
    let mut wrong = classification.mistakes(data.labels());
    let confidence = |i: usize| classification.probabilities[[i, classification.predicted[i]]];
    wrong.sort_by(|&a, &b| confidence(b).total_cmp(&confidence(a)));
    wrong.truncate(MAX_ERROR_IMAGES);
    let rows = wrong.len().div_ceil(COLUMNS).max(1) as i32;
    let size = (
        (COLUMNS as i32 * CELL_W) as u32,
        (TITLE + rows * (IMAGE as i32 + CAPTION)) as u32,
    );
    let grid = Grid {
        data,
        classification,
        names,
        shown: &wrong,
    };
    save_picture(&grid, path, size)?;
    Ok(wrong.len())
}

struct Grid<'a> {
    data: &'a Dataset,
    classification: &'a Classification,
    names: &'a [String],
    shown: &'a [usize],
}

impl Picture for Grid<'_> {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> std::result::Result<(), String> {
        let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
        let name = |c: usize| self.names.get(c).cloned().unwrap_or_else(|| c.to_string());
        let centred = |size: i32| {
            TextStyle::from((FAMILY, size).into_font()).pos(Pos::new(HPos::Center, VPos::Center))
        };
        root.fill(&WHITE).map_err(err)?;
        let total = self.classification.mistakes(self.data.labels()).len();
        let title = if total == 0 {
            "No image was misclassified".to_string()
        } else {
            format!(
                "Misclassified: {} of {} images, the {} most confident shown (true -> predicted, probability)",
                total,
                self.data.len(),
                self.shown.len()
            )
        };
        let width = COLUMNS as i32 * CELL_W;
        root.draw(&Text::new(title, (width / 2, TITLE / 2), centred(16)))
            .map_err(err)?;
        let [rows, cols] = self.data.image_size();
        let scale = (IMAGE / rows.max(cols).max(1)).max(1) as i32;
        for (k, &i) in self.shown.iter().enumerate() {
            let (gx, gy) = ((k % COLUMNS) as i32, (k / COLUMNS) as i32);
            let x0 = gx * CELL_W + (CELL_W - cols as i32 * scale) / 2;
            let y0 = TITLE + gy * (IMAGE as i32 + CAPTION);
            let pixels = self.data.image(i).unwrap_or(&[]);
            for (p, &v) in pixels.iter().enumerate() {
                let (r, c) = ((p / cols) as i32, (p % cols) as i32);
                let (x, y) = (x0 + c * scale, y0 + r * scale);
                root.draw(&Rectangle::new(
                    [(x, y), (x + scale, y + scale)],
                    RGBColor(v, v, v).filled(),
                ))
                .map_err(err)?;
            }
            let truth = usize::from(self.data.labels()[i]);
            let predicted = self.classification.predicted[i];
            let probability = self.classification.probabilities[[i, predicted]];
            let cx = gx * CELL_W + CELL_W / 2;
            let line1 = format!("#{i}: {} -> {}", name(truth), name(predicted));
            let line2 = format!("p = {probability:.2}");
            let y = y0 + rows as i32 * scale;
            root.draw(&Text::new(line1, (cx, y + 13), centred(14)))
                .map_err(err)?;
            root.draw(&Text::new(
                line2,
                (cx, y + 31),
                centred(13).color(&RGBColor(180, 30, 30)),
            ))
            .map_err(err)?;
        }
        Ok(())
    }
}
