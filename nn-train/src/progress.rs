//! The per-epoch progress bar (feature `progress`, on by default; without it nothing is drawn).

/// How `fit` reports progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// A live bar per epoch (epoch, batches, elapsed and ETA, it/s, running loss and accuracy),
    /// drawn on stderr when it is a terminal; nothing otherwise, or without the `progress`
    /// feature.
    Bar,
    /// No bar.
    Quiet,
}

/// One epoch's bar, or nothing.
pub(crate) struct EpochBar {
    #[cfg(feature = "progress")]
    bar: indicatif::ProgressBar,
}

impl EpochBar {
    /// A bar for epoch `epoch` of `epochs`, over `batches` batches (hidden for
    /// [`Progress::Quiet`]).
    #[cfg_attr(not(feature = "progress"), allow(unused_variables))]
    pub(crate) fn new(progress: Progress, epoch: usize, epochs: usize, batches: usize) -> Self {
        #[cfg(feature = "progress")]
        {
            use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
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
            Self { bar }
        }
        #[cfg(not(feature = "progress"))]
        Self {}
    }

    /// One more batch done.
    pub(crate) fn inc(&self) {
        #[cfg(feature = "progress")]
        self.bar.inc(1);
    }

    /// Shows the running figures; `message` is only called when there is a bar to show it.
    #[cfg_attr(not(feature = "progress"), allow(unused_variables))]
    pub(crate) fn set_message(&self, message: impl FnOnce() -> String) {
        #[cfg(feature = "progress")]
        self.bar.set_message(message());
    }

    /// Leaves the bar where it stopped (an error ends the epoch).
    pub(crate) fn abandon(&self) {
        #[cfg(feature = "progress")]
        self.bar.abandon();
    }

    /// Removes the bar at the end of the epoch.
    pub(crate) fn finish(&self) {
        #[cfg(feature = "progress")]
        self.bar.finish_and_clear();
    }
}
