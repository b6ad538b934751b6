//! Optimizer trajectories and clipping against PyTorch (`optim.json`), and LeNet5's parameters
//! after one Adam step (`lenet5.json`).

use core_tensor::random::seeded_rng;
use nn_layers::NamedState;
use nn_layers::{CrossEntropyLoss, Layer, Mode, Param, Tensor, models};
use nn_optim::*;
use torch_vectors::{Case, check_close, load};

fn hyper(case: &Case, name: &str) -> Option<f32> {
    case.sub("hyper").ok()?.f64(name).ok().map(|v| v as f32)
}

/// The optimizer a case describes, from its name and hyperparameters.
fn optimizer_for(case: &Case) -> Box<dyn Optimizer> {
    let lr = hyper(case, "lr").unwrap();
    let wd = hyper(case, "weight_decay").unwrap_or(0.0);
    let eps = hyper(case, "eps");
    let h = case.sub("hyper").unwrap();
    let betas = h.field("betas").ok().and_then(|b| b.as_array().cloned());
    let name = case.name.as_str();
    if name.starts_with("adamw") {
        let mut o = AdamW::new(lr).unwrap().with_weight_decay(wd).unwrap();
        if let Some(b) = betas {
            o = o
                .with_betas(b[0].as_f64().unwrap() as f32, b[1].as_f64().unwrap() as f32)
                .unwrap();
        }
        Box::new(o.with_eps(eps.unwrap_or(1e-8)).unwrap())
    } else if name.starts_with("adam") {
        let mut o = Adam::new(lr).unwrap().with_weight_decay(wd).unwrap();
        if let Some(b) = betas {
            o = o
                .with_betas(b[0].as_f64().unwrap() as f32, b[1].as_f64().unwrap() as f32)
                .unwrap();
        }
        Box::new(o.with_eps(eps.unwrap_or(1e-8)).unwrap())
    } else if name.starts_with("rmsprop") {
        let mut o = RmsProp::new(lr)
            .unwrap()
            .with_weight_decay(wd)
            .unwrap()
            .with_eps(eps.unwrap_or(1e-8))
            .unwrap();
        if let Some(a) = hyper(case, "alpha") {
            o = o.with_alpha(a).unwrap();
        }
        Box::new(o)
    } else if name.starts_with("adagrad") {
        Box::new(
            Adagrad::new(lr)
                .unwrap()
                .with_weight_decay(wd)
                .unwrap()
                .with_eps(eps.unwrap_or(1e-10))
                .unwrap(),
        )
    } else if let Some(m) = hyper(case, "momentum") {
        let nesterov = h
            .field("nesterov")
            .ok()
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        Box::new(
            Momentum::new(lr, m)
                .unwrap()
                .with_weight_decay(wd)
                .unwrap()
                .with_nesterov(nesterov)
                .unwrap(),
        )
    } else {
        Box::new(Sgd::new(lr).unwrap().with_weight_decay(wd).unwrap())
    }
}

#[test]
fn every_trajectory_matches_pytorch() {
    let file = load("optim.json").unwrap();
    let mut failures = Vec::new();
    let mut checked = 0;
    for case in file
        .cases
        .iter()
        .filter(|c| c.has("params_after_each_step"))
    {
        let mut opt = optimizer_for(case);
        let mut p = Param::new(case.tensor("p0").unwrap());
        let grads = case.tensors("grads").unwrap();
        let expected = case.tensors("params_after_each_step").unwrap();
        for (i, (g, want)) in grads.iter().zip(&expected).enumerate() {
            p.grad = g.mapv(|v| v as f32);
            opt.step_params(vec![("p".into(), &mut p)]).unwrap();
            if let Err(e) = check_close(
                &format!("{} ({}) step {}", case.name, opt.name(), i + 1),
                &p.value,
                want,
                1e-4,
            ) {
                failures.push(e);
            }
        }
        checked += 1;
    }
    assert!(
        checked >= 1,
        "no trajectory cases in {}",
        file.path.display()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn clip_grad_norm_matches_pytorch() {
    let file = load("optim.json").unwrap();
    let mut checked = 0;
    for case in file.cases.iter().filter(|c| c.has("clipped")) {
        let mut params: Vec<Param> = case
            .tensors("grads")
            .unwrap()
            .iter()
            .map(|g| {
                let mut p = Param::new(Tensor::zeros(g.raw_dim()));
                p.grad = g.mapv(|v| v as f32);
                p
            })
            .collect();
        let total =
            clip_grad_norm(params.iter_mut(), case.f64("max_norm").unwrap() as f32).unwrap();
        let want = case.f64("total_norm").unwrap();
        assert!(
            (f64::from(total) - want).abs() <= 1e-4 * want.max(1.0),
            "{}: norm {total} vs {want}",
            case.name
        );
        for (p, want) in params.iter().zip(case.tensors("clipped").unwrap()) {
            check_close(&case.name, &p.grad, &want, 1e-4).unwrap();
        }
        checked += 1;
    }
    assert!(checked >= 1);
}

#[test]
fn lenet5_parameters_after_one_adam_step() {
    for case in load("lenet5.json").unwrap().cases {
        let mut net = models::lenet5(&mut seeded_rng(0)).unwrap();
        let params = case.sub("params").unwrap();
        let names = params.keys();
        for ((_, p), torch) in net.params_mut().into_iter().zip(&names) {
            p.set(params.tensor(torch).unwrap()).unwrap();
        }
        let adam = case.sub("adam").unwrap();
        let betas = adam.field("betas").unwrap().as_array().unwrap().clone();
        let mut opt = Adam::new(adam.f64("lr").unwrap() as f32)
            .unwrap()
            .with_betas(
                betas[0].as_f64().unwrap() as f32,
                betas[1].as_f64().unwrap() as f32,
            )
            .unwrap()
            .with_eps(adam.f64("eps").unwrap() as f32)
            .unwrap();
        let logits = net
            .forward(&case.tensor("x").unwrap(), Mode::Train)
            .unwrap();
        let out = CrossEntropyLoss::new()
            .forward(&logits, &case.usizes("labels").unwrap())
            .unwrap();
        opt.zero_grad(&mut net);
        net.backward_params_only(out.grad, &mut nn_layers::Workspace::new())
            .unwrap();
        opt.step(&mut net).unwrap();
        let after = case.sub("params_after_adam").unwrap();
        let failures: Vec<String> = net
            .params()
            .into_iter()
            .zip(&names)
            .filter_map(|((_, p), torch)| {
                check_close(torch, &p.value, &after.tensor_f64(torch).unwrap(), 1e-3).err()
            })
            .collect();
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }
}
