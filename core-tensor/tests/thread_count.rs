//! Results are bit-identical with 1, 2 and 8 threads: chunk boundaries and the order of partial
//! sums depend on the batch size only.

mod common;

use common::random4;
use core_tensor::{self as ct};
use ndarray::{Array1, Array4};

#[derive(Debug, PartialEq)]
struct Everything {
    y: Array4<f32>,
    grads: ct::Conv2dGrads,
    db: Array1<f32>,
    max_y: Array4<f32>,
    max_dx: Array4<f32>,
    avg_y: Array4<f32>,
    avg_dx: Array4<f32>,
}

fn run_all(threads: usize) -> Vec<Everything> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| {
        // Layers that take each kernel (GEMM with col2im; filter lanes; dilated, grouped and
        // depthwise; Winograd 3x3 and 5x5), with a batch that is not a multiple of the chunk size.
        let p = ct::Conv2dParams::new;
        [
            (1, 6, 28, 5, p().padding([2, 2])),
            (6, 16, 14, 5, p()),
            (16, 120, 5, 5, p()),
            (8, 16, 12, 3, p().padding([2, 2]).dilation([2, 2])),
            (8, 12, 10, 3, p().stride([2, 2]).padding([1, 1]).groups(4)),
            (8, 8, 16, 3, p().padding([1, 1]).groups(8)),
            (32, 32, 9, 3, p().padding([1, 1])),
            (32, 40, 11, 5, p().padding([2, 2])),
        ]
        .iter()
        .enumerate()
        .map(|(i, &(c, f, hw, k, params))| {
            let n = 37;
            let x = random4([n, c, hw, hw], i as u64);
            let w = random4([f, c / params.groups, k, k], 100 + i as u64);
            let b = Array1::from_elem(f, 0.1_f32);
            let plan = ct::Conv2dPlan::new(x.shape(), w.shape(), params).unwrap();
            let o = plan.geometry().output;
            let dy = random4([n, f, o[0], o[1]], 200 + i as u64);
            let y = ct::conv2d(x.view(), w.view(), Some(b.view()), &params).unwrap();
            let grads = ct::conv2d_backward(x.view(), w.view(), dy.view(), &params).unwrap();
            let db = grads.db.clone();
            let o = o[0];
            let k = if o >= 2 { [2, 2] } else { [1, 1] };
            let (max_y, mask) = ct::max_pool2d(y.view(), k, k).unwrap();
            let pdy = random4(mask.output_shape(), 300 + i as u64);
            let max_dx = ct::max_pool2d_backward(pdy.view(), &mask).unwrap();
            let avg_y = ct::avg_pool2d(y.view(), k, k).unwrap();
            let avg_dx = ct::avg_pool2d_backward(pdy.view(), [o, o], k, k).unwrap();
            Everything {
                y,
                grads,
                db,
                max_y,
                max_dx,
                avg_y,
                avg_dx,
            }
        })
        .collect()
    })
}

#[test]
fn one_two_and_eight_threads_give_identical_bits() {
    let one = run_all(1);
    let two = run_all(2);
    let eight = run_all(8);
    // PartialEq on f32 arrays compares values; compare the bits too (NaN-safe, -0.0 aware).
    let bits = |r: &Vec<Everything>| -> Vec<u32> {
        r.iter()
            .flat_map(|e| {
                [
                    &e.y,
                    &e.grads.dx,
                    &e.grads.dw,
                    &e.max_y,
                    &e.max_dx,
                    &e.avg_y,
                    &e.avg_dx,
                ]
                .into_iter()
                .flat_map(|a| a.iter().map(|v| v.to_bits()).collect::<Vec<_>>())
                .chain(e.grads.db.iter().chain(e.db.iter()).map(|v| v.to_bits()))
                .collect::<Vec<_>>()
            })
            .collect()
    };
    assert_eq!(bits(&one), bits(&two));
    assert_eq!(bits(&one), bits(&eight));
    assert_eq!(one, two);
}
