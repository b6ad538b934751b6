//! The layers against PyTorch's golden vectors, through the layer API, case by case as the files
//! list them: max |ours - torch| <= tol * max(1, max |torch|), tol 1e-4 (1e-3 for the LeNet5 step).

use core_tensor::random::seeded_rng;
use nn_layers::*;
use torch_vectors::{Case, check_close, load};

const TOL: f64 = 1e-4;

struct Checks(Vec<String>);

impl Checks {
    fn close(&mut self, case: &Case, field: &str, ours: &Tensor, tol: f64) {
        let torch = case.tensor_f64(field).unwrap();
        if let Err(e) = check_close(&format!("{} {field}", case.name), ours, &torch, tol) {
            self.0.push(e);
        }
    }

    fn done(self) {
        assert!(self.0.is_empty(), "{}", self.0.join("\n"));
    }
}

fn set_params(layer: &mut dyn Layer, case: &Case, fields: &[&str]) {
    for ((name, p), field) in layer.params_mut().into_iter().zip(fields) {
        p.set(case.tensor(field).unwrap())
            .unwrap_or_else(|e| panic!("{}: {name}: {e}", case.name));
    }
}

fn grads(layer: &dyn Layer) -> Vec<Tensor> {
    layer
        .params()
        .into_iter()
        .map(|(_, p)| p.grad.clone())
        .collect()
}

/// Runs `x` forward (train mode) and `dy` backward through `layer`, and checks `y` and `dx`.
fn check_forward_backward(checks: &mut Checks, case: &Case, layer: &mut dyn Layer) {
    let y = layer
        .forward(&case.tensor("x").unwrap(), Mode::Train)
        .unwrap();
    let dx = layer.backward(&case.tensor("dy").unwrap()).unwrap();
    checks.close(case, "y", &y, TOL);
    checks.close(case, "dx", &dx, TOL);
}

/// Sets a weight-and-bias layer from the case's `w` and `b`, runs forward and backward, and checks
/// `y`, `dx`, `dw` and (when present) `db`.
fn check_weighted_layer(checks: &mut Checks, case: &Case, layer: &mut dyn Layer) {
    set_params(layer, case, &["w", "b"]);
    check_forward_backward(checks, case, layer);
    let g = grads(layer);
    checks.close(case, "dw", &g[0], TOL);
    if case.has("db") {
        checks.close(case, "db", &g[1], TOL);
    }
}

#[test]
fn conv2d_layer() {
    let mut checks = Checks(Vec::new());
    for case in load("conv2d.json").unwrap().cases {
        let w = case.tensor("w").unwrap();
        let [f, c, kh, kw] = [w.shape()[0], w.shape()[1], w.shape()[2], w.shape()[3]];
        let config = Conv2DConfig::new(c, f, [kh, kw])
            .with_stride(case.pair("stride").unwrap())
            .with_padding(case.pair("padding").unwrap())
            .with_bias(case.has("b"));
        check_weighted_layer(
            &mut checks,
            &case,
            &mut config.init(&mut seeded_rng(0)).unwrap(),
        );
    }
    checks.done();
}

#[test]
fn linear_layer() {
    let mut checks = Checks(Vec::new());
    for case in load("linear.json").unwrap().cases {
        let w = case.tensor("w").unwrap();
        let config = LinearConfig::new(w.shape()[1], w.shape()[0]).with_bias(case.has("b"));
        check_weighted_layer(
            &mut checks,
            &case,
            &mut config.init(&mut seeded_rng(0)).unwrap(),
        );
    }
    checks.done();
}

#[test]
fn pooling_layers() {
    let mut checks = Checks(Vec::new());
    for case in load("pool.json").unwrap().cases {
        let config =
            PoolConfig::new(case.pair("kernel").unwrap()).with_stride(case.pair("stride").unwrap());
        let mut layer: Box<dyn Layer> = match case.str("kind").unwrap() {
            "max" => Box::new(config.max().unwrap()),
            "avg" => Box::new(config.avg().unwrap()),
            other => panic!("{}: unknown kind {other}", case.name),
        };
        check_forward_backward(&mut checks, &case, layer.as_mut());
    }
    checks.done();
}

#[test]
fn batch_normalization_train_running_stats_and_eval() {
    let mut checks = Checks(Vec::new());
    for case in load("batchnorm.json").unwrap().cases {
        let x = case.tensor("x").unwrap();
        let config = BatchNormConfig::new(x.shape()[1])
            .with_eps(case.f64("eps").unwrap() as f32)
            .with_momentum(case.f64("momentum").unwrap() as f32);
        let mut layer = config.init().unwrap();
        set_params(&mut layer, &case, &["gamma", "beta"]);
        for ((_, b), field) in layer
            .buffers_mut()
            .into_iter()
            .zip(["running_mean_before", "running_var_before"])
        {
            *b = case.tensor(field).unwrap();
        }
        let y = layer.forward(&x, Mode::Train).unwrap();
        let dx = layer.backward(&case.tensor("dy").unwrap()).unwrap();
        checks.close(&case, "y", &y, TOL);
        checks.close(&case, "dx", &dx, TOL);
        let g = grads(&layer);
        checks.close(&case, "dgamma", &g[0], TOL);
        checks.close(&case, "dbeta", &g[1], TOL);
        checks.close(&case, "running_mean_after", layer.running_mean(), TOL);
        checks.close(&case, "running_var_after", layer.running_var(), TOL);
        let y_eval = layer
            .forward(&case.tensor("x_eval").unwrap(), Mode::Eval)
            .unwrap();
        checks.close(&case, "y_eval", &y_eval, TOL);
    }
    checks.done();
}

#[test]
fn activations() {
    let mut checks = Checks(Vec::new());
    for case in load("activations.json").unwrap().cases {
        let mut layer: Box<dyn Layer> = match case.name.as_str() {
            "relu" => Box::new(Relu::new()),
            "sigmoid" => Box::new(Sigmoid::new()),
            "tanh" => Box::new(Tanh::new()),
            "softmax" => Box::new(Softmax::new()),
            name if name.starts_with("leaky_relu_") => {
                let slope: f32 = name["leaky_relu_".len()..].parse().unwrap();
                Box::new(LeakyRelu::new(slope).unwrap())
            }
            other => panic!("unknown activation case {other}"),
        };
        check_forward_backward(&mut checks, &case, layer.as_mut());
    }
    checks.done();
}

#[test]
fn losses() {
    let mut checks = Checks(Vec::new());
    for case in load("losses.json").unwrap().cases {
        let (out, grad_field) = match case.str("kind").unwrap() {
            "cross_entropy" => {
                let labels = case.usizes("labels").unwrap();
                (
                    CrossEntropyLoss::new()
                        .forward(&case.tensor("logits").unwrap(), &labels)
                        .unwrap(),
                    "dlogits",
                )
            }
            "mse" => (
                MseLoss::new()
                    .forward(
                        &case.tensor("pred").unwrap(),
                        &case.tensor("target").unwrap(),
                    )
                    .unwrap(),
                "dpred",
            ),
            other => panic!("{}: unknown loss {other}", case.name),
        };
        let loss = case.f64("loss").unwrap();
        if (f64::from(out.loss) - loss).abs() > TOL * loss.abs().max(1.0) {
            checks.0.push(format!(
                "{} loss: ours {} torch {loss}",
                case.name, out.loss
            ));
        }
        checks.close(&case, grad_field, &out.grad, TOL);
    }
    checks.done();
}

#[test]
fn lenet5_logits_loss_and_every_gradient() {
    let mut checks = Checks(Vec::new());
    for case in load("lenet5.json").unwrap().cases {
        let mut net = models::lenet5(&mut seeded_rng(0)).unwrap();
        let params = case.sub("params").unwrap();
        let torch_names = params.keys();
        assert_eq!(
            torch_names.len(),
            net.params().len(),
            "{}: parameter count",
            case.name
        );
        for ((ours, p), torch) in net.params_mut().into_iter().zip(&torch_names) {
            p.set(params.tensor(torch).unwrap())
                .unwrap_or_else(|e| panic!("{ours} <- {torch}: {e}"));
        }
        let logits = net
            .forward(&case.tensor("x").unwrap(), Mode::Train)
            .unwrap();
        checks.close(&case, "logits", &logits, 1e-3);
        let out = CrossEntropyLoss::new()
            .forward(&logits, &case.usizes("labels").unwrap())
            .unwrap();
        let loss = case.f64("loss").unwrap();
        assert!(
            (f64::from(out.loss) - loss).abs() < 1e-3 * loss.max(1.0),
            "loss {} vs {loss}",
            out.loss
        );
        net.zero_grad();
        net.backward_params_only(out.grad, &mut nn_layers::Workspace::new())
            .unwrap();
        let torch_grads = case.sub("grads").unwrap();
        for ((ours, p), torch) in net.params().into_iter().zip(&torch_names) {
            checks.close(&torch_grads, torch, &p.grad, 1e-3);
            let _ = ours;
        }
    }
    checks.done();
}

#[test]
fn global_avg_pool_layer() {
    let mut checks = Checks(Vec::new());
    for case in load("global_avg_pool.json").unwrap().cases {
        check_forward_backward(&mut checks, &case, &mut GlobalAvgPooling::new());
    }
    checks.done();
}

/// A ResNet basic block in training mode: every parameter, buffer and counter set by its PyTorch
/// name, then the output, dx, every parameter gradient and the statistics after, by name.
#[test]
fn residual_block() {
    let mut checks = Checks(Vec::new());
    for case in load("residual.json").unwrap().cases {
        let (cin, cout) = (
            case.f64("in_channels").unwrap() as usize,
            case.f64("out_channels").unwrap() as usize,
        );
        let stride = case.f64("stride").unwrap() as usize;
        let mut spec = ResidualSpec::basic_block(cin, cout, stride);
        let (momentum, eps) = (
            case.f64("bn_momentum").unwrap() as f32,
            case.f64("bn_eps").unwrap() as f32,
        );
        for l in spec.body.iter_mut().chain(spec.shortcut.iter_mut()) {
            if let LayerSpec::BatchNormalization(c) = &mut l.layer {
                *c = c.with_momentum(momentum).with_eps(eps);
            }
        }
        let x = case.tensor("x").unwrap();
        let mut block = LayerSpec::Residual(spec)
            .build(&x.shape()[1..], &mut seeded_rng(0))
            .unwrap();
        let params = case.sub("params").unwrap();
        let mut expected_names = params.keys();
        expected_names.sort();
        let mut ours: Vec<String> = block
            .params()
            .into_iter()
            .map(|(n, _)| n)
            .chain(block.buffers().into_iter().map(|(n, _)| n))
            .chain(block.counters().into_iter().map(|(n, _)| n))
            .collect();
        ours.sort();
        assert_eq!(ours, expected_names, "{}: state names", case.name);
        for (name, p) in block.params_mut() {
            p.set(params.tensor(&name).unwrap()).unwrap();
        }
        for (name, b) in block.buffers_mut() {
            *b = params.tensor(&name).unwrap();
        }
        let y = block.forward(&x, Mode::Train).unwrap();
        let dx = block.backward(&case.tensor("dy").unwrap()).unwrap();
        checks.close(&case, "y", &y, TOL);
        checks.close(&case, "dx", &dx, TOL);
        let grads = case.sub("grads").unwrap();
        for (name, p) in block.params() {
            checks.close(&grads, &name, &p.grad, TOL);
        }
        let after = case.sub("buffers_after").unwrap();
        for (name, b) in block.buffers() {
            checks.close(&after, &name, b, TOL);
        }
        for (name, c) in block.counters() {
            let expected = after.tensor_f64(&name).unwrap().iter().sum::<f64>();
            assert_eq!(c as f64, expected, "{}: {name}", case.name);
        }
    }
    checks.done();
}
