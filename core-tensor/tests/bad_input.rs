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
        [1, 1],
        [0, 0],
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
        [0, 1],
        [0, 0],
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
        [1, 1],
        [1, 1],
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
    // dy of the wrong spatial size for a 8x8 input.
    let e = ct::conv2d_input_grad(zeros([2, 4, 5, 5]).view(), w.view(), [8, 8], [1, 1], [0, 0])
        .unwrap_err();
    assert!(
        e.to_string().contains("dy must have shape [2, 4, 6, 6]"),
        "{e}"
    );
    // dy with the wrong number of channels.
    assert!(
        ct::conv2d_input_grad(zeros([2, 5, 6, 6]).view(), w.view(), [8, 8], [1, 1], [0, 0])
            .is_err()
    );
    assert!(
        ct::conv2d_weight_grad(
            zeros([2, 3, 8, 8]).view(),
            zeros([2, 4, 5, 6]).view(),
            [3, 3],
            [1, 1],
            [0, 0]
        )
        .is_err()
    );
    assert!(
        ct::conv2d_backward(
            zeros([2, 3, 8, 8]).view(),
            zeros([4, 2, 3, 3]).view(),
            zeros([2, 4, 6, 6]).view(),
            [1, 1],
            [0, 0]
        )
        .is_err()
    );
    assert!(ct::dilate_pad(zeros([1, 1, 3, 3]).view(), [5, 5], [3, 3], [2, 2], [0, 0]).is_err());
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
        [1, 1],
        [0, 0],
    )
    .unwrap_err();
    assert!(e.to_string().contains("bias must have shape [2]"), "{e}");
}

#[test]
fn windows_need_a_fitting_kernel() {
    assert!(ct::windows(zeros([1, 1, 3, 3]).view(), [4, 1], [1, 1]).is_err());
    assert!(ct::windows(zeros([1, 1, 3, 3]).view(), [0, 1], [1, 1]).is_err());
}
