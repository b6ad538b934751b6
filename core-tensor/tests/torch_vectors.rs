//! The kernels against PyTorch's golden vectors (`conv2d.json`, `conv2d_general.json`,
//! `pool.json`), case by case as the
//! files list them, within the vectors' tolerance: max |ours - torch| <= 1e-4 * max(1, max |torch|).

use core_tensor::{self as ct};
use ndarray::{Ix1, Ix4};
use torch_vectors::{Case, check_close, load};

const TOL: f64 = 1e-4;

fn four(case: &Case, field: &str) -> ndarray::Array4<f32> {
    case.tensor(field)
        .unwrap()
        .into_dimensionality::<Ix4>()
        .unwrap()
}

/// Every case of a conv file (`conv2d.json`, or `conv2d_general.json` with `dilation` and
/// `groups`) through the automatic plan and through every input-gradient kernel.
fn conv_file_matches_pytorch(name: &str) {
    let file = load(name).unwrap();
    assert!(!file.cases.is_empty(), "{}: no cases", file.path.display());
    let mut failures = Vec::new();
    for case in &file.cases {
        let mut params = ct::Conv2dParams::new()
            .stride(case.pair("stride").unwrap())
            .padding(case.pair("padding").unwrap());
        if case.has("dilation") {
            params = params.dilation(case.pair("dilation").unwrap());
        }
        if case.has("groups") {
            params = params.groups(case.f64("groups").unwrap() as usize);
        }
        let x = four(case, "x");
        let w = four(case, "w");
        let b = case.has("b").then(|| {
            case.tensor("b")
                .unwrap()
                .into_dimensionality::<Ix1>()
                .unwrap()
        });
        let dy = four(case, "dy");
        let y = ct::conv2d(x.view(), w.view(), b.as_ref().map(|b| b.view()), &params).unwrap();
        let grads = ct::conv2d_backward(x.view(), w.view(), dy.view(), &params).unwrap();
        let plan = ct::Conv2dPlan::new(x.shape(), w.shape(), params).unwrap();
        let by_kernel = |input_grad| {
            let kernels = ct::Kernels {
                input_grad,
                ..plan.kernels()
            };
            let plan = ct::Conv2dPlan::new(x.shape(), w.shape(), params).unwrap();
            plan.with_kernels(kernels)
                .unwrap()
                .input_grad(dy.view(), w.view())
                .unwrap()
        };
        let checks = [
            ("y", y.into_dyn()),
            ("dx", by_kernel(ct::InputGradKernel::DilatedConv).into_dyn()),
            ("dx", by_kernel(ct::InputGradKernel::Col2Im).into_dyn()),
            ("dx", grads.dx.into_dyn()),
            ("dw", grads.dw.into_dyn()),
            ("db", grads.db.into_dyn()),
        ];
        for (field, ours) in checks {
            if field == "db" && !case.has("db") {
                continue;
            }
            let torch = case.tensor_f64(field).unwrap();
            if let Err(e) = check_close(&format!("{} {field}", case.name), &ours, &torch, TOL) {
                failures.push(e);
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn conv2d_forward_and_gradients_match_pytorch() {
    conv_file_matches_pytorch("conv2d.json");
}

#[test]
fn dilated_grouped_and_depthwise_conv2d_match_pytorch() {
    conv_file_matches_pytorch("conv2d_general.json");
}

#[test]
fn pooling_forward_and_gradient_match_pytorch() {
    let file = load("pool.json").unwrap();
    assert!(!file.cases.is_empty(), "{}: no cases", file.path.display());
    let mut failures = Vec::new();
    for case in &file.cases {
        let kernel = case.pair("kernel").unwrap();
        let stride = case.pair("stride").unwrap();
        let x = four(case, "x");
        let dy = four(case, "dy");
        let (y, dx) = match case.str("kind").unwrap() {
            "max" => {
                let (y, mask) = ct::max_pool2d(x.view(), kernel, stride).unwrap();
                (y, ct::max_pool2d_backward(dy.view(), &mask).unwrap())
            }
            "avg" => {
                let input = [x.shape()[2], x.shape()[3]];
                let y = ct::avg_pool2d(x.view(), kernel, stride).unwrap();
                (
                    y,
                    ct::avg_pool2d_backward(dy.view(), input, kernel, stride).unwrap(),
                )
            }
            other => panic!("{}: unknown pooling kind {other:?}", case.name),
        };
        for (field, ours) in [("y", y.into_dyn()), ("dx", dx.into_dyn())] {
            let torch = case.tensor_f64(field).unwrap();
            if let Err(e) = check_close(&format!("{} {field}", case.name), &ours, &torch, TOL) {
                failures.push(e);
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
