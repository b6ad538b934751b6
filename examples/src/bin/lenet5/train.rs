//! `lenet5 train`: the checks before any work, the model (new or resumed), the run and its reports.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use examples::classes::class_names;
use examples::schedule_arg::ScheduleArg;
use examples::{AnyError, UsageError, epoch_line, inference_rate, say, single_image_latency_us};
use nn_data::{Dataset, Split};
use nn_layers::{NetworkSpec, models};
use nn_train::{
    Classification, ConfusionMatrix, FitConfig, LossKind, MetricsLog, Model, OptimizerSpec,
    Progress, Recipe, Result, TrainError, plot_confusion, plot_errors, plot_history,
};

use crate::args::*;
use crate::*;

/// The files `train` writes, by flag; `--plot FILE` writes FILE's `.svg` and `.png`.
fn train_outputs(args: &TrainArgs) -> Vec<(&'static str, PathBuf)> {
    let mut outputs = Vec::new();
    let single = [
        ("--save", &args.save),
        ("--checkpoint", &args.checkpoint),
        ("--log", &args.log),
        ("--confusion", &args.report.confusion),
        ("--errors", &args.report.errors),
    ];
    for (flag, p) in single {
        if let Some(p) = p {
            outputs.push((flag, p.clone()));
        }
    }
    if let Some(p) = &args.plot {
        outputs.push(("--plot", p.with_extension("svg")));
        outputs.push(("--plot", p.with_extension("png")));
    }
    outputs
}

/// Fails with a usage error when a picture's file does not end in .png or .svg, or the log's in
/// .csv or .jsonl.
pub(crate) fn check_extensions(
    report: &ReportArgs,
    log: Option<&Path>,
) -> std::result::Result<(), UsageError> {
    for (flag, p) in [
        ("--confusion", &report.confusion),
        ("--errors", &report.errors),
    ] {
        if let Some(p) = p {
            let ext = p
                .extension()
                .and_then(|e| e.to_str())
                .map(str::to_ascii_lowercase);
            if !matches!(ext.as_deref(), Some("png" | "svg")) {
                return Err(UsageError(format!(
                    "{flag} {}: give a file name ending in .png or .svg",
                    p.display()
                )));
            }
        }
    }
    if let Some(p) = log {
        nn_train::LogFormat::of(p).map_err(|e| UsageError(format!("--log {e}")))?;
    }
    Ok(())
}

/// Checks the command line before anything is loaded or trained: distinct, writable outputs,
/// and a resume that does not overwrite its own checkpoint with a model file.
fn check_train_args(args: &TrainArgs) -> std::result::Result<(), AnyError> {
    check_extensions(&args.report, args.log.as_deref())?;
    let outputs = train_outputs(args);
    let named: Vec<(&str, &Path)> = outputs.iter().map(|(f, p)| (*f, p.as_path())).collect();
    if let Some(resume) = &args.resume {
        // Continuing into the checkpoint one resumed from is the usual way; anything else that
        // overwrites it loses it.
        let others: Vec<(&str, &Path)> = named
            .iter()
            .filter(|(flag, _)| *flag != "--checkpoint")
            .copied()
            .chain([("--resume", resume.as_path())])
            .collect();
        distinct_outputs(&others)?;
    }
    distinct_outputs(&named)?;
    check_outputs(&named)?;
    Ok(())
}

/// The checkpoint of `--resume`, whose settings an explicit flag must not contradict.
fn resume_model(args: &TrainArgs, path: &Path) -> std::result::Result<Model, AnyError> {
    let net = match &args.net {
        Some(path) => Some(read_network_file(path)?),
        None => None,
    };
    let model = Model::load_checkpoint(path)?.with_eval_batch_size(args.eval_batch_size)?;
    let conflict = |flag: &str, given: String, stored: String| {
        UsageError(format!(
            "--{flag} {given} contradicts the checkpoint {} ({stored}); a resumed run \
             continues with the checkpoint's settings: drop --{flag}",
            path.display()
        ))
    };
    if net.is_some_and(|n| &n != model.spec()) {
        return Err(UsageError(format!(
            "--net describes another network than the checkpoint {}; a resumed run continues \
             the checkpoint's network: drop --net",
            path.display()
        ))
        .into());
    }
    if let Some(loss) = args.loss.map(LossKind::from).filter(|&l| l != model.loss()) {
        let stored = format!("loss {:?}", model.loss());
        return Err(conflict("loss", format!("{loss:?}"), stored).into());
    }
    let saved = model.optimizer_spec();
    if let Some(kind) = args.optimizer.filter(|&k| k != saved.kind) {
        let stored = format!("optimizer {}", saved.kind.name());
        return Err(conflict("optimizer", kind.name().into(), stored).into());
    }
    if let Some(lr) = args.lr.filter(|&lr| lr != saved.lr) {
        return Err(conflict("lr", lr.to_string(), format!("lr {}", saved.lr)).into());
    }
    if let Some(seed) = args.seed.filter(|&s| s != model.init_seed()) {
        let stored = format!("seed {}", model.init_seed());
        return Err(conflict("seed", seed.to_string(), stored).into());
    }
    check_recipe_flags(args, &model)
        .map_err(|(flag, given, stored)| conflict(flag, given, stored))?;
    say!(
        "resuming from {} after epoch {}",
        path.display(),
        model.epochs_done()
    );
    Ok(model)
}

/// The first recipe flag that contradicts `model`'s settings: (flag, given, stored).
fn check_recipe_flags(
    args: &TrainArgs,
    model: &Model,
) -> std::result::Result<(), (&'static str, String, String)> {
    let recipe = model.recipe();
    if let Some(wd) = args
        .weight_decay
        .filter(|&w| Some(w) != model.weight_decay())
    {
        let stored = model
            .weight_decay()
            .map_or("the optimizer's default".into(), |w| w.to_string());
        return Err((
            "weight-decay",
            wd.to_string(),
            format!("weight decay {stored}"),
        ));
    }
    if let Some(shift) = args
        .shift
        .filter(|&s| usize::from(s) != recipe.random_shift)
    {
        return Err((
            "shift",
            shift.to_string(),
            format!("shift {}", recipe.random_shift),
        ));
    }
    if let Some(n) = args.val_split.filter(|&n| n != recipe.validation_split) {
        return Err((
            "val-split",
            n.to_string(),
            format!("val-split {}", recipe.validation_split),
        ));
    }
    if args.keep_best && !recipe.keep_best {
        return Err(("keep-best", String::new(), "trained without it".into()));
    }
    if let Some(p) = args.patience.filter(|&p| Some(p) != recipe.patience) {
        return Err((
            "patience",
            p.to_string(),
            format!("patience {:?}", recipe.patience),
        ));
    }
    let standardized = model
        .spec()
        .layers
        .first()
        .is_some_and(|l| l.kind() == "Standardize");
    if args.standardize && !standardized {
        return Err(("standardize", String::new(), "trained without it".into()));
    }
    if let Some(arg) = args.schedule {
        let stored = model.schedule();
        let same = match (arg, stored) {
            (ScheduleArg::Constant, None) => true,
            (
                ScheduleArg::Step { epochs, gamma },
                Some((
                    nn_optim::Schedule::Step {
                        step_size,
                        gamma: g,
                    },
                    false,
                )),
            ) => epochs == *step_size && gamma == *g,
            (ScheduleArg::Cosine, Some((nn_optim::Schedule::Cosine { .. }, true)))
            | (ScheduleArg::OneCycle, Some((nn_optim::Schedule::OneCycle { .. }, true))) => true,
            _ => false,
        };
        if !same {
            return Err((
                "schedule",
                format!("{arg:?}"),
                format!("schedule {stored:?}"),
            ));
        }
    }
    Ok(())
}

/// A new model for `spec` with the command line's settings, the schedule sized for `train`.
fn new_model(args: &TrainArgs, mut spec: NetworkSpec, train: &Dataset) -> Result<Model> {
    if args.standardize {
        let (mean, std) = train.mean_std();
        if std <= 0.0 || std.is_nan() {
            return Err(TrainError::InvalidArgument(
                "--standardize: the training images are all one value (std 0)".into(),
            ));
        }
        spec.layers
            .insert(0, nn_layers::LayerSpec::Standardize { mean, std });
    }
    let optimizer = OptimizerSpec {
        kind: args.optimizer.unwrap_or(DEFAULT_OPTIMIZER),
        lr: args.lr.unwrap_or(DEFAULT_LR),
    };
    let mut model = Model::new(spec, optimizer, args.seed.unwrap_or(DEFAULT_SEED))
        .map_err(|e| in_network_file(args.net.as_deref(), e))?
        .with_loss(args.loss.map_or(LossKind::default(), LossKind::from))
        .with_eval_batch_size(args.eval_batch_size)?
        .with_recipe(Recipe {
            random_shift: args.shift.map_or(0, usize::from),
            keep_best: args.keep_best,
            patience: args.patience,
            validation_split: args.val_split.unwrap_or(0),
        })?;
    if let Some(wd) = args.weight_decay {
        model = model.with_weight_decay(wd)?;
    }
    let batches = train.len().div_ceil(args.batch_size);
    match args.schedule.and_then(|s| s.schedule(args.epochs, batches)) {
        Some((schedule, true)) => model = model.with_schedule_per_batch(schedule)?,
        Some((schedule, false)) => model = model.with_schedule(schedule)?,
        None => {}
    }
    Ok(model)
}

/// `lenet5 train`: checks the command line, loads the data (holding out a validation split),
/// builds or resumes the model, trains it, writes the files asked for, then reports on the test
/// set.
pub(crate) fn train(args: TrainArgs) -> std::result::Result<(), AnyError> {
    check_train_args(&args)?;
    // The checkpoint before the data: a contradicting flag is reported at once.
    let resumed = match &args.resume {
        Some(path) => Some(resume_model(&args, path)?),
        None => None,
    };
    let spec = match (&resumed, &args.net) {
        (Some(m), _) => m.spec().clone(),
        (None, Some(path)) => read_network_file(path)?,
        (None, None) => models::lenet5_spec(),
    };
    let dir = data_dir(&args.data);
    let mut train_set = load_split(&dir, Split::Train, args.limit, &spec)?;
    let test_set = load_split(&dir, Split::Test, args.data.test_limit, &spec)?;
    let held_out = resumed
        .as_ref()
        .map_or(args.val_split.unwrap_or(0), |m| m.recipe().validation_split);
    let val_set = if held_out > 0 {
        if held_out >= train_set.len() {
            return Err(UsageError(format!(
                "--val-split {held_out} leaves no training images of {}",
                train_set.len()
            ))
            .into());
        }
        let (train, val) = train_set.split(held_out)?;
        train_set = train;
        Some(val)
    } else {
        None
    };
    let mut model = match resumed {
        Some(m) => m,
        None => new_model(&args, spec, &train_set)?,
    };
    let held = val_set
        .as_ref()
        .map_or(String::new(), |v| format!(", {} validation", v.len()));
    say!(
        "data: {} training{held} and {} test images from {}",
        train_set.len(),
        test_set.len(),
        dir.display()
    );
    check_classes(&model, &train_set)?;
    let names = class_names(
        args.report.classes.as_ref(),
        Some(&dir),
        num_classes(&model),
    )?;
    say!("{}", model.net());
    let progress = if args.quiet || !std::io::stdout().is_terminal() {
        Progress::Quiet
    } else {
        Progress::Bar
    };
    let config = FitConfig {
        epochs: args.epochs,
        batch_size: args.batch_size,
        // A resumed run shuffles with the seed it started with.
        shuffle_seed: model.init_seed(),
        progress,
    };
    let label = if val_set.is_some() { "val" } else { "test" };
    let mut log = match &args.log {
        Some(path) => Some(MetricsLog::create(path, label, args.resume.is_some())?),
        None => None,
    };
    let mut train_s = 0.0;
    let start_epochs = model.epochs_done();
    let evaluated = val_set.as_ref().unwrap_or(&test_set);
    model.fit(&train_set, Some(evaluated), &config, |model, record| {
        say!("{}", epoch_line(record, label));
        train_s += record.train_s;
        if let Some(log) = &mut log {
            log.write(record)?;
        }
        if let Some(path) = &args.checkpoint {
            model.save_checkpoint(path)?;
        }
        Ok(())
    })?;
    // The training images are no longer needed: give their memory back before the test set's
    // timed passes, which have workspaces of their own.
    drop(train_set);
    drop(val_set);
    if model.epochs_done() == start_epochs && !model.stopped_early() {
        say!(
            "nothing to do: the model has {} epochs already (--epochs {})",
            start_epochs,
            args.epochs
        );
    }
    if model.stopped_early()
        && let (Some((best, _)), Some(patience)) = (model.best_epoch(), model.recipe().patience)
    {
        say!(
            "stopped early after epoch {}: no better validation accuracy in {patience} epochs since epoch {best}",
            model.epochs_done()
        );
    }
    if model.recipe().keep_best
        && let Some((best, acc)) = model.best_epoch()
    {
        say!("kept the best epoch: {best} (val_acc={acc:.4})");
    }
    // Files first: whatever happens to the printing, the trained model is kept.
    if let Some(path) = &args.save {
        model.save(path)?;
        say!("saved the model to {}", path.display());
    }
    if let Some(path) = &args.plot {
        let [svg, png] = plot_history(model.history(), path)?;
        say!(
            "plotted the curves to {} and {}",
            svg.display(),
            png.display()
        );
    }
    show_predictions(&mut model, &test_set)?;
    say!(
        "infer_imgs_per_s={:.0}",
        inference_rate(&mut model, &test_set)?
    );
    say!(
        "latency_us={:.1}",
        single_image_latency_us(&mut model, &test_set)?
    );
    let classified = model.classify(&test_set, args.eval_batch_size)?;
    report(&model, &test_set, &classified, &args.report, &names)?;
    let ev = classified.evaluation;
    say!(
        "test_acc={:.4} test_loss={:.4} train_s={:.2}",
        ev.accuracy,
        ev.loss,
        train_s
    );
    Ok(())
}

/// Prints the confusion matrix and per-class accuracy of the test set `test`, classified as
/// `classified`, and draws the pictures asked for.
pub(crate) fn report(
    model: &Model,
    test: &Dataset,
    classified: &Classification,
    args: &ReportArgs,
    names: &[String],
) -> Result<()> {
    let matrix = ConfusionMatrix::new(num_classes(model), test.labels(), &classified.predicted)?;
    if let Some(path) = &args.confusion {
        plot_confusion(&matrix, names, path)?;
        say!("drew the confusion matrix to {}", path.display());
    }
    if let Some(path) = &args.errors {
        let drawn = plot_errors(test, classified, names, path)?;
        say!("drew {drawn} misclassified images to {}", path.display());
    }
    say!("confusion matrix of the test set (rows: true class, columns: predicted):");
    say!("{}", matrix.table(names));
    Ok(())
}
