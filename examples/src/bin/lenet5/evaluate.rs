//! `lenet5 eval` and `lenet5 predict`: a saved model on the test set or on image files.

use std::time::Instant;

use examples::classes::class_names;
use examples::image_input::read_image;
use examples::{AnyError, inference_rate, say, single_image_latency_us};
use nn_data::{Dataset, Split};
use nn_layers::NamedState;
use nn_train::{TrainError, load_network, top_classes};

use crate::args::*;
use crate::train::{check_extensions, report};
use crate::*;

/// `lenet5 eval`: a saved model on the test set: its accuracy and loss, inference rate and
/// confusion matrix, and the pictures asked for.
pub(crate) fn eval(args: EvalArgs) -> std::result::Result<(), AnyError> {
    check_extensions(&args.report, None)?;
    check_outputs_beside_model(
        &[
            ("--confusion", args.report.confusion.as_deref()),
            ("--errors", args.report.errors.as_deref()),
        ],
        &args.model,
    )?;
    let (spec, net) = load_network(&args.model)?;
    let dir = data_dir(&args.data);
    let test_set = load_split(&dir, Split::Test, args.data.test_limit, &spec)?;
    say!(
        "data: {} test images from {}",
        test_set.len(),
        dir.display()
    );
    say!("{net}");
    let params = net.num_params();
    let mut model = model_to_evaluate(spec, net)?;
    check_classes(&model, &test_set)?;
    let names = class_names(
        args.report.classes.as_ref(),
        Some(&dir),
        num_classes(&model),
    )?;
    say!("loaded {} ({params} parameters)", args.model.display());
    show_predictions(&mut model, &test_set)?;
    say!(
        "infer_imgs_per_s={:.0}",
        inference_rate(&mut model, &test_set)?
    );
    say!(
        "latency_us={:.1}",
        single_image_latency_us(&mut model, &test_set)?
    );
    let started = Instant::now();
    let classified = model.classify(&test_set, 1000)?;
    say!("eval_s={:.2}", started.elapsed().as_secs_f64());
    report(&model, &test_set, &classified, &args.report, &names)?;
    let ev = classified.evaluation;
    say!("test_acc={:.4} test_loss={:.4}", ev.accuracy, ev.loss);
    Ok(())
}

/// Classifies each image file; a file that cannot be read is reported and the others still
/// print. Fails (exit 1) when any file failed.
pub(crate) fn predict(args: PredictArgs) -> std::result::Result<(), AnyError> {
    let (spec, net) = load_network(&args.model)?;
    let [1, rows, cols] = spec.input[..] else {
        return Err(TrainError::InvalidArgument(format!(
            "{}: the model takes input {:?}; predict reads grayscale images, one channel",
            args.model.display(),
            spec.input
        ))
        .into());
    };
    let mut model = model_to_evaluate(spec, net)?;
    let classes = num_classes(&model);
    let names = class_names(args.classes.as_ref(), None, classes)?;
    let mut failed = 0;
    for path in &args.images {
        match read_image(path, rows, cols, !args.no_invert) {
            Ok(pixels) => {
                let image = Dataset::new(pixels, vec![0], rows, cols)?;
                let x = image.batch(&[0], nn_data::Normalization::Unit)?.images;
                let probs = model.predict_probabilities(&x.into_dyn())?;
                let top = top_classes(probs.row(0), 3);
                let Some(&(class, _)) = top.first() else {
                    return Err(TrainError::InvalidArgument(format!(
                        "{}: the model scores no class",
                        args.model.display()
                    ))
                    .into());
                };
                let listed: Vec<String> = top
                    .iter()
                    .map(|&(c, p)| format!("{} ({p:.4})", names[c]))
                    .collect();
                say!(
                    "{}: class={} top3: {}",
                    path.display(),
                    names[class],
                    listed.join(", ")
                );
            }
            Err(e) => {
                failed += 1;
                eprintln!("error: {e}");
            }
        }
    }
    if failed > 0 {
        return Err(TrainError::InvalidArgument(format!(
            "{failed} of {} image files could not be read",
            args.images.len()
        ))
        .into());
    }
    Ok(())
}
