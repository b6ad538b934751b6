//! Bad shapes and arguments are errors that name the problem, never panics.

use core_tensor::{self as ct, TensorError};
use ndarray::{Array1, Array4};

fn zeros(shape: [usize; 4]) -> Array4<f32> {
    Array4::zeros(shape)
}

#[test]
fn conv_channel_mismatch_names_both_shapes() {
    let e = ct::conv2d(
        zeros([2, 3, 8, 8]).view(),
        zeros([4, 2, 3, 3]).view(),
        None,
        &ct::Conv2dParams::new().stride([1, 1]).padding([0, 0]),
    )
    .unwrap_err();
    assert!(matches!(e, TensorError::ChannelMismatch { .. }));
    let msg = e.to_string();
    assert!(
        msg.contains("[2, 3, 8, 8]") && msg.contains("[4, 2, 3, 3]"),
        "{msg}"
    );
}

#[test]
fn zero_stride_is_an_error() {
    let e = ct::conv2d(
        zeros([1, 1, 4, 4]).view(),
        zeros([1, 1, 2, 2]).view(),
        None,
        &ct::Conv2dParams::new().stride([0, 1]).padding([0, 0]),
    )
    .unwrap_err();
    assert!(e.to_string().contains("stride must be at least 1"), "{e}");
    assert!(ct::max_pool2d(zeros([1, 1, 4, 4]).view(), [2, 2], [1, 0]).is_err());
    assert!(ct::avg_pool2d(zeros([1, 1, 4, 4]).view(), [2, 2], [0, 0]).is_err());
    assert!(ct::im2col(zeros([1, 1, 4, 4]).view(), [2, 2], [0, 0], [0, 0]).is_err());
}

#[test]
fn kernel_larger_than_padded_input_names_both_shapes() {
    let e = ct::conv2d(
        zeros([1, 1, 4, 4]).view(),
        zeros([1, 1, 7, 3]).view(),
        None,
        &ct::Conv2dParams::new().stride([1, 1]).padding([1, 1]),
    )
    .unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("[7, 3]") && msg.contains("[1, 1, 4, 4]") && msg.contains("[6, 6]"),
        "{msg}"
    );
    assert!(ct::max_pool2d(zeros([1, 1, 2, 2]).view(), [3, 3], [1, 1]).is_err());
}

#[test]
fn gradient_shapes_are_checked() {
    let w = zeros([4, 3, 3, 3]);
    let p = ct::Conv2dParams::new();
    let mut plan = ct::Conv2dPlan::new(&[2, 3, 8, 8], w.shape(), p).unwrap();
    // dy of the wrong spatial size for a 8x8 input.
    let e = plan
        .input_grad(zeros([2, 4, 5, 5]).view(), w.view())
        .unwrap_err();
    assert!(
        e.to_string().contains("dy must have shape [2, 4, 6, 6]"),
        "{e}"
    );
    // dy with the wrong number of channels; a weight that is not the planned one.
    assert!(
        plan.input_grad(zeros([2, 5, 6, 6]).view(), w.view())
            .is_err()
    );
    assert!(
        plan.input_grad(zeros([2, 4, 6, 6]).view(), zeros([4, 3, 3, 2]).view())
            .is_err()
    );
    // An input that is not the planned one.
    let e = plan
        .forward(zeros([2, 3, 9, 8]).view(), w.view(), None)
        .unwrap_err();
    assert!(e.to_string().contains("(N, 3, 8, 8), as planned"), "{e}");
    assert!(
        ct::conv2d_backward(
            zeros([2, 3, 8, 8]).view(),
            zeros([4, 2, 3, 3]).view(),
            zeros([2, 4, 6, 6]).view(),
            &p,
        )
        .is_err()
    );
    assert!(
        ct::conv2d_backward(
            zeros([2, 3, 8, 8]).view(),
            w.view(),
            zeros([2, 4, 5, 6]).view(),
            &p,
        )
        .is_err()
    );
    let stride2 = p.stride([2, 2]);
    assert!(ct::dilate_pad(zeros([1, 1, 3, 3]).view(), [5, 5], [3, 3], &stride2).is_err());
    // Dilation and groups out of range.
    let x = zeros([1, 4, 8, 8]);
    let e = ct::conv2d(
        x.view(),
        zeros([2, 4, 3, 3]).view(),
        None,
        &p.dilation([0, 1]),
    )
    .unwrap_err();
    assert!(e.to_string().contains("dilation must be at least 1"), "{e}");
    let e = ct::conv2d(
        x.view(),
        zeros([2, 4, 3, 3]).view(),
        None,
        &p.dilation([4, 1]),
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("larger than the padded input"),
        "{e}"
    );
    let e = ct::conv2d(x.view(), zeros([3, 2, 3, 3]).view(), None, &p.groups(2)).unwrap_err();
    assert!(e.to_string().contains("divide"), "{e}");
    let e = ct::conv2d(x.view(), zeros([2, 4, 3, 3]).view(), None, &p.groups(2)).unwrap_err();
    assert!(e.to_string().contains("groups 2 expects 8"), "{e}");
    assert!(ct::rotate_kernel(zeros([3, 1, 2, 2]).view(), 2).is_err());
    let (_, mask) = ct::max_pool2d(zeros([1, 2, 4, 4]).view(), [2, 2], [2, 2]).unwrap();
    assert!(ct::max_pool2d_backward(zeros([1, 2, 3, 2]).view(), &mask).is_err());
    assert!(ct::avg_pool2d_backward(zeros([1, 2, 3, 2]).view(), [4, 4], [2, 2], [2, 2]).is_err());
}

#[test]
fn bias_of_the_wrong_length_is_an_error() {
    let b = Array1::<f32>::zeros(3);
    let e = ct::conv2d(
        zeros([1, 1, 4, 4]).view(),
        zeros([2, 1, 3, 3]).view(),
        Some(b.view()),
        &ct::Conv2dParams::new().stride([1, 1]).padding([0, 0]),
    )
    .unwrap_err();
    assert!(e.to_string().contains("bias must have shape [2]"), "{e}");
}

#[test]
fn windows_need_a_fitting_kernel() {
    assert!(ct::windows(zeros([1, 1, 3, 3]).view(), [4, 1], [1, 1]).is_err());
    assert!(ct::windows(zeros([1, 1, 3, 3]).view(), [0, 1], [1, 1]).is_err());
}

#[test]
fn sizes_that_overflow_are_errors_not_wrapped_numbers() {
    let x = zeros([1, 1, 4, 4]);
    let w = zeros([1, 1, 5, 5]);
    // (2^63 + 2) * 2 wraps to 4 in release builds, which would look like a padding of 2.
    let huge = (1_usize << 63) + 2;
    let e = ct::conv2d(
        x.view(),
        w.view(),
        None,
        &ct::Conv2dParams::new().padding([huge, 2]),
    )
    .unwrap_err();
    assert!(matches!(e, TensorError::TooLarge { .. }), "{e}");
    assert_eq!(ct::output_size(4, 5, 1, huge), None);
    assert!(ct::pad(x.view(), [huge, 0]).is_err());
    assert!(ct::max_pool2d(x.view(), [usize::MAX, 2], [1, 1]).is_err());
    // A geometry whose window matrix cannot be addressed is refused before any allocation.
    let e = ct::conv2d(
        x.view(),
        w.view(),
        None,
        &ct::Conv2dParams::new().padding([1 << 40, 1 << 40]),
    )
    .unwrap_err();
    assert!(e.to_string().contains("more than"), "{e}");
}

#[test]
fn initialisers_refuse_tensors_beyond_the_parameter_limit() {
    let mut rng = ct::random::seeded_rng(0);
    for shape in [
        vec![1 << 62, 1, 5, 5],
        vec![usize::MAX, 2],
        vec![1 << 33, 1],
    ] {
        let e = ct::init::default_weight(&shape, &mut rng).unwrap_err();
        assert!(
            matches!(
                e,
                TensorError::TooLarge { .. } | TensorError::InvalidArgument { .. }
            ),
            "{shape:?}: {e}"
        );
    }
    assert!(ct::init::default_bias(1 << 40, 3, &mut rng).is_err());
    // The limit leaves ordinary layers alone.
    assert_eq!(
        ct::init::default_weight(&[120, 16, 5, 5], &mut rng)
            .unwrap()
            .len(),
        48_000
    );
}
