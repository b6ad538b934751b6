//! The recipe: weight decay, schedules per batch, random shifts, keeping the best epoch and early
//! stopping; each kept in checkpoints so that a resumed run equals an uninterrupted one.

use nn_data::Dataset;
use nn_layers::{NamedState, models};
use nn_optim::Schedule;
use nn_train::*;

/// 48 images of 28 x 28 in two classes, bright left or right half, with noise; `flip` swaps
/// the labels (a validation set the model cannot get better at).
fn toy(flip: bool) -> Dataset {
    let labels: Vec<u8> = (0..48)
        .map(|i| ((i % 2) ^ usize::from(flip)) as u8)
        .collect();
    let mut pixels = Vec::new();
    for (i, &l) in labels.iter().enumerate() {
        let l = l ^ u8::from(flip);
        pixels.extend((0..784).map(|p| {
            let bright = (p % 28 < 14) == (l == 0);
            let noise = ((i * 31 + p * 17) % 50) as u8;
            if bright { 200 + noise } else { noise }
        }));
    }
    Dataset::new(pixels, labels, 28, 28).unwrap()
}

fn config(epochs: usize) -> FitConfig {
    FitConfig {
        epochs,
        batch_size: 16,
        shuffle_seed: 9,
        progress: Progress::Quiet,
    }
}

/// LeNet5 with AdamW, weight decay, a one-cycle schedule per batch, shifts, keep-best.
fn recipe_model(lr: f32, patience: Option<usize>) -> Model {
    let opt = OptimizerSpec {
        kind: OptimizerKind::AdamW,
        lr,
    };
    let cycle = Schedule::OneCycle {
        total: 4 * 3,
        pct_start: 0.3,
        div: 25.0,
        final_div: 1e4,
    };
    let recipe = Recipe {
        random_shift: 2,
        keep_best: true,
        patience,
        validation_split: 0,
    };
    Model::new(models::lenet5_spec(), opt, 5)
        .unwrap()
        .with_weight_decay(1e-3)
        .unwrap()
        .with_schedule_per_batch(cycle)
        .unwrap()
        .with_recipe(recipe)
        .unwrap()
}

fn values(m: &Model) -> Vec<Vec<f32>> {
    m.net()
        .params()
        .into_iter()
        .map(|(_, p)| p.value.iter().copied().collect())
        .collect()
}

#[test]
fn a_recipe_run_resumed_from_each_epoch_equals_the_uninterrupted_one() {
    let (train, val) = (toy(false), toy(false));
    let mut straight = recipe_model(3e-3, None);
    straight
        .fit(&train, Some(&val), &config(4), |_, _| Ok(()))
        .unwrap();
    for stop in 1..4 {
        let dir = tempfile::tempdir().unwrap();
        let ck = dir.path().join("ck.bin");
        let mut first = recipe_model(3e-3, None);
        first
            .fit(&train, Some(&val), &config(stop), |m, _| {
                m.save_checkpoint(&ck)
            })
            .unwrap();
        let mut resumed = Model::load_checkpoint(&ck).unwrap();
        assert_eq!(resumed.weight_decay(), Some(1e-3));
        assert_eq!(resumed.recipe(), straight.recipe());
        assert!(matches!(
            resumed.schedule(),
            Some((Schedule::OneCycle { .. }, true))
        ));
        resumed
            .fit(&train, Some(&val), &config(4), |_, _| Ok(()))
            .unwrap();
        assert_eq!(
            values(&resumed),
            values(&straight),
            "resumed after epoch {stop}"
        );
        assert_eq!(resumed.best_epoch(), straight.best_epoch());
        assert_eq!(resumed.history().epochs.len(), 4);
    }
}

#[test]
fn the_rate_follows_the_cycle_per_batch() {
    let mut m = recipe_model(3e-3, None);
    m.fit(&toy(false), Some(&toy(false)), &config(4), |_, _| Ok(()))
        .unwrap();
    let lrs: Vec<f32> = m.history().epochs.iter().map(|e| e.lr).collect();
    // Three batches an epoch: the epochs start at steps 0, 3, 6 and 9 of twelve.
    let cycle = Schedule::OneCycle {
        total: 12,
        pct_start: 0.3,
        div: 25.0,
        final_div: 1e4,
    };
    let want: Vec<f32> = [0, 3, 6, 9].iter().map(|&t| cycle.lr_at(3e-3, t)).collect();
    assert_eq!(lrs, want);
}

#[test]
fn keep_best_leaves_the_best_epoch_and_patience_stops() {
    // A validation set with the labels swapped: the better the model learns, the worse it scores
    // there, so the first epoch stays the best and patience 2 stops after the third.
    let mut m = recipe_model(3e-3, Some(2));
    let (train, val) = (toy(false), toy(true));
    let mut after_first = None;
    m.fit(&train, Some(&val), &config(10), |m, _| {
        if m.epochs_done() == 1 {
            after_first = Some(values(m));
        }
        Ok(())
    })
    .unwrap();
    let (best, acc) = m.best_epoch().unwrap();
    assert_eq!(best, 1);
    assert!(m.stopped_early());
    assert_eq!(
        m.epochs_done(),
        3,
        "patience 2: epochs 2 and 3 bring nothing better"
    );
    assert_eq!(
        Some(values(&m)),
        after_first,
        "the model holds epoch 1's network"
    );
    let now = m.evaluate(&val, 16).unwrap().accuracy;
    assert_eq!(now, acc);
    // Asking for more epochs trains no further once stopped.
    m.fit(&train, Some(&val), &config(12), |_, _| Ok(()))
        .unwrap();
    assert_eq!(m.epochs_done(), 3);
}

#[test]
fn bad_recipes_are_errors() {
    let m = || recipe_model(3e-3, None);
    let err = m()
        .fit(&toy(false), None, &config(1), |_, _| Ok(()))
        .unwrap_err();
    assert!(err.to_string().contains("validation set"), "{err}");
    let bad = Recipe {
        patience: Some(0),
        ..Recipe::default()
    };
    assert!(m().with_recipe(bad).is_err());
    let far = Recipe {
        random_shift: 99,
        ..Recipe::default()
    };
    assert!(m().with_recipe(far).is_err());
    assert!(m().with_weight_decay(-1.0).is_err());
    assert!(m().with_weight_decay(f32::NAN).is_err());
}
