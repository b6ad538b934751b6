//! `--schedule`: a learning-rate schedule on the command line.

use nn_optim::Schedule;

/// A schedule as given on the command line, before the run's length is known.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ScheduleArg {
    /// The learning rate throughout.
    Constant,
    /// `step:EPOCHS:GAMMA`: times GAMMA every EPOCHS epochs (PyTorch's `StepLR`).
    Step {
        /// Epochs between decays.
        epochs: u64,
        /// Factor per decay.
        gamma: f32,
    },
    /// `cosine`: down to 0 along a half cosine over the whole run, every batch
    /// (`CosineAnnealingLR(T_max = all steps)`).
    Cosine,
    /// `one-cycle`: up from lr/25 to lr over the first 30 % of the steps, then down to
    /// lr/250 000, every batch (`OneCycleLR` with its defaults).
    OneCycle,
}

/// Parses `--schedule`: `constant`, `step:EPOCHS:GAMMA`, `cosine` or `one-cycle`.
///
/// # Errors
/// Anything else (clap's message).
pub fn parse_schedule(s: &str) -> std::result::Result<ScheduleArg, String> {
    const FORMS: &str = "constant, step:EPOCHS:GAMMA (e.g. step:5:0.5), cosine or one-cycle";
    match s {
        "constant" => return Ok(ScheduleArg::Constant),
        "cosine" => return Ok(ScheduleArg::Cosine),
        "one-cycle" => return Ok(ScheduleArg::OneCycle),
        _ => {}
    }
    let parts: Vec<&str> = s.split(':').collect();
    if let ["step", epochs, gamma] = parts[..] {
        let epochs: u64 = epochs
            .parse()
            .ok()
            .filter(|&e| e >= 1)
            .ok_or_else(|| format!("step: EPOCHS must be a whole number >= 1, got {epochs}"))?;
        let gamma: f32 = gamma
            .parse()
            .ok()
            .filter(|g: &f32| g.is_finite() && *g > 0.0)
            .ok_or_else(|| format!("step: GAMMA must be a number > 0, got {gamma}"))?;
        return Ok(ScheduleArg::Step { epochs, gamma });
    }
    Err(format!("expected {FORMS}"))
}

impl ScheduleArg {
    /// The schedule for a run of `epochs` epochs of `batches` batches, and whether it steps per
    /// batch (else per epoch); `None` for a constant rate.
    pub fn schedule(self, epochs: usize, batches: usize) -> Option<(Schedule, bool)> {
        let steps = (epochs as u64).saturating_mul(batches as u64).max(2);
        match self {
            Self::Constant => None,
            Self::Step { epochs, gamma } => Some((
                Schedule::Step {
                    step_size: epochs,
                    gamma,
                },
                false,
            )),
            Self::Cosine => Some((
                Schedule::Cosine {
                    t_max: steps,
                    eta_min: 0.0,
                },
                true,
            )),
            Self::OneCycle => Some((
                Schedule::OneCycle {
                    total: steps,
                    pct_start: 0.3,
                    div: 25.0,
                    final_div: 1e4,
                },
                true,
            )),
        }
    }
}
