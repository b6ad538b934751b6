//! Loss and accuracy curves, to SVG and PNG, and what the other pictures share: the bundled
//! font and atomic drawing to PNG or SVG by extension.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::{Result, TrainError};
use crate::history::History;
use nn_atomic_write::write_atomically_with;

/// The font the PNG text is drawn with, shipped with the crate (DejaVu Sans, Bitstream Vera
/// licence, see `assets/DejaVuSans-LICENSE.txt`), so that plots need no system fonts.
static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

pub(crate) const FAMILY: &str = "sans-serif";

fn register_font() -> std::result::Result<(), String> {
    plotters::style::register_font(FAMILY, FontStyle::Normal, FONT)
        .map_err(|_| "cannot load the bundled font".to_string())
}

/// A picture that can be drawn on any plotters backend.
pub(crate) trait Picture {
    /// Draws the picture on `root`.
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> std::result::Result<(), String>;
}

/// Draws `picture` to `path` as PNG or SVG by its extension, `size` pixels, atomically.
pub(crate) fn save_picture(picture: &impl Picture, path: &Path, size: (u32, u32)) -> Result<()> {
    let fail = |reason: String| TrainError::Plot {
        path: path.to_path_buf(),
        reason,
    };
    let svg = match path.extension().and_then(|e| e.to_str()) {
        Some(e) if e.eq_ignore_ascii_case("svg") => true,
        Some(e) if e.eq_ignore_ascii_case("png") => false,
        _ => return Err(fail("give a file name ending in .png or .svg".into())),
    };
    register_font().map_err(fail)?;
    write_atomically_with(path, |_, tmp| {
        let result = if svg {
            render_picture(picture, SVGBackend::new(tmp, size))
        } else {
            render_picture(picture, BitMapBackend::new(tmp, size))
        };
        drawn(path, tmp, result)
    })?;
    Ok(())
}

fn render_picture<DB: DrawingBackend>(
    picture: &impl Picture,
    backend: DB,
) -> std::result::Result<(), String> {
    let root = backend.into_drawing_area();
    picture.draw(&root)?;
    root.present().map_err(|e| e.to_string())
}

/// Checks a picture drawn by a backend into `tmp` (for `target`): no drawing error, and a file
/// that holds something.
fn drawn(
    target: &Path,
    tmp: &Path,
    result: std::result::Result<(), String>,
) -> std::io::Result<()> {
    result
        .map_err(|reason| std::io::Error::other(format!("plot {}: {reason}", target.display())))?;
    // The backend wrote `tmp` through its own handle; it must hold the whole picture.
    if std::fs::metadata(tmp)?.len() == 0 {
        return Err(std::io::Error::other("the plotting backend wrote nothing"));
    }
    Ok(())
}

/// Draws the training curves of `history` to `<stem>.svg` and `<stem>.png` (`path` may end in
/// either, or have no extension), returning the two paths.
///
/// Two panels: loss and accuracy, each with the per-batch values (faint), their centred moving
/// average over 2 % of the batches (at least 5), and the per-epoch training and validation
/// values.
///
/// # Errors
/// An empty history or a file that cannot be written.
pub fn plot_history(history: &History, path: &Path) -> Result<[PathBuf; 2]> {
    let svg = path.with_extension("svg");
    let png = path.with_extension("png");
    if history.batches.is_empty() {
        return Err(TrainError::Plot {
            path: path.to_path_buf(),
            reason: "nothing to plot: the history is empty".into(),
        });
    }
    fn fail(p: &Path) -> impl Fn(String) -> TrainError + '_ {
        move |e| TrainError::Plot {
            path: p.to_path_buf(),
            reason: e,
        }
    }
    register_font().map_err(fail(&png))?;
    // Each picture is drawn to a temporary file and renamed into place, like every file written
    // here: an earlier picture is never half overwritten.
    let curves = Curves(history);
    save_picture(&curves, &svg, SIZE)?;
    save_picture(&curves, &png, SIZE)?;
    Ok([svg, png])
}

/// The training curves of a history, as a [`Picture`].
struct Curves<'a>(&'a History);

impl Picture for Curves<'_> {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> std::result::Result<(), String> {
        draw(self.0, root)
    }
}

/// The pictures' size in pixels.
const SIZE: (u32, u32) = (1200, 500);

fn draw<DB: DrawingBackend>(
    history: &History,
    root: &DrawingArea<DB, Shift>,
) -> std::result::Result<(), String> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    root.fill(&WHITE).map_err(err)?;
    let panels = root.split_evenly((1, 2));
    let n = history.batches.len();
    let batches_per_epoch = n as f64 / history.epochs.len().max(1) as f64;
    let window = (n / 50).max(5);

    let loss: Vec<f32> = history.batches.iter().map(|b| b.loss).collect();
    let acc: Vec<f32> = history.batches.iter().map(|b| b.accuracy).collect();
    let epoch_x = |e: usize| e as f64 * batches_per_epoch;
    let series = [
        Curve {
            title: "Loss",
            y_label: "cross-entropy loss",
            legend: SeriesLabelPosition::UpperRight,
            raw: loss,
            smooth: history.smoothed_batch_loss(window),
            train: history
                .epochs
                .iter()
                .map(|e| (epoch_x(e.epoch), e.train_loss))
                .collect(),
            val: history
                .epochs
                .iter()
                .filter_map(|e| e.val_loss.map(|v| (epoch_x(e.epoch), v)))
                .collect(),
        },
        Curve {
            title: "Accuracy",
            y_label: "accuracy",
            legend: SeriesLabelPosition::LowerRight,
            raw: acc,
            smooth: history.smoothed_batch_accuracy(window),
            train: history
                .epochs
                .iter()
                .map(|e| (epoch_x(e.epoch), e.train_accuracy))
                .collect(),
            val: history
                .epochs
                .iter()
                .filter_map(|e| e.val_accuracy.map(|v| (epoch_x(e.epoch), v)))
                .collect(),
        },
    ];
    for (panel, curve) in panels.iter().zip(series) {
        curve
            .draw(panel, n, batches_per_epoch, window)
            .map_err(err)?;
    }
    Ok(())
}

struct Curve {
    title: &'static str,
    y_label: &'static str,
    legend: SeriesLabelPosition,
    raw: Vec<f32>,
    smooth: Vec<f32>,
    train: Vec<(f64, f32)>,
    val: Vec<(f64, f32)>,
}

impl Curve {
    fn draw<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        n: usize,
        batches_per_epoch: f64,
        window: usize,
    ) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        let values = self
            .raw
            .iter()
            .chain(self.train.iter().map(|p| &p.1))
            .chain(self.val.iter().map(|p| &p.1));
        let (lo, hi) = values.fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
        let pad = ((hi - lo) * 0.05).max(1e-3);
        let mut chart = ChartBuilder::on(area)
            .caption(self.title, (FAMILY, 24))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..n as f64, f64::from(lo - pad)..f64::from(hi + pad))?;
        chart
            .configure_mesh()
            .x_desc(format!("batch ({batches_per_epoch:.0} per epoch)"))
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_desc(self.y_label)
            .label_style((FAMILY, 14))
            .axis_desc_style((FAMILY, 16))
            .light_line_style(WHITE.mix(0.0))
            .draw()?;
        let raw_color = RGBColor(120, 160, 220).mix(0.35);
        chart
            .draw_series(LineSeries::new(
                self.raw
                    .iter()
                    .enumerate()
                    .map(|(i, &v)| (i as f64, f64::from(v))),
                raw_color,
            ))?
            .label("per batch")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], raw_color));
        chart
            .draw_series(LineSeries::new(
                self.smooth
                    .iter()
                    .enumerate()
                    .map(|(i, &v)| (i as f64, f64::from(v))),
                BLUE.stroke_width(2),
            ))?
            .label(format!("per batch, mean of {window}"))
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE.stroke_width(2)));
        let marks = |points: &[(f64, f32)], color: RGBColor| {
            points
                .iter()
                .map(move |&(x, y)| Circle::new((x, f64::from(y)), 5, color.filled()))
                .collect::<Vec<_>>()
        };
        chart
            .draw_series(LineSeries::new(
                self.train.iter().map(|&(x, y)| (x, f64::from(y))),
                BLACK.stroke_width(2),
            ))?
            .label("train, per epoch")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK.stroke_width(2)));
        chart.draw_series(marks(&self.train, BLACK))?;
        if !self.val.is_empty() {
            chart
                .draw_series(LineSeries::new(
                    self.val.iter().map(|&(x, y)| (x, f64::from(y))),
                    RED.stroke_width(2),
                ))?
                .label("test, per epoch")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED.stroke_width(2)));
            chart.draw_series(marks(&self.val, RED))?;
        }
        chart
            .configure_series_labels()
            .label_font((FAMILY, 14))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .position(self.legend.clone())
            .draw()?;
        Ok(())
    }
}
