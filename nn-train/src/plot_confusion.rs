//! The confusion matrix as a heatmap with counts.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::classify::ConfusionMatrix;
use crate::error::Result;
use crate::plot::{FAMILY, Picture, save_picture};

/// Pixels per cell of the heatmap.
const CELL: i32 = 56;
/// Room for the row names (left), column names (top) and accuracies (right).
const LEFT: i32 = 150;
const TOP: i32 = 110;
const RIGHT: i32 = 110;
const BOTTOM: i32 = 30;

/// Draws `matrix` to `path` (`.png` or `.svg`) as a heatmap: a row per true class, a column per
/// predicted class, each cell's count written in it and its shade the fraction of the row's
/// images (so a rare class is as legible as a common one), with each class's accuracy at the
/// end of its row. `names` are the classes' names (indices where missing).
///
/// # Errors
/// Another extension, or a file that cannot be written.
pub fn plot_confusion(matrix: &ConfusionMatrix, names: &[String], path: &Path) -> Result<()> {
    let n = matrix.classes() as i32;
    let size = (
        (LEFT + n * CELL + RIGHT) as u32,
        (TOP + n * CELL + BOTTOM) as u32,
    );
    save_picture(&Heatmap { matrix, names }, path, size)
}

struct Heatmap<'a> {
    matrix: &'a ConfusionMatrix,
    names: &'a [String],
}

impl Picture for Heatmap<'_> {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> std::result::Result<(), String> {
        let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
        let m = self.matrix;
        let n = m.classes();
        let name = |c: usize| self.names.get(c).cloned().unwrap_or_else(|| c.to_string());
        let centred = |size: i32| {
            TextStyle::from((FAMILY, size).into_font()).pos(Pos::new(HPos::Center, VPos::Center))
        };
        root.fill(&WHITE).map_err(err)?;
        let width = n as i32 * CELL;
        root.draw(&Text::new(
            "Confusion matrix: rows are the true class, columns the predicted one",
            (LEFT + width / 2, 22),
            centred(18),
        ))
        .map_err(err)?;
        root.draw(&Text::new("predicted", (LEFT + width / 2, 52), centred(15)))
            .map_err(err)?;
        root.draw(&Text::new(
            "accuracy",
            (LEFT + width + RIGHT / 2, TOP - 20),
            centred(15),
        ))
        .map_err(err)?;
        let corner =
            TextStyle::from((FAMILY, 15).into_font()).pos(Pos::new(HPos::Right, VPos::Center));
        root.draw(&Text::new("true", (LEFT - 10, TOP - 20), corner))
            .map_err(err)?;
        for c in 0..n {
            let x = LEFT + c as i32 * CELL + CELL / 2;
            let y = TOP + c as i32 * CELL + CELL / 2;
            root.draw(&Text::new(name(c), (x, TOP - 20), centred(14)))
                .map_err(err)?;
            let right_aligned =
                TextStyle::from((FAMILY, 14).into_font()).pos(Pos::new(HPos::Right, VPos::Center));
            root.draw(&Text::new(name(c), (LEFT - 10, y), right_aligned))
                .map_err(err)?;
        }
        for (t, acc) in m.per_class_accuracy().into_iter().enumerate() {
            let support = m.support(t).max(1) as f64;
            for p in 0..n {
                let count = m.count(t, p);
                let share = count as f64 / support;
                // White to dark blue by the share of the row; the diagonal in blue, the
                // mistakes in red, so that confusions stand out.
                let strength = if count == 0 {
                    0.0
                } else {
                    0.12 + 0.88 * share.sqrt()
                };
                let base = if t == p { (30, 80, 200) } else { (210, 40, 40) };
                let mix = |c: u8| (255.0 - (255.0 - f64::from(c)) * strength) as u8;
                let color = RGBColor(mix(base.0), mix(base.1), mix(base.2));
                let (x0, y0) = (LEFT + p as i32 * CELL, TOP + t as i32 * CELL);
                root.draw(&Rectangle::new(
                    [(x0, y0), (x0 + CELL, y0 + CELL)],
                    color.filled(),
                ))
                .map_err(err)?;
                root.draw(&Rectangle::new(
                    [(x0, y0), (x0 + CELL, y0 + CELL)],
                    RGBColor(200, 200, 200),
                ))
                .map_err(err)?;
                if count > 0 {
                    let ink = if strength > 0.6 { WHITE } else { BLACK };
                    let style = centred(14).color(&ink);
                    root.draw(&Text::new(
                        count.to_string(),
                        (x0 + CELL / 2, y0 + CELL / 2),
                        style,
                    ))
                    .map_err(err)?;
                }
            }
            let text = acc.map_or_else(|| "-".into(), |a| format!("{:.1} %", a * 100.0));
            let y = TOP + t as i32 * CELL + CELL / 2;
            root.draw(&Text::new(text, (LEFT + width + RIGHT / 2, y), centred(14)))
                .map_err(err)?;
        }
        Ok(())
    }
}
