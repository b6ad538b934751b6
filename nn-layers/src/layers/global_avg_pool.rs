//! Global average pooling.

use core_tensor::Tensor;
use ndarray::{Array2, Array4, Ix2, Ix4, Zip};

use crate::error::Result;
use crate::layer::{Layer, Mode, bad_input, check_grad, no_forward, view_as};
use crate::spec::LayerSpec;

/// The mean of each channel over its plane: (N, C, H, W) -> (N, C); backward spreads each
/// gradient evenly, dL/dx = dL/dy / (H·W).
///
/// PyTorch equivalent: `torch.nn.AdaptiveAvgPool2d(1)` followed by `torch.nn.Flatten()`; in
/// ONNX, `GlobalAveragePool` and `Flatten`.
#[derive(Debug, Clone, Default)]
pub struct GlobalAvgPooling {
    /// The input shape of the last training forward.
    input: Option<[usize; 4]>,
}

impl GlobalAvgPooling {
    /// A global average pooling layer.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Layer for GlobalAvgPooling {
    fn spec(&self) -> Option<LayerSpec> {
        Some(LayerSpec::GlobalAvgPooling)
    }

    fn describe(&self) -> String {
        "GlobalAvgPooling".into()
    }

    fn forward(&mut self, x: &Tensor, mode: Mode) -> Result<Tensor> {
        let x4 = view_as::<Ix4>(self, x, "(N, C, H, W)")?;
        let (n, c, h, w) = x4.dim();
        if h * w == 0 {
            return Err(bad_input(self, "(N, C, H, W) with H, W >= 1", x.shape()));
        }
        let scale = 1.0 / (h * w) as f64;
        let mut y = Array2::<f32>::zeros((n, c));
        // Each mean summed in order in f64: the same bits whatever the thread count.
        Zip::from(y.rows_mut())
            .and(x4.outer_iter())
            .par_for_each(|mut row, image| {
                for (out, plane) in row.iter_mut().zip(image.outer_iter()) {
                    let sum: f64 = plane.iter().map(|&v| f64::from(v)).sum();
                    *out = (sum * scale) as f32;
                }
            });
        self.input = (mode == Mode::Train).then_some([n, c, h, w]);
        Ok(y.into_dyn())
    }

    fn backward(&mut self, grad: &Tensor) -> Result<Tensor> {
        let [n, c, h, w] = self.input.ok_or_else(|| no_forward(self))?;
        check_grad(self, &[n, c], grad)?;
        let dy = view_as::<Ix2>(self, grad, "(N, C)")?;
        let scale = 1.0 / (h * w) as f32;
        let mut dx = Array4::<f32>::zeros((n, c, h, w));
        Zip::from(dx.outer_iter_mut())
            .and(dy.outer_iter())
            .par_for_each(|mut image, row| {
                for (mut plane, &g) in image.outer_iter_mut().zip(row.iter()) {
                    plane.fill(g * scale);
                }
            });
        Ok(dx.into_dyn())
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        match input {
            &[c, h, w] if h >= 1 && w >= 1 => Ok(vec![c]),
            _ => Err(bad_input(self, "(C, H, W)", input)),
        }
    }
}
