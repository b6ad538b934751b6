//! The per-epoch progress bar.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

/// How `fit` reports progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// A live bar per epoch (epoch, batches, elapsed and ETA, it/s, running loss and accuracy),
    /// drawn on stderr when it is a terminal; nothing otherwise.
    Bar,
    /// No bar.
    Quiet,
}

/// A bar for one epoch, or a hidden one.
pub(crate) fn epoch_bar(
    progress: Progress,
    epoch: usize,
    epochs: usize,
    batches: usize,
) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(
        Some(batches as u64),
        match progress {
            Progress::Bar => ProgressDrawTarget::stderr(),
            Progress::Quiet => ProgressDrawTarget::hidden(),
        },
    );
    let style = ProgressStyle::with_template(
        "epoch {prefix} [{bar:30.cyan/blue}] {pos}/{len} [{elapsed_precise}<{eta_precise}, {rate}] {msg}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .with_key("rate", |state: &ProgressState, w: &mut dyn std::fmt::Write| {
        let _ = write!(w, "{:.1} it/s", state.per_sec());
    })
    .progress_chars("=> ");
    bar.set_style(style);
    bar.set_prefix(format!("{epoch}/{epochs}"));
    bar
}
