//! Every fast kernel against its naive direct-loop twin in `core_tensor::reference`, on random
//! shapes: strides 1-3, paddings 0-2, kernels 1-5 (non-square), 1-7, 16 or 32 filters (the last
//! two take the filter-lane kernels), batches 1-11 (more than one parallel chunk), sizes the
//! stride does not divide, rows wide enough for the direct kernels.

mod common;

use common::{assert_close, quantized4, random4};
use core_tensor::{self as ct, reference};
use ndarray::Array1;
use proptest::prelude::*;

#[derive(Debug, Clone, Copy)]
struct ConvCase {
    n: usize,
    c: usize,
    f: usize,
    h: usize,
    w: usize,
    k: [usize; 2],
    s: [usize; 2],
    p: [usize; 2],
    seed: u64,
}

fn conv_case() -> impl Strategy<Value = ConvCase> {
    (
        (
            1usize..=11,
            1usize..=4,
            prop_oneof![3 => 1usize..=7, 1 => prop::sample::select(vec![16usize, 32])],
        ),
        (
            1usize..=5,
            1usize..=5,
            1usize..=3,
            1usize..=3,
            0usize..=2,
            0usize..=2,
        ),
        // Widths up to 36: stride-1 cases with output rows of 16 or more take the direct kernels.
        (1usize..=13, 1usize..=36, any::<u64>()),
    )
        .prop_map(
            |((n, c, f), (kh, kw, sh, sw, ph, pw), (h, w, seed))| ConvCase {
                n,
                c,
                f,
                h,
                w,
                k: [kh, kw],
                s: [sh, sw],
                p: [ph, pw],
                seed,
            },
        )
        .prop_filter("kernel must fit the padded input", |c| {
            c.k[0] <= c.h + 2 * c.p[0] && c.k[1] <= c.w + 2 * c.p[1]
        })
}

impl ConvCase {
    fn out(&self) -> [usize; 2] {
        [
            ct::output_size(self.h, self.k[0], self.s[0], self.p[0]).unwrap(),
            ct::output_size(self.w, self.k[1], self.s[1], self.p[1]).unwrap(),
        ]
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn windows_and_im2col_match_reference(case in conv_case()) {
        let x = random4([case.n, case.c, case.h, case.w], case.seed);
        let xp = ct::pad(x.view(), case.p).unwrap();
        let fast = ct::windows(xp.view(), case.k, case.s).unwrap();
        let slow = reference::windows(x.view(), case.k, case.s, case.p).unwrap();
        prop_assert_eq!(fast.to_owned(), slow.clone());
        let m = ct::im2col(x.view(), case.k, case.s, case.p).unwrap();
        let (n, c, oh, ow, kh, kw) = slow.dim();
        let expect = slow.permuted_axes([0, 2, 3, 1, 4, 5]).as_standard_layout().into_owned()
            .into_shape_with_order((n * oh * ow, c * kh * kw)).unwrap();
        prop_assert_eq!(m, expect);
    }

    #[test]
    fn conv_forward_matches_reference(case in conv_case(), with_bias in any::<bool>()) {
        let x = random4([case.n, case.c, case.h, case.w], case.seed);
        let w = random4([case.f, case.c, case.k[0], case.k[1]], case.seed ^ 1);
        let b = Array1::from_iter((0..case.f).map(|i| i as f32 * 0.25 - 0.5));
        let b = with_bias.then(|| b.view());
        let fast = ct::conv2d(x.view(), w.view(), b, case.s, case.p).unwrap();
        let slow = reference::conv2d(x.view(), w.view(), b, case.s, case.p).unwrap();
        assert_close("conv2d", &fast, &slow, 1e-5);
    }

    #[test]
    fn conv_gradients_match_reference(case in conv_case()) {
        let x = random4([case.n, case.c, case.h, case.w], case.seed);
        let w = random4([case.f, case.c, case.k[0], case.k[1]], case.seed ^ 1);
        let [oh, ow] = case.out();
        let dy = random4([case.n, case.f, oh, ow], case.seed ^ 2);
        let grads = ct::conv2d_backward(x.view(), w.view(), dy.view(), case.s, case.p).unwrap();
        let dx = reference::conv2d_input_grad(dy.view(), w.view(), [case.h, case.w], case.s, case.p).unwrap();
        let dw = reference::conv2d_weight_grad(x.view(), dy.view(), case.k, case.s, case.p).unwrap();
        let db = reference::conv2d_bias_grad(dy.view());
        assert_close("dx", &grads.dx, &dx, 1e-5);
        let dx = dx.clone();
        assert_close("dw", &grads.dw, &dw, 1e-5);
        assert_close("db", &grads.db, &db, 1e-5);
        // The standalone kernels agree with the combined one to the bit.
        let dw_alone = ct::conv2d_weight_grad(x.view(), dy.view(), case.k, case.s, case.p).unwrap();
        let db_alone = ct::conv2d_bias_grad(dy.view()).unwrap();
        let dx_alone = ct::conv2d_input_grad(dy.view(), w.view(), [case.h, case.w], case.s, case.p).unwrap();
        prop_assert_eq!(&dw_alone, &grads.dw);
        // The forward pass's kept columns give the same gradients, bit for bit.
        let (y_kept, cols) = ct::conv2d_keep_columns(x.view(), w.view(), None, case.s, case.p).unwrap();
        prop_assert_eq!(y_kept, ct::conv2d(x.view(), w.view(), None, case.s, case.p).unwrap());
        let (dw_kept, db_kept) = ct::conv2d_param_grads_with_columns(&cols, dy.view()).unwrap();
        prop_assert_eq!(&dw_kept, &grads.dw);
        prop_assert_eq!(&db_kept, &grads.db);
        // Reusing those columns' buffers for another input of the same shape (the next training
        // step) gives what fresh buffers give: every entry is rewritten, the padding stays zero.
        let x2 = x.mapv(|v| 1.5 - v);
        let (y_reused, cols2) = ct::conv2d_reuse_columns(x2.view(), w.view(), None, case.s, case.p, cols).unwrap();
        let (y_fresh, cols_fresh) = ct::conv2d_keep_columns(x2.view(), w.view(), None, case.s, case.p).unwrap();
        prop_assert_eq!(y_reused, y_fresh);
        prop_assert_eq!(&cols2, &cols_fresh);
        // Columns of another geometry are not reused (a shorter batch), and still give the result.
        if case.n > 1 {
            let short = x2.slice(ndarray::s![..case.n - 1, .., .., ..]);
            let (y_short, _) = ct::conv2d_reuse_columns(short, w.view(), None, case.s, case.p, cols2).unwrap();
            prop_assert_eq!(y_short, ct::conv2d(short, w.view(), None, case.s, case.p).unwrap());
        }
        prop_assert_eq!(db_alone, grads.db);
        prop_assert_eq!(dx_alone, grads.dx);
        // Both input-gradient methods, whichever the automatic choice is.
        for method in [ct::InputGradMethod::DilatedConv, ct::InputGradMethod::Col2Im] {
            let dx_m = ct::conv2d_input_grad_with(method, dy.view(), w.view(), [case.h, case.w], case.s, case.p).unwrap();
            assert_close(&format!("dx {method:?}"), &dx_m, &dx, 1e-5);
        }
    }

    #[test]
    fn pooling_matches_reference(
        (n, c, h, w) in (1usize..=10, 1usize..=3, 1usize..=12, 1usize..=12),
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
    }
}

/// One LeNet5 layer (batch 10, 5x5 kernel, stride 1) against the reference: forward, weight and
/// bias gradients; the kept data is `kept_bytes` long and gives the same bits as recomputing from
/// the input.
fn lenet5_layer_matches_reference(
    x_shape: [usize; 4],
    f: usize,
    padding: [usize; 2],
    kept_bytes: usize,
    seed: u64,
) {
    let [n, c, ..] = x_shape;
    let x = random4(x_shape, seed);
    let w = random4([f, c, 5, 5], seed + 1);
    let b = Array1::from_shape_fn(f, |i| i as f32 * 0.1 - 0.2);
    let y = ct::conv2d(x.view(), w.view(), Some(b.view()), [1, 1], padding).unwrap();
    let want = reference::conv2d(x.view(), w.view(), Some(b.view()), [1, 1], padding).unwrap();
    assert_close("forward", &y, &want, 1e-5);
    let (oh, ow) = (y.shape()[2], y.shape()[3]);
    let dy = random4([n, f, oh, ow], seed + 2);
    let (dw, db) = ct::conv2d_param_grads(x.view(), dy.view(), [5, 5], [1, 1], padding).unwrap();
    let want_dw =
        reference::conv2d_weight_grad(x.view(), dy.view(), [5, 5], [1, 1], padding).unwrap();
    assert_close("dw", &dw, &want_dw, 1e-5);
    assert_close("db", &db, &reference::conv2d_bias_grad(dy.view()), 1e-5);
    let (y_kept, kept) =
        ct::conv2d_keep_columns(x.view(), w.view(), Some(b.view()), [1, 1], padding).unwrap();
    assert_eq!(y_kept, y);
    assert_eq!(kept.heap_bytes(), kept_bytes);
    let (dw_kept, db_kept) = ct::conv2d_param_grads_with_columns(&kept, dy.view()).unwrap();
    assert_eq!((dw_kept, db_kept), (dw, db));
}

/// LeNet5's first layer (1 channel, 5x5, padding 2, 28 outputs per row) takes the direct
/// kernels and keeps the padded images, not the 25-times-larger window matrix.
#[test]
fn lenet5_first_layer_direct_kernels_match_reference() {
    lenet5_layer_matches_reference([10, 1, 28, 28], 6, [2, 2], 10 * 32 * 32 * 4, 11);
}

/// LeNet5's second layer (6 -> 16 channels, 5x5, 10x10 outputs) takes the filter-lane weight
/// gradient and keeps the images themselves (no padding here), not 150 x 100 windows per image.
#[test]
fn lenet5_second_layer_filter_lane_kernels_match_reference() {
    lenet5_layer_matches_reference([10, 6, 14, 14], 16, [0, 0], 10 * 6 * 14 * 14 * 4, 21);
}
