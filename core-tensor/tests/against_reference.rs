//! Every fast kernel against its naive direct-loop twin in `core_tensor::reference`, on random
//! shapes: strides 1-3, paddings 0-2, dilations 1-3, kernels 1-5 (non-square), groups 1, 2 and
//! depthwise, 1-7, 16 or 32 filters per group (the last two take the filter-lane kernels),
//! batches 1-11 (more than one parallel chunk), sizes the stride does not divide, rows wide
//! enough for the direct kernels; every kernel that can compute a case is run on it.

mod common;

use common::{assert_close, quantized4, random4};
use core_tensor::{self as ct, reference};
use ndarray::{Array1, Array4};
use proptest::prelude::*;

#[derive(Debug, Clone, Copy)]
struct ConvCase {
    n: usize,
    c: usize,
    f: usize,
    h: usize,
    w: usize,
    k: [usize; 2],
    params: ct::Conv2dParams,
    seed: u64,
}

/// Groups: one; two; or depthwise (G = C, one or two filters per channel).
fn channels_and_groups() -> impl Strategy<Value = (usize, usize, usize)> {
    (
        0usize..3,
        1usize..=4,
        prop_oneof![3 => 1usize..=7, 1 => prop::sample::select(vec![16usize, 32])],
    )
        .prop_map(|(kind, cg, fg)| match kind {
            0 => (cg, fg, 1),
            1 => (2 * cg, 2 * fg.min(8), 2),
            _ => (2 * cg, 2 * cg * fg.min(2), 2 * cg),
        })
}

fn conv_case() -> impl Strategy<Value = ConvCase> {
    (
        (1usize..=11, channels_and_groups()),
        (
            1usize..=5,
            1usize..=5,
            1usize..=3,
            1usize..=3,
            0usize..=2,
            0usize..=2,
        ),
        // Dilation 1 most often, up to 3.
        (
            prop_oneof![2 => Just(1usize), 1 => 1usize..=3],
            prop_oneof![2 => Just(1usize), 1 => 1usize..=3],
        ),
        // Widths up to 36: stride-1 cases with output rows of 16 or more take the direct kernels.
        (1usize..=13, 1usize..=36, any::<u64>()),
    )
        .prop_map(
            |((n, (c, f, groups)), (kh, kw, sh, sw, ph, pw), (dh, dw), (h, w, seed))| ConvCase {
                n,
                c,
                f,
                h,
                w,
                k: [kh, kw],
                params: ct::Conv2dParams::new()
                    .stride([sh, sw])
                    .padding([ph, pw])
                    .dilation([dh, dw])
                    .groups(groups),
                seed,
            },
        )
        .prop_filter("kernel must fit the padded input", |c| {
            let p = &c.params;
            (c.k[0] - 1) * p.dilation[0] < c.h + 2 * p.padding[0]
                && (c.k[1] - 1) * p.dilation[1] < c.w + 2 * p.padding[1]
        })
}

impl ConvCase {
    fn out(&self) -> [usize; 2] {
        let p = &self.params;
        let size = |axis: usize, input: usize| {
            let extent = ct::kernel_extent(self.k[axis], p.dilation[axis]).unwrap();
            ct::output_size(input, extent, p.stride[axis], p.padding[axis]).unwrap()
        };
        [size(0, self.h), size(1, self.w)]
    }

    fn x(&self) -> ndarray::Array4<f32> {
        random4([self.n, self.c, self.h, self.w], self.seed)
    }

    fn weight(&self) -> ndarray::Array4<f32> {
        let cg = self.c / self.params.groups;
        random4([self.f, cg, self.k[0], self.k[1]], self.seed ^ 1)
    }

    fn dy(&self) -> ndarray::Array4<f32> {
        let [oh, ow] = self.out();
        random4([self.n, self.f, oh, ow], self.seed ^ 2)
    }
}

/// Every combination of kernels that can compute the case's geometry.
fn every_kernel_choice(plan: &ct::Conv2dPlan) -> Vec<ct::Kernels> {
    use ct::{ForwardKernel as F, InputGradKernel as I, WeightGradKernel as W};
    let mut all = Vec::new();
    for forward in [F::Direct, F::FilterLanes, F::Winograd, F::Gemm] {
        for input_grad in [I::Col2Im, I::DilatedConv] {
            for weight_grad in [W::Direct, W::FilterLanes, W::Winograd, W::Gemm] {
                let k = ct::Kernels {
                    forward,
                    input_grad,
                    weight_grad,
                };
                let fresh = ct::Conv2dPlan::new(
                    &plan.geometry().input_shape(),
                    &plan.geometry().weight_shape(),
                    plan.geometry().params(),
                )
                .unwrap();
                if fresh.with_kernels(k).is_ok() {
                    all.push(k);
                }
            }
        }
    }
    all
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn windows_and_im2col_match_reference(case in conv_case()) {
        let (s, p) = (case.params.stride, case.params.padding);
        prop_assume!(case.k[0] <= case.h + 2 * p[0] && case.k[1] <= case.w + 2 * p[1]);
        let x = case.x();
        let xp = ct::pad(x.view(), p).unwrap();
        let fast = ct::windows(xp.view(), case.k, s).unwrap();
        let slow = reference::windows(x.view(), case.k, s, p).unwrap();
        prop_assert_eq!(fast.to_owned(), slow.clone());
        let m = ct::im2col(x.view(), case.k, s, p).unwrap();
        let (n, c, oh, ow, kh, kw) = slow.dim();
        let expect = slow.permuted_axes([0, 2, 3, 1, 4, 5]).as_standard_layout().into_owned()
            .into_shape_with_order((n * oh * ow, c * kh * kw)).unwrap();
        prop_assert_eq!(m, expect);
    }

    #[test]
    fn conv_forward_matches_reference(case in conv_case(), with_bias in any::<bool>()) {
        let (x, w) = (case.x(), case.weight());
        let b = Array1::from_iter((0..case.f).map(|i| i as f32 * 0.25 - 0.5));
        let b = with_bias.then(|| b.view());
        let slow = reference::conv2d(x.view(), w.view(), b, &case.params).unwrap();
        let fast = ct::conv2d(x.view(), w.view(), b, &case.params).unwrap();
        assert_close("conv2d", &fast, &slow, 1e-5);
        let plan = ct::Conv2dPlan::new(x.shape(), w.shape(), case.params).unwrap();
        for kernels in every_kernel_choice(&plan) {
            let mut plan = ct::Conv2dPlan::new(x.shape(), w.shape(), case.params).unwrap().with_kernels(kernels).unwrap();
            assert_close(&format!("conv2d {kernels:?}"), &plan.forward(x.view(), w.view(), b).unwrap(), &slow, 1e-5);
        }
    }

    #[test]
    fn conv_gradients_match_reference(case in conv_case()) {
        let (x, w, dy) = (case.x(), case.weight(), case.dy());
        let p = &case.params;
        let dx = reference::conv2d_input_grad(dy.view(), w.view(), [case.h, case.w], p).unwrap();
        let dw = reference::conv2d_weight_grad(x.view(), dy.view(), case.k, p).unwrap();
        let db = reference::conv2d_bias_grad(dy.view());
        let grads = ct::conv2d_backward(x.view(), w.view(), dy.view(), p).unwrap();
        assert_close("dx", &grads.dx, &dx, 1e-5);
        assert_close("dw", &grads.dw, &dw, 1e-5);
        assert_close("db", &grads.db, &db, 1e-5);
        let plan = ct::Conv2dPlan::new(x.shape(), w.shape(), *p).unwrap();
        for kernels in every_kernel_choice(&plan) {
            let mut plan = ct::Conv2dPlan::new(x.shape(), w.shape(), *p).unwrap().with_kernels(kernels).unwrap();
            let y = plan.forward_train(x.view(), w.view(), None).unwrap();
            // A training forward gives the bits of an inference forward.
            prop_assert_eq!(&y, &plan.forward(x.view(), w.view(), None).unwrap());
            let g = plan.backward(dy.view(), w.view()).unwrap();
            assert_close(&format!("dx {kernels:?}"), &g.dx, &dx, 1e-5);
            assert_close(&format!("dw {kernels:?}"), &g.dw, &dw, 1e-5);
            assert_close(&format!("db {kernels:?}"), &g.db, &db, 1e-5);
            // The next step reuses the kept buffers: every entry is rewritten and the padding
            // stays zero, so it gives what a fresh plan gives.
            let x2 = x.mapv(|v| 1.5 - v);
            plan.forward_train(x2.view(), w.view(), None).unwrap();
            let mut fresh = ct::Conv2dPlan::new(x.shape(), w.shape(), *p).unwrap().with_kernels(kernels).unwrap();
            fresh.forward_train(x2.view(), w.view(), None).unwrap();
            prop_assert_eq!(plan.param_grads(dy.view()).unwrap(), fresh.param_grads(dy.view()).unwrap());
            // An input handed over: kept itself where it is what the weight gradient reads, the
            // same bits either way.
            let mut owned = ct::Conv2dPlan::new(x.shape(), w.shape(), *p).unwrap().with_kernels(kernels).unwrap();
            let mut y_owned = ndarray::Array4::zeros(y.raw_dim());
            let back = owned.forward_train_owned(x2.clone(), w.view(), None, y_owned.view_mut()).unwrap();
            prop_assert_eq!(&y_owned, &fresh.forward(x2.view(), w.view(), None).unwrap());
            prop_assert_eq!(owned.param_grads(dy.view()).unwrap(), fresh.param_grads(dy.view()).unwrap());
            prop_assert_eq!(back.is_none(), owned.take_input().as_ref() == Some(&x2));
            // A shorter batch (the last of an epoch) through the same plan.
            if case.n > 1 {
                let short = x2.slice(ndarray::s![..case.n - 1, .., .., ..]);
                let short_dy = dy.slice(ndarray::s![..case.n - 1, .., .., ..]);
                plan.forward_train(short, w.view(), None).unwrap();
                let want = reference::conv2d_weight_grad(short, short_dy, case.k, p).unwrap();
                assert_close("dw of a shorter batch", &plan.param_grads(short_dy).unwrap().0, &want, 1e-5);
            }
        }
    }

    #[test]
    fn pooling_matches_reference(
        (n, c, h, w) in (1usize..=10, 1usize..=3, 1usize..=12, 1usize..=30),
        (kh, kw, sh, sw) in (1usize..=4, 1usize..=4, 1usize..=3, 1usize..=3),
        seed in any::<u64>(),
    ) {
        prop_assume!(kh <= h && kw <= w);
        let (k, s) = ([kh, kw], [sh, sw]);
        // Few distinct values, so that windows often hold several equal maxima.
        let x = quantized4([n, c, h, w], seed, 4);
        let (y, mask) = ct::max_pool2d(x.view(), k, s).unwrap();
        let (y_ref, mask_ref) = reference::max_pool2d(x.view(), k, s).unwrap();
        prop_assert_eq!(&y, &y_ref);
        prop_assert_eq!(mask.to_dense(), mask_ref.clone());
        let dy = random4(mask.output_shape(), seed ^ 3);
        let dx = ct::max_pool2d_backward(dy.view(), &mask).unwrap();
        let dx_ref = reference::max_pool2d_backward(dy.view(), &mask_ref, [h, w], s);
        assert_close("max dx", &dx, &dx_ref, 1e-6);

        let x = random4([n, c, h, w], seed);
        let y = ct::avg_pool2d(x.view(), k, s).unwrap();
        let y_ref = reference::avg_pool2d(x.view(), k, s).unwrap();
        assert_close("avg y", &y, &y_ref, 1e-6);
        let dx = ct::avg_pool2d_backward(dy.view(), [h, w], k, s).unwrap();
        let dx_ref = reference::avg_pool2d_backward(dy.view(), [h, w], k, s).unwrap();
        assert_close("avg dx", &dx, &dx_ref, 1e-6);
        // The exact f32 order that training's bits depend on.
        prop_assert_eq!(&y, &avg_pool_in_tap_order(&x, k, s));
        prop_assert_eq!(&dx, &avg_pool_backward_in_tap_order(&dy, [h, w], k, s));
    }
}

/// Average pooling in f32, each window's taps added in row-major order onto 0, then scaled.
fn avg_pool_in_tap_order(x: &Array4<f32>, k: [usize; 2], s: [usize; 2]) -> Array4<f32> {
    let (n, c, h, w) = x.dim();
    let (oh, ow) = ((h - k[0]) / s[0] + 1, (w - k[1]) / s[1] + 1);
    let scale = 1.0 / (k[0] * k[1]) as f32;
    Array4::from_shape_fn((n, c, oh, ow), |(b, ch, oy, ox)| {
        let mut acc = 0.0_f32;
        for i in 0..k[0] {
            for j in 0..k[1] {
                acc += x[[b, ch, oy * s[0] + i, ox * s[1] + j]];
            }
        }
        acc * scale
    })
}

/// The input gradient of average pooling in f32: onto zeros, `dy · scale` added to each input
/// from every window it lies in, by output row, then tap row, then tap column, then window along
/// the row.
fn avg_pool_backward_in_tap_order(
    dy: &Array4<f32>,
    input: [usize; 2],
    k: [usize; 2],
    s: [usize; 2],
) -> Array4<f32> {
    let (n, c, oh, ow) = dy.dim();
    let scale = 1.0 / (k[0] * k[1]) as f32;
    let mut dx = Array4::zeros((n, c, input[0], input[1]));
    for (b, ch, oy) in row_major(n, c, oh) {
        for i in 0..k[0] {
            for j in 0..k[1] {
                for ox in 0..ow {
                    dx[[b, ch, oy * s[0] + i, ox * s[1] + j]] += dy[[b, ch, oy, ox]] * scale;
                }
            }
        }
    }
    dx
}

/// Every `(a, b, c)` below `(n, m, l)`, in row-major order.
fn row_major(n: usize, m: usize, l: usize) -> impl Iterator<Item = (usize, usize, usize)> {
    (0..n).flat_map(move |a| (0..m).flat_map(move |b| (0..l).map(move |c| (a, b, c))))
}

/// A 5x5 layer (batch 10, stride 1) against the reference: forward, weight and bias gradients;
/// the plan picks `kernels` and keeps `kept_bytes` between the forward and the backward pass.
fn five_by_five_layer_matches_reference(
    x_shape: [usize; 4],
    f: usize,
    padding: [usize; 2],
    kernels: (ct::ForwardKernel, ct::WeightGradKernel),
    kept_bytes: usize,
    seed: u64,
) {
    let [n, c, ..] = x_shape;
    let params = ct::Conv2dParams::new().padding(padding);
    let x = random4(x_shape, seed);
    let w = random4([f, c, 5, 5], seed + 1);
    let b = Array1::from_shape_fn(f, |i| i as f32 * 0.1 - 0.2);
    let mut plan = ct::Conv2dPlan::new(x.shape(), w.shape(), params).unwrap();
    assert_eq!(
        (plan.kernels().forward, plan.kernels().weight_grad),
        kernels
    );
    let y = plan
        .forward_train(x.view(), w.view(), Some(b.view()))
        .unwrap();
    let want = reference::conv2d(x.view(), w.view(), Some(b.view()), &params).unwrap();
    assert_close("forward", &y, &want, 1e-5);
    assert_eq!(plan.kept_bytes(), kept_bytes);
    let (oh, ow) = (y.shape()[2], y.shape()[3]);
    let dy = random4([n, f, oh, ow], seed + 2);
    let (dw, db) = plan.param_grads(dy.view()).unwrap();
    let want_dw = reference::conv2d_weight_grad(x.view(), dy.view(), [5, 5], &params).unwrap();
    assert_close("dw", &dw, &want_dw, 1e-5);
    assert_close("db", &db, &reference::conv2d_bias_grad(dy.view()), 1e-5);
}

/// A first layer with few filters (1 channel, 4 filters, 5x5, padding 2, 28 outputs per row)
/// takes the direct kernels and keeps the padded images, not the 25-times-larger window matrix.
#[test]
fn one_channel_layer_takes_direct_kernels() {
    use ct::{ForwardKernel as F, WeightGradKernel as W};
    five_by_five_layer_matches_reference(
        [10, 1, 28, 28],
        4,
        [2, 2],
        (F::Direct, W::Direct),
        10 * 32 * 32 * 4,
        11,
    );
}

/// A first layer with 6 filters (1 channel, 5x5, padding 2, 28x28): the filter-lane forward and
/// the GEMM weight gradient, keeping the images (0.03 MB here), not the window matrix the GEMM
/// reads (25 times larger), which the weight gradient lays out a chunk at a time.
#[test]
fn six_filter_first_layer_keeps_its_images_for_the_gemm() {
    use ct::{ForwardKernel as F, WeightGradKernel as W};
    five_by_five_layer_matches_reference(
        [10, 1, 28, 28],
        6,
        [2, 2],
        (F::FilterLanes, W::Gemm),
        10 * 28 * 28 * 4,
        31,
    );
}

/// 6 -> 16 channels, 5x5, 10x10 outputs: the filter-lane forward and weight gradient, keeping
/// the images themselves (no padding here), not 150 x 100 windows per image.
#[test]
fn sixteen_filter_layer_takes_filter_lanes() {
    use ct::{ForwardKernel as F, WeightGradKernel as W};
    five_by_five_layer_matches_reference(
        [10, 6, 14, 14],
        16,
        [0, 0],
        (F::FilterLanes, W::FilterLanes),
        10 * 6 * 14 * 14 * 4,
        21,
    );
}

/// Winograd's F(2x2, 3x3) at the widths where plans take it (32 channels and more), on outputs of
/// odd and even sizes (small ones forced: plans leave planes under 8x8 to the GEMM) and every
/// padding of a 3x3 kernel: forward, dL/dx through the Winograd convolution of the padded
/// gradient, and dL/dw and dL/db through the transforms backwards.
#[test]
fn winograd_layers_match_reference() {
    for (padding, [h, w]) in [(1, [11, 14]), (0, [9, 8]), (2, [6, 7])] {
        let params = ct::Conv2dParams::new().padding([padding; 2]);
        let x = random4([3, 32, h, w], 7);
        let wt = random4([40, 32, 3, 3], 8).mapv(|v| v * 0.2);
        let b = Array1::from_shape_fn(40, |i| i as f32 * 0.01);
        let planned = ct::Conv2dPlan::new(x.shape(), wt.shape(), params).unwrap();
        let big = h + 2 * padding - 2 >= 8 && w + 2 * padding - 2 >= 8;
        assert_eq!(
            planned.kernels().forward == ct::ForwardKernel::Winograd,
            big
        );
        let kernels = ct::Kernels {
            forward: ct::ForwardKernel::Winograd,
            input_grad: ct::InputGradKernel::DilatedConv,
            weight_grad: ct::WeightGradKernel::Winograd,
        };
        assert_eq!(planned.kernels().weight_grad == kernels.weight_grad, big);
        let mut plan = planned.with_kernels(kernels).unwrap();
        let y = plan
            .forward_train(x.view(), wt.view(), Some(b.view()))
            .unwrap();
        let want = reference::conv2d(x.view(), wt.view(), Some(b.view()), &params).unwrap();
        assert_close("Winograd forward", &y, &want, 1e-5);
        let dy = random4([3, 40, y.shape()[2], y.shape()[3]], 9);
        let dx = plan.input_grad(dy.view(), wt.view()).unwrap();
        let want = reference::conv2d_input_grad(dy.view(), wt.view(), [h, w], &params).unwrap();
        assert_close("Winograd dx", &dx, &want, 1e-5);
        let (dw, db) = plan.param_grads(dy.view()).unwrap();
        let want = reference::conv2d_weight_grad(x.view(), dy.view(), [3, 3], &params).unwrap();
        assert_close("Winograd dw", &dw, &want, 1e-5);
        assert_close(
            "Winograd db",
            &db,
            &reference::conv2d_bias_grad(dy.view()),
            1e-5,
        );
    }
}

/// Winograd's F(2x2, 5x5) at 32 -> 40 channels, on outputs of odd and even sizes (small ones
/// forced) and the paddings 2, 0 and 4: forward, dL/dx through the Winograd convolution of the
/// padded gradient, and dL/dw and dL/db through the transforms backwards. The tolerance is
/// wider than F(2x2, 3x3)'s: the transform's fractions (1/6, 1/24, ...) round where its do not.
#[test]
fn winograd_5x5_layers_match_reference() {
    for (padding, [h, w]) in [(2, [13, 14]), (0, [13, 12]), (4, [5, 6])] {
        let params = ct::Conv2dParams::new().padding([padding; 2]);
        let x = random4([3, 32, h, w], 17);
        let wt = random4([40, 32, 5, 5], 18).mapv(|v| v * 0.1);
        let b = Array1::from_shape_fn(40, |i| i as f32 * 0.01);
        let planned = ct::Conv2dPlan::new(x.shape(), wt.shape(), params).unwrap();
        let big = h + 2 * padding - 4 >= 8 && w + 2 * padding - 4 >= 8;
        assert_eq!(
            planned.kernels().forward == ct::ForwardKernel::Winograd,
            big
        );
        assert_eq!(
            planned.kernels().weight_grad == ct::WeightGradKernel::Winograd,
            big
        );
        let kernels = ct::Kernels {
            forward: ct::ForwardKernel::Winograd,
            input_grad: ct::InputGradKernel::DilatedConv,
            weight_grad: ct::WeightGradKernel::Winograd,
        };
        let mut plan = planned.with_kernels(kernels).unwrap();
        let y = plan
            .forward_train(x.view(), wt.view(), Some(b.view()))
            .unwrap();
        let want = reference::conv2d(x.view(), wt.view(), Some(b.view()), &params).unwrap();
        assert_close("Winograd 5x5 forward", &y, &want, 2e-5);
        let dy = random4([3, 40, y.shape()[2], y.shape()[3]], 19);
        let dx = plan.input_grad(dy.view(), wt.view()).unwrap();
        let want = reference::conv2d_input_grad(dy.view(), wt.view(), [h, w], &params).unwrap();
        assert_close("Winograd 5x5 dx", &dx, &want, 2e-5);
        let (dw, db) = plan.param_grads(dy.view()).unwrap();
        let want = reference::conv2d_weight_grad(x.view(), dy.view(), [5, 5], &params).unwrap();
        assert_close("Winograd 5x5 dw", &dw, &want, 2e-5);
        assert_close(
            "Winograd 5x5 db",
            &db,
            &reference::conv2d_bias_grad(dy.view()),
            1e-5,
        );
    }
}

/// The plan's choices where the output plane or the window is small: a 64 -> 64 3x3 layer on a
/// 7x7 plane goes to the GEMM (Winograd's tiles overhang), on 14x14 to Winograd; a 1 -> 16 3x3
/// stem's weight gradient to the GEMM (its window matrix is small), a 16 -> 16 one's to the
/// filter lanes.
#[test]
fn small_planes_and_short_windows_go_to_the_gemm() {
    let kernels = |c, f, hw| {
        ct::Conv2dPlan::new(
            &[8, c, hw, hw],
            &[f, c, 3, 3],
            ct::Conv2dParams::new().padding([1, 1]),
        )
        .unwrap()
        .kernels()
    };
    assert_eq!(kernels(64, 64, 7).forward, ct::ForwardKernel::Gemm);
    assert_eq!(kernels(64, 64, 7).input_grad, ct::InputGradKernel::Col2Im);
    assert_eq!(kernels(64, 64, 14).forward, ct::ForwardKernel::Winograd);
    assert_eq!(kernels(1, 16, 28).weight_grad, ct::WeightGradKernel::Gemm);
    assert_eq!(
        kernels(16, 16, 28).weight_grad,
        ct::WeightGradKernel::FilterLanes
    );
}

/// Every kernel and stride from 1 to 3 on narrow and wide rows (so both the window-by-window
/// and the block paths of the pooling kernels, at every stride), exactly as the reference and the
/// taps in f32 order.
#[test]
fn pooling_paths_match_the_reference_at_every_small_kernel_and_stride() {
    for (kh, kw, sh, sw) in (1..=3).flat_map(|a| {
        (1..=3).flat_map(move |b| (1..=3).flat_map(move |c| (1..=3).map(move |d| (a, b, c, d))))
    }) {
        for w in [6, 31] {
            let (k, s) = ([kh, kw], [sh, sw]);
            let seed = (kh * 1000 + kw * 100 + sh * 10 + sw + w) as u64;
            let x = quantized4([2, 3, 7, w], seed, 4);
            let (y, mask) = ct::max_pool2d(x.view(), k, s).unwrap();
            let (y_ref, mask_ref) = reference::max_pool2d(x.view(), k, s).unwrap();
            assert_eq!(y, y_ref, "max, kernel {k:?} stride {s:?} width {w}");
            assert_eq!(
                mask.to_dense(),
                mask_ref,
                "argmax, kernel {k:?} stride {s:?} width {w}"
            );
            let x = random4([2, 3, 7, w], seed);
            let y = ct::avg_pool2d(x.view(), k, s).unwrap();
            assert_eq!(
                y,
                avg_pool_in_tap_order(&x, k, s),
                "avg, kernel {k:?} stride {s:?}"
            );
            let dy = random4(mask.output_shape(), seed ^ 5);
            let dx = ct::avg_pool2d_backward(dy.view(), [7, w], k, s).unwrap();
            let expected = avg_pool_backward_in_tap_order(&dy, [7, w], k, s);
            assert_eq!(dx, expected, "avg dx, kernel {k:?} stride {s:?} width {w}");
        }
    }
}
