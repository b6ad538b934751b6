//! Learning-rate schedules.

use serde::{Deserialize, Serialize};

use crate::error::{Result, check};
use crate::optimizer::Optimizer;

/// A learning rate as a function of the epoch (or step) count `t` and the base rate.
///
/// Each is the closed form of its PyTorch counterpart, so a schedule is a pure function of `t`:
/// nothing to replay on resume, and the whole state is this value plus `t`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Schedule {
    /// The base rate throughout. PyTorch: no scheduler.
    Constant,
    /// `base · γ^⌊t / step_size⌋`. PyTorch: `StepLR(step_size, gamma)`.
    Step {
        /// Epochs between decays.
        step_size: u64,
        /// Factor per decay.
        gamma: f32,
    },
    /// `base · γ^t`. PyTorch: `ExponentialLR(gamma)`.
    Exponential {
        /// Factor per epoch.
        gamma: f32,
    },
    /// `η_min + (base - η_min) · (1 + cos(π · t / t_max)) / 2`, constant at η_min after
    /// `t_max`. PyTorch: `CosineAnnealingLR(T_max, eta_min)`.
    Cosine {
        /// Epochs to anneal over.
        t_max: u64,
        /// The final rate.
        eta_min: f32,
    },
    /// Linear warm-up from `base · start_factor` to `base` over `steps`, then `then` (with its
    /// `t` counted from the end of the warm-up). PyTorch: `SequentialLR([LinearLR(start_factor,
    /// 1.0, steps), then], milestones=[steps])`.
    Warmup {
        /// Length of the warm-up.
        steps: u64,
        /// Fraction of the base rate at t = 0.
        start_factor: f32,
        /// The schedule after the warm-up. Warm-ups nest at most [`MAX_SCHEDULE_NESTING`] deep.
        #[serde(deserialize_with = "nested")]
        then: Box<Schedule>,
    },
    /// The one-cycle policy over `total` steps: from `base / div` up to `base` along a half
    /// cosine for the first `pct_start` of the steps, then down to `base / (div · final_div)`
    /// along a half cosine; constant at that rate after `total`. PyTorch:
    /// `OneCycleLR(max_lr=base, total_steps, pct_start, anneal_strategy='cos', div_factor,
    /// final_div_factor, cycle_momentum=False)`.
    OneCycle {
        /// Steps in the whole cycle.
        total: u64,
        /// Fraction of the steps spent rising (PyTorch's default 0.3).
        pct_start: f32,
        /// `base / div` is the first rate (PyTorch's default 25).
        div: f32,
        /// `base / (div · final_div)` is the last rate (PyTorch's default 10⁴).
        final_div: f32,
    },
}

/// How deep [`Schedule::Warmup`]s may nest, in a value and in a file.
pub const MAX_SCHEDULE_NESTING: usize = 8;

thread_local! {
    /// Warm-ups being decoded on this thread, so that decoding a file stops at [`MAX_SCHEDULE_NESTING`]
    /// instead of recursing until the stack overflows.
    static DECODING_DEPTH: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Decodes the schedule after a warm-up, refusing to nest deeper than [`MAX_SCHEDULE_NESTING`].
fn nested<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Box<Schedule>, D::Error> {
    let depth = DECODING_DEPTH.with(std::cell::Cell::get);
    if depth >= MAX_SCHEDULE_NESTING {
        return Err(serde::de::Error::custom(format!(
            "warm-up schedules nest more than {MAX_SCHEDULE_NESTING} deep"
        )));
    }
    DECODING_DEPTH.with(|c| c.set(depth + 1));
    let schedule = Schedule::deserialize(d);
    DECODING_DEPTH.with(|c| c.set(depth));
    schedule.map(Box::new)
}

impl Schedule {
    /// Checks the schedule's parameters.
    ///
    /// # Errors
    /// Warm-ups nested deeper than [`MAX_SCHEDULE_NESTING`], a zero step size or t_max, a non-positive or non-finite γ, a negative η_min, or a
    /// start factor outside (0, 1].
    pub fn validate(&self) -> Result<()> {
        const NAME: &str = "Schedule";
        let mut depth = 0;
        let mut inner = self;
        while let Self::Warmup { then, .. } = inner {
            depth += 1;
            inner = then;
        }
        check(
            NAME,
            "warm-up nesting",
            depth as f32,
            "at most 8 (MAX_SCHEDULE_NESTING)",
            depth <= MAX_SCHEDULE_NESTING,
        )?;
        match self {
            Self::Constant => Ok(()),
            Self::Step { step_size, gamma } => {
                check(
                    NAME,
                    "step_size",
                    *step_size as f32,
                    "at least 1",
                    *step_size >= 1,
                )?;
                check(
                    NAME,
                    "gamma",
                    *gamma,
                    "a finite number > 0",
                    gamma.is_finite() && *gamma > 0.0,
                )
            }
            Self::Exponential { gamma } => check(
                NAME,
                "gamma",
                *gamma,
                "a finite number > 0",
                gamma.is_finite() && *gamma > 0.0,
            ),
            Self::Cosine { t_max, eta_min } => {
                check(NAME, "t_max", *t_max as f32, "at least 1", *t_max >= 1)?;
                check(
                    NAME,
                    "eta_min",
                    *eta_min,
                    "a finite number >= 0",
                    eta_min.is_finite() && *eta_min >= 0.0,
                )
            }
            Self::OneCycle {
                total,
                pct_start,
                div,
                final_div,
            } => {
                check(NAME, "total", *total as f32, "at least 2", *total >= 2)?;
                check(
                    NAME,
                    "pct_start",
                    *pct_start,
                    "a number in (0, 1)",
                    *pct_start > 0.0 && *pct_start < 1.0,
                )?;
                check(
                    NAME,
                    "div",
                    *div,
                    "a finite number >= 1",
                    div.is_finite() && *div >= 1.0,
                )?;
                check(
                    NAME,
                    "final_div",
                    *final_div,
                    "a finite number >= 1",
                    final_div.is_finite() && *final_div >= 1.0,
                )
            }
            Self::Warmup {
                start_factor, then, ..
            } => {
                check(
                    NAME,
                    "start_factor",
                    *start_factor,
                    "a number in (0, 1]",
                    *start_factor > 0.0 && *start_factor <= 1.0,
                )?;
                then.validate()
            }
        }
    }

    /// The learning rate at `t` for base rate `base`.
    ///
    /// ```
    /// use nn_optim::Schedule;
    /// let s = Schedule::Step { step_size: 2, gamma: 0.5 };
    /// assert_eq!([0, 1, 2, 3, 4].map(|t| s.lr_at(1.0, t)), [1.0, 1.0, 0.5, 0.5, 0.25]);
    /// let w = Schedule::Warmup { steps: 4, start_factor: 0.25, then: Box::new(Schedule::Constant) };
    /// assert_eq!([0, 2, 4, 9].map(|t| w.lr_at(1.0, t)), [0.25, 0.625, 1.0, 1.0]);
    /// ```
    pub fn lr_at(&self, base: f32, t: u64) -> f32 {
        let (base64, t64) = (f64::from(base), t as f64);
        let lr = match self {
            Self::Constant => base64,
            Self::Step { step_size, gamma } => {
                base64
                    * f64::from(*gamma)
                        .powi(i32::try_from(t / (*step_size).max(1)).unwrap_or(i32::MAX))
            }
            Self::Exponential { gamma } => base64 * f64::from(*gamma).powf(t64),
            Self::Cosine { t_max, eta_min } => {
                let eta = f64::from(*eta_min);
                let frac = (t64 / (*t_max).max(1) as f64).min(1.0);
                eta + (base64 - eta) * (1.0 + (std::f64::consts::PI * frac).cos()) / 2.0
            }
            Self::Warmup {
                steps,
                start_factor,
                then,
            } => {
                if t < *steps {
                    let s = f64::from(*start_factor);
                    base64 * (s + (1.0 - s) * t64 / *steps as f64)
                } else {
                    f64::from(then.lr_at(base, t - steps))
                }
            }
            Self::OneCycle {
                total,
                pct_start,
                div,
                final_div,
            } => one_cycle(
                base64,
                t,
                *total,
                f64::from(*pct_start),
                f64::from(*div),
                f64::from(*final_div),
            ),
        };
        lr as f32
    }
}

/// [`Schedule::OneCycle`]'s rate, as PyTorch's `OneCycleLR` computes it: the phase ends at
/// steps `pct_start · total - 1` and `total - 1`, each phase a cosine between its two rates.
fn one_cycle(base: f64, t: u64, total: u64, pct_start: f64, div: f64, final_div: f64) -> f64 {
    let initial = base / div;
    let last = initial / final_div;
    let rise_end = pct_start * total as f64 - 1.0;
    let end = total as f64 - 1.0;
    let t = (t as f64).min(end);
    let cos = |from: f64, to: f64, frac: f64| {
        to + (from - to) * (1.0 + (std::f64::consts::PI * frac).cos()) / 2.0
    };
    if t <= rise_end {
        cos(initial, base, t / rise_end.max(f64::MIN_POSITIVE))
    } else {
        cos(base, last, (t - rise_end) / (end - rise_end))
    }
}

/// A [`Schedule`] driving an optimizer's learning rate: call [`Scheduler::step`] once per epoch
/// (or per batch, for step-wise schedules). Serialisable, to be saved beside the optimizer state.
///
/// ```
/// use nn_optim::{Adam, Optimizer, Schedule, Scheduler};
/// let mut opt = Adam::new(0.1).unwrap();
/// let mut sched = Scheduler::new(Schedule::Exponential { gamma: 0.5 }, opt.lr()).unwrap();
/// sched.step(&mut opt).unwrap();
/// assert_eq!(opt.lr(), 0.05);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scheduler {
    /// The schedule.
    pub schedule: Schedule,
    /// The base learning rate.
    pub base_lr: f32,
    /// Steps taken so far.
    pub t: u64,
}

impl Scheduler {
    /// A scheduler at t = 0 for base rate `base_lr`.
    ///
    /// # Errors
    /// An invalid schedule or base rate.
    pub fn new(schedule: Schedule, base_lr: f32) -> Result<Self> {
        schedule.validate()?;
        crate::error::check_lr("Scheduler", base_lr)?;
        Ok(Self {
            schedule,
            base_lr,
            t: 0,
        })
    }

    /// The rate at the current t.
    pub fn lr(&self) -> f32 {
        self.schedule.lr_at(self.base_lr, self.t)
    }

    /// Advances t by one and sets the optimizer's rate.
    ///
    /// # Errors
    /// A rate the optimizer refuses (never for a validated schedule).
    pub fn step(&mut self, optimizer: &mut dyn Optimizer) -> Result<()> {
        self.t = self.t.saturating_add(1);
        optimizer.set_lr(self.lr())
    }
}
