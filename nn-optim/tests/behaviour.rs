//! State round trips, convergence on a toy regression, hyperparameter checks, schedules.

use core_tensor::random::seeded_rng;
use nn_layers::NamedState;
use nn_layers::{Layer, Linear, LinearConfig, Mode, MseLoss, Tensor};
use nn_optim::*;

fn all_optimizers() -> Vec<(Box<dyn Optimizer>, Box<dyn Optimizer>)> {
    fn pair<O: Optimizer + Clone + 'static>(o: O) -> (Box<dyn Optimizer>, Box<dyn Optimizer>) {
        (Box::new(o.clone()), Box::new(o))
    }
    vec![
        pair(Sgd::new(0.05).unwrap().with_weight_decay(1e-3).unwrap()),
        pair(
            Momentum::new(0.02, 0.9)
                .unwrap()
                .with_nesterov(true)
                .unwrap(),
        ),
        pair(
            Momentum::new(0.02, 0.9)
                .unwrap()
                .with_dampening(0.1)
                .unwrap(),
        ),
        pair(Adagrad::new(0.3).unwrap()),
        pair(
            RmsProp::new(0.01)
                .unwrap()
                .with_momentum(0.5)
                .unwrap()
                .with_centered(true),
        ),
        pair(Adam::new(0.05).unwrap()),
        pair(AdamW::new(0.05).unwrap()),
    ]
}

/// y = 2 x0 - x1 + 0.5 x2 + 1, 32 fixed samples.
fn data() -> (Tensor, Tensor) {
    let x = ndarray::Array2::from_shape_fn((32, 3), |(i, j)| {
        (((i * 7 + j * 3) % 11) as f32 / 5.0) - 1.0
    });
    let y = ndarray::Array2::from_shape_fn((32, 1), |(i, _)| {
        2.0 * x[[i, 0]] - x[[i, 1]] + 0.5 * x[[i, 2]] + 1.0
    });
    (x.into_dyn(), y.into_dyn())
}

fn train(net: &mut Linear, opt: &mut dyn Optimizer, steps: usize) -> f32 {
    let (x, y) = data();
    let mut loss = f32::NAN;
    for _ in 0..steps {
        let pred = net.forward(&x, Mode::Train).unwrap();
        let out = MseLoss::new().forward(&pred, &y).unwrap();
        loss = out.loss;
        opt.zero_grad(net);
        net.backward(&out.grad).unwrap();
        opt.step(net).unwrap();
    }
    loss
}

fn fresh() -> Linear {
    LinearConfig::new(3, 1).init(&mut seeded_rng(4)).unwrap()
}

#[test]
fn every_optimizer_fits_a_linear_regression() {
    for (mut first_step, mut opt) in all_optimizers() {
        let start = train(&mut fresh(), first_step.as_mut(), 1);
        let end = train(&mut fresh(), opt.as_mut(), 400);
        assert!(
            end < 1e-3 && end < start / 100.0,
            "{}: loss {start} -> {end}",
            opt.name()
        );
    }
}

#[test]
fn state_round_trip_is_bit_exact() {
    for (i, (mut straight, mut first)) in all_optimizers().into_iter().enumerate() {
        let mut a = fresh();
        train(&mut a, straight.as_mut(), 6);

        let mut b = fresh();
        train(&mut b, first.as_mut(), 3);
        let bytes =
            bincode::serde::encode_to_vec(first.state(), bincode::config::standard()).unwrap();
        let (state, _): (OptimizerState, usize) =
            bincode::serde::decode_from_slice(&bytes, bincode::config::standard()).unwrap();
        let mut resumed = all_optimizers().into_iter().nth(i).unwrap().1;
        resumed.load_state(state, &b).unwrap();
        train(&mut b, resumed.as_mut(), 3);

        for ((_, pa), (_, pb)) in a.params().into_iter().zip(b.params()) {
            let bits = |t: &Tensor| t.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&pa.value), bits(&pb.value), "{}", straight.name());
        }
    }
}

#[test]
fn a_state_for_other_parameters_is_refused() {
    let mut net = fresh();
    let mut opt = Adam::new(0.01).unwrap();
    train(&mut net, &mut opt, 1);
    let state = opt.state();
    let other = LinearConfig::new(4, 1).init(&mut seeded_rng(0)).unwrap();
    let err = Adam::new(0.01)
        .unwrap()
        .load_state(state.clone(), &other)
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("parameter weight has shape [1, 3] in the state, [1, 4] in the network"),
        "{err}"
    );
    let mut renamed = state.clone();
    renamed.params[0].name = "9.weight".into();
    let err = Adam::new(0.01)
        .unwrap()
        .load_state(renamed, &net)
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("9.weight which the network does not have"),
        "{err}"
    );
    let err = Sgd::new(0.01).unwrap().load_state(state, &net).unwrap_err();
    assert!(err.to_string().contains("saved by Adam"), "{err}");
}

#[test]
fn invalid_hyperparameters_name_the_value() {
    let e = Adam::new(-1.0).unwrap_err().to_string();
    assert!(e.contains("lr = -1") && e.contains(">= 0"), "{e}");
    assert!(Adam::new(f32::NAN).is_err());
    assert!(Sgd::new(f32::INFINITY).is_err());
    let e = Adam::new(0.1)
        .unwrap()
        .with_betas(0.9, 1.0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("beta2 = 1") && e.contains("[0, 1)"), "{e}");
    assert!(AdamW::new(0.1).unwrap().with_weight_decay(-0.1).is_err());
    assert!(Momentum::new(0.1, 1.5).is_err());
    assert!(
        Momentum::new(0.1, 0.0)
            .unwrap()
            .with_nesterov(true)
            .is_err()
    );
    assert!(RmsProp::new(0.1).unwrap().with_alpha(2.0).is_err());
    assert!(Adagrad::new(0.1).unwrap().with_eps(-1.0).is_err());
    assert!(
        Scheduler::new(
            Schedule::Step {
                step_size: 0,
                gamma: 0.5
            },
            0.1
        )
        .is_err()
    );
    assert!(
        Scheduler::new(
            Schedule::Cosine {
                t_max: 10,
                eta_min: -1.0
            },
            0.1
        )
        .is_err()
    );
    assert!(clip_grad_norm(std::iter::empty(), f32::NAN).is_err());
    let cycle = |total, pct_start, div, final_div| Schedule::OneCycle {
        total,
        pct_start,
        div,
        final_div,
    };
    assert!(cycle(10, 0.3, 25.0, 1e4).validate().is_ok());
    assert!(cycle(1, 0.3, 25.0, 1e4).validate().is_err());
    assert!(cycle(10, 1.0, 25.0, 1e4).validate().is_err());
    assert!(cycle(10, 0.3, 0.5, 1e4).validate().is_err());
    assert!(cycle(10, 0.3, 25.0, f32::NAN).validate().is_err());
}

#[test]
fn one_cycle_follows_pytorch() {
    // torch.optim.lr_scheduler.OneCycleLR(max_lr=1, total_steps=10, cycle_momentum=False): the
    // rate before each of the ten steps, printed by PyTorch 2.
    let torch = [
        0.04,
        0.52,
        1.0,
        0.950_484_632_013_473_7,
        0.811_745_653_949_763_1,
        0.611_262_021_936_289_3,
        0.388_741_978_063_710_75,
        0.188_258_346_050_236_97,
        0.049_519_367_986_526_286,
        4e-6,
    ];
    let s = Schedule::OneCycle {
        total: 10,
        pct_start: 0.3,
        div: 25.0,
        final_div: 1e4,
    };
    for (t, want) in torch.iter().enumerate() {
        let got = f64::from(s.lr_at(1.0, t as u64));
        assert!(
            (got - want).abs() <= 1e-6 * want.max(1e-3),
            "t={t}: {got} against {want}"
        );
    }
    // After the cycle the last rate holds.
    assert_eq!(s.lr_at(1.0, 10), s.lr_at(1.0, 9));
}

#[test]
fn schedules_follow_pytorch_closed_forms() {
    let cos = Schedule::Cosine {
        t_max: 10,
        eta_min: 0.0,
    };
    assert!((cos.lr_at(1.0, 5) - 0.5).abs() < 1e-7);
    assert_eq!(cos.lr_at(1.0, 10), 0.0);
    assert_eq!(cos.lr_at(1.0, 0), 1.0);
    let exp = Schedule::Exponential { gamma: 0.9 };
    assert!((exp.lr_at(0.1, 3) - 0.1 * 0.729).abs() < 1e-8);
    let warm = Schedule::Warmup {
        steps: 2,
        start_factor: 0.5,
        then: Box::new(Schedule::Step {
            step_size: 1,
            gamma: 0.1,
        }),
    };
    assert_eq!(
        [0, 1, 2, 3].map(|t| warm.lr_at(1.0, t)),
        [0.5, 0.75, 1.0, 0.1]
    );

    // A scheduler drives any optimizer and survives serialisation.
    let mut opt = Momentum::new(1.0, 0.9).unwrap();
    let mut sched = Scheduler::new(warm, 1.0).unwrap();
    sched.step(&mut opt).unwrap();
    assert_eq!(opt.lr(), 0.75);
    let bytes = bincode::serde::encode_to_vec(&sched, bincode::config::standard()).unwrap();
    let (mut back, _): (Scheduler, usize) =
        bincode::serde::decode_from_slice(&bytes, bincode::config::standard()).unwrap();
    back.step(&mut opt).unwrap();
    assert_eq!(opt.lr(), 1.0);
}

#[test]
fn clip_by_value() {
    let mut p = nn_layers::Param::new(ndarray::arr1(&[0.0_f32; 3]).into_dyn());
    p.grad = ndarray::arr1(&[-3.0_f32, 0.5, 2.0]).into_dyn();
    clip_grad_value([&mut p], 1.0).unwrap();
    assert_eq!(
        p.grad.iter().copied().collect::<Vec<_>>(),
        vec![-1.0, 0.5, 1.0]
    );
}

/// The bincode bytes of `depth` warm-ups nested around a constant schedule, written by hand as a
/// forged file would be (variant 4 = Warmup: steps, start_factor, then the inner schedule).
fn nested_warmups(depth: usize) -> Vec<u8> {
    let mut bytes = Vec::new();
    for _ in 0..depth {
        bytes.push(4);
        bytes.push(1);
        bytes.extend_from_slice(&0.5_f32.to_le_bytes());
    }
    bytes.push(0);
    bytes
}

#[test]
fn deeply_nested_schedules_are_refused_not_a_stack_overflow() {
    let decode = |bytes: &[u8]| {
        bincode::serde::decode_from_slice::<Schedule, _>(bytes, bincode::config::standard())
    };
    // Within the limit: the hand-written bytes are what encoding gives.
    let (three, _) = decode(&nested_warmups(3)).unwrap();
    assert_eq!(
        bincode::serde::encode_to_vec(&three, bincode::config::standard()).unwrap(),
        nested_warmups(3)
    );
    assert!(decode(&nested_warmups(nn_optim::MAX_SCHEDULE_NESTING)).is_ok());
    assert!(decode(&nested_warmups(nn_optim::MAX_SCHEDULE_NESTING + 1)).is_err());
    // Beyond it (20 000 deep used to overflow the stack and abort the process).
    let err = decode(&nested_warmups(20_000)).unwrap_err().to_string();
    assert!(err.contains("nest more than"), "{err}");
    // And after an error the next decode on this thread starts from depth 0 again.
    assert!(decode(&nested_warmups(3)).is_ok());
    // A value built in code is held to the same limit.
    let deep = (0..9).fold(Schedule::Constant, |then, _| Schedule::Warmup {
        steps: 1,
        start_factor: 0.5,
        then: Box::new(then),
    });
    assert!(deep.validate().is_err() && Scheduler::new(deep, 0.1).is_err());
}
