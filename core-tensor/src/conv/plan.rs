//! A convolution planned once for its geometry and run every step.

use std::ops::Range;

use ndarray::{
    Array1, Array2, Array4, ArrayView1, ArrayView2, ArrayView4, ArrayViewMut1, ArrayViewMut4,
};

use crate::conv::choice::{
    ForwardKernel, GEMM_PER_IMAGE_PLANE, InputGradKernel, Kernels, WeightGradKernel,
};
use crate::conv::functions::Conv2dGrads;
use crate::conv::{
    Conv2dParams, dilated, direct, filter_lanes, filter_lanes_forward, gemm, winograd,
};
use crate::error::{Result, TensorError, layout_error, not_contiguous};
use crate::geometry::Geometry;
use crate::parallel::{
    BATCH_CHUNK, ChunkSums, chunk_count, for_each_chunk_mut, for_each_chunk_mut_with,
    for_each_chunk_with, sum_chunks_in_order,
};
use crate::scratch::{reuse_or_zeros, with_scratch, with_scratch_to_overwrite};
use crate::window::{columns, contiguous, fill_columns};

const OP: &str = "conv2d";

/// A 2-D convolution planned for one geometry: the input's (C, H, W), the weight's shape and
/// PyTorch's other arguments ([`Conv2dParams`]); any batch size.
///
/// Building the plan picks the forward, input-gradient and weight-gradient kernels, each on its
/// own, by what the kernels support and what they cost ([`Conv2dPlan::kernels`]). A training
/// step runs [`forward_train`](Conv2dPlan::forward_train), which keeps what the weight gradient
/// reads (the window matrix, the padded images or the images) in buffers the plan reuses every
/// step, then [`param_grads`](Conv2dPlan::param_grads) and
/// [`input_grad`](Conv2dPlan::input_grad) (or both with [`backward`](Conv2dPlan::backward)).
/// Inference runs [`forward`](Conv2dPlan::forward), which keeps nothing.
///
/// Results do not depend on the thread count (see [`crate::parallel`]).
///
/// PyTorch equivalent: `torch.nn.functional.conv2d(x, w, b, stride, padding, dilation, groups)`
/// and its autograd backward.
///
/// ```
/// use core_tensor::{Conv2dParams, Conv2dPlan};
/// use ndarray::{Array1, Array4};
/// let params = Conv2dParams::new().padding([1, 1]).groups(2);
/// let mut plan = Conv2dPlan::new(&[8, 4, 6, 6], &[6, 2, 3, 3], params).unwrap();
/// let (x, w, b) = (Array4::<f32>::ones((8, 4, 6, 6)), Array4::<f32>::ones((6, 2, 3, 3)), Array1::<f32>::zeros(6));
/// let y = plan.forward_train(x.view(), w.view(), Some(b.view())).unwrap();
/// assert_eq!(y.shape(), &[8, 6, 6, 6]);
/// assert_eq!(y[[0, 0, 2, 2]], 18.0); // 2 channels x 9 taps
/// let dy = Array4::<f32>::ones(y.raw_dim());
/// let grads = plan.backward(dy.view(), w.view()).unwrap();
/// assert_eq!((grads.dx.shape(), grads.dw.shape()), (x.shape(), w.shape()));
/// ```
#[derive(Debug, Clone)]
pub struct Conv2dPlan {
    geometry: Geometry,
    kernels: Kernels,
    /// Per chunk of images of the last training forward: what the weight gradient reads.
    kept: Vec<Array2<f32>>,
    /// The input of the last training forward, where it is what the weight gradient reads and
    /// the caller handed it over ([`Conv2dPlan::forward_train_owned`]).
    kept_input: Option<Array4<f32>>,
    /// The batch size of the last training forward, if any.
    kept_batch: Option<usize>,
    /// Chunks' partial dL/dw (F x (C/G)·KH·KW), each followed by its partial dL/db (F), while
    /// they are computed and added ([`sum_chunks_in_order`]).
    partials: ChunkSums,
    /// The partials added in chunk order: the batch's dL/dw and dL/db.
    partial_total: Vec<f32>,
    /// The stride-dilated convolution of [`InputGradKernel::DilatedConv`], built by its first use.
    adjoint: Option<Box<dilated::Adjoint>>,
}

/// What a training forward keeps for the weight gradient.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Keep {
    Nothing,
    /// The images with their padding ([`direct::pad_images`]).
    PaddedImages,
    /// The images as they are, a copy of the chunk's (count, C, H, W) data.
    Images,
    /// The window matrix.
    Columns,
}

impl Keep {
    /// Lays out in `kept` (overwriting last step's buffer where it is the same size) what to
    /// keep of the images `images` of `x`, for a forward kernel that did not build it on its way.
    fn build(
        self,
        x: &[f32],
        g: &Geometry,
        images: Range<usize>,
        kept: Option<&mut Array2<f32>>,
    ) -> Result<()> {
        let Some(kept) = kept else {
            debug_assert!(self == Self::Nothing, "nowhere to keep the input");
            return Ok(());
        };
        let spare = Some(std::mem::replace(kept, Array2::zeros((0, 0))));
        *kept = match self {
            Self::Nothing => return Ok(()),
            Self::Columns => columns(x, g, images, spare)?,
            Self::PaddedImages => direct::pad_images(x, g, images, spare)?,
            Self::Images => {
                let image = g.image_len();
                let len = images.len() * image;
                let data = reuse_or_zeros(spare, len);
                let mut kept = Array2::from_shape_vec((images.len(), image), data)
                    .map_err(layout_error(OP))?;
                let src = &x[images.start * image..images.end * image];
                kept.as_slice_mut()
                    .ok_or_else(internal)?
                    .copy_from_slice(src);
                kept
            }
        };
        Ok(())
    }
}

impl Conv2dPlan {
    /// Plans the convolution of inputs shaped like `input_shape` (N, C, H, W) with a weight of
    /// `weight_shape` (F, C/G, KH, KW).
    ///
    /// # Errors
    /// As [`Geometry::conv`]: shapes that are not 4-D, a zero stride, dilation or kernel, groups
    /// that do not divide the channels, a weight that does not fit the input, or buffers too large
    /// to address.
    pub fn new(
        input_shape: &[usize],
        weight_shape: &[usize],
        params: Conv2dParams,
    ) -> Result<Self> {
        let geometry = Geometry::conv(OP, input_shape, weight_shape, &params)?;
        Ok(Self {
            geometry,
            kernels: Kernels::choose(&geometry),
            kept: Vec::new(),
            kept_input: None,
            kept_batch: None,
            partials: ChunkSums::new(),
            partial_total: Vec::new(),
            adjoint: None,
        })
    }

    /// This plan with the caller's choice of kernels instead of the cheapest (to compare them, or
    /// to run the seed's stride-dilated input gradient).
    ///
    /// # Errors
    /// A kernel that cannot compute this geometry (the error names it and what it needs).
    ///
    /// ```
    /// use core_tensor::{Conv2dParams, Conv2dPlan, InputGradKernel};
    /// let plan = Conv2dPlan::new(&[1, 3, 9, 9], &[4, 3, 3, 3], Conv2dParams::new().stride([2, 2])).unwrap();
    /// let kernels = core_tensor::Kernels { input_grad: InputGradKernel::DilatedConv, ..plan.kernels() };
    /// let plan = plan.with_kernels(kernels).unwrap();
    /// assert_eq!(plan.kernels().input_grad, InputGradKernel::DilatedConv);
    /// ```
    pub fn with_kernels(mut self, kernels: Kernels) -> Result<Self> {
        if let Some(kernel) = kernels.unsupported(&self.geometry) {
            return Err(TensorError::InvalidArgument {
                op: OP,
                message: format!(
                    "{kernel} cannot compute the convolution of {:?} with a weight of {:?} and {:?}",
                    self.geometry.input_shape(),
                    self.geometry.weight_shape(),
                    self.geometry.params()
                ),
            });
        }
        self.kernels = kernels;
        self.kept.clear();
        self.kept_input = None;
        self.kept_batch = None;
        Ok(self)
    }

    /// The kernels this plan runs.
    pub fn kernels(&self) -> Kernels {
        self.kernels
    }

    /// The geometry planned for (its batch is the one given to [`Conv2dPlan::new`]).
    pub fn geometry(&self) -> &Geometry {
        &self.geometry
    }

    /// Bytes held between a training forward and the backward pass.
    pub fn kept_bytes(&self) -> usize {
        let input = self.kept_input.as_ref().map_or(0, |x| x.len());
        let chunks: usize = self.kept.iter().map(|c| c.len()).sum();
        (input + chunks) * size_of::<f32>()
    }

    /// `y = conv2d(x, w, b)`, keeping nothing: for inference.
    ///
    /// # Errors
    /// `x` not (N, C, H, W) with the planned C, H and W, `w` not the planned weight shape, or `b`
    /// not (F).
    pub fn forward(
        &mut self,
        x: ArrayView4<'_, f32>,
        w: ArrayView4<'_, f32>,
        b: Option<ArrayView1<'_, f32>>,
    ) -> Result<Array4<f32>> {
        let mut y = Array4::zeros(self.checked_input(x.shape())?.output_shape());
        self.forward_into(x, w, b, y.view_mut())?;
        Ok(y)
    }

    /// [`Conv2dPlan::forward`] into `y` (N, F, OH, OW), whose values are overwritten. With
    /// buffers the caller reuses, the plan allocates nothing (a GEMM kernel still allocates its
    /// packing memory inside each call).
    ///
    /// # Errors
    /// As [`Conv2dPlan::forward`], and a `y` of another shape.
    pub fn forward_into(
        &mut self,
        x: ArrayView4<'_, f32>,
        w: ArrayView4<'_, f32>,
        b: Option<ArrayView1<'_, f32>>,
        y: ArrayViewMut4<'_, f32>,
    ) -> Result<()> {
        let g = self.checked_input(x.shape())?;
        // Nothing is kept: a state per chunk of no size.
        let mut none = vec![(); chunk_count(g.batch)];
        self.run_forward(x, w, b, y, Keep::Nothing, &mut none, |()| None)
    }

    /// `y = conv2d(x, w, b)` for a training step: keeps what [`Conv2dPlan::param_grads`] reads,
    /// in the buffers of the last step where the batch size is the same. Same result, bit for
    /// bit, as [`Conv2dPlan::forward`].
    ///
    /// # Errors
    /// As [`Conv2dPlan::forward`].
    pub fn forward_train(
        &mut self,
        x: ArrayView4<'_, f32>,
        w: ArrayView4<'_, f32>,
        b: Option<ArrayView1<'_, f32>>,
    ) -> Result<Array4<f32>> {
        let mut y = Array4::zeros(self.checked_input(x.shape())?.output_shape());
        self.forward_train_into(x, w, b, y.view_mut())?;
        Ok(y)
    }

    /// [`Conv2dPlan::forward_train`] into `y` (N, F, OH, OW), whose values are overwritten. With
    /// the same batch size as the last step, the plan reuses its buffers and allocates nothing
    /// (a GEMM kernel still allocates its packing memory inside each call).
    ///
    /// # Errors
    /// As [`Conv2dPlan::forward_into`].
    pub fn forward_train_into(
        &mut self,
        x: ArrayView4<'_, f32>,
        w: ArrayView4<'_, f32>,
        b: Option<ArrayView1<'_, f32>>,
        y: ArrayViewMut4<'_, f32>,
    ) -> Result<()> {
        let g = self.checked_input(x.shape())?;
        self.kept_batch = None;
        self.kept_input = None;
        self.kept
            .resize_with(chunk_count(g.batch), || Array2::zeros((0, 0)));
        let mut kept = std::mem::take(&mut self.kept);
        let result = self.run_forward(x, w, b, y, self.keep(), &mut kept, |k| Some(k));
        self.kept = kept;
        result?;
        self.kept_batch = Some(g.batch);
        Ok(())
    }

    /// [`Conv2dPlan::forward_train_into`] for an input the caller hands over: where the weight
    /// gradient reads the images as they are (no padding to add, no window matrix to keep), the
    /// plan keeps `x` itself instead of a copy and returns `None`; otherwise it keeps its copy
    /// and returns `x`. [`Conv2dPlan::take_input`] hands the kept input back after the backward
    /// pass. Same result, bit for bit, as [`Conv2dPlan::forward`].
    ///
    /// ```
    /// use core_tensor::{Conv2dParams, Conv2dPlan};
    /// use ndarray::Array4;
    /// let (x, w) = (Array4::<f32>::ones((8, 6, 14, 14)), Array4::<f32>::ones((16, 6, 5, 5)));
    /// let mut plan = Conv2dPlan::new(x.shape(), w.shape(), Conv2dParams::new()).unwrap();
    /// let mut y = Array4::zeros((8, 16, 10, 10));
    /// let given_back = plan.forward_train_owned(x, w.view(), None, y.view_mut()).unwrap();
    /// assert!(given_back.is_none()); // kept: the weight gradient reads the unpadded images
    /// let (dw, _) = plan.param_grads(Array4::ones((8, 16, 10, 10)).view()).unwrap();
    /// assert_eq!(dw[[0, 0, 0, 0]], 800.0); // 8 images x 100 outputs
    /// assert_eq!(plan.take_input().map(|x| x.len()), Some(8 * 6 * 14 * 14));
    /// assert!(plan.param_grads(Array4::ones((8, 16, 10, 10)).view()).is_err());
    /// ```
    ///
    /// # Errors
    /// As [`Conv2dPlan::forward_into`].
    pub fn forward_train_owned(
        &mut self,
        x: Array4<f32>,
        w: ArrayView4<'_, f32>,
        b: Option<ArrayView1<'_, f32>>,
        y: ArrayViewMut4<'_, f32>,
    ) -> Result<Option<Array4<f32>>> {
        if !(self.keeps_images_as_they_are() && x.is_standard_layout()) {
            self.forward_train_into(x.view(), w, b, y)?;
            return Ok(Some(x));
        }
        let g = self.checked_input(x.shape())?;
        self.kept_batch = None;
        self.kept_input = None;
        self.kept.clear();
        let mut none = vec![(); chunk_count(g.batch)];
        self.run_forward(x.view(), w, b, y, Keep::Nothing, &mut none, |()| None)?;
        self.kept_input = Some(x);
        self.kept_batch = Some(g.batch);
        Ok(None)
    }

    /// The input that [`Conv2dPlan::forward_train_owned`] kept, handed back (to reuse its
    /// memory once the weight gradient is computed); the plan then needs another training
    /// forward before a weight gradient. `None` where the plan kept a copy instead.
    pub fn take_input(&mut self) -> Option<Array4<f32>> {
        let x = self.kept_input.take()?;
        self.kept_batch = None;
        Some(x)
    }

    /// Whether what the weight gradient reads is the images themselves, so that the caller's
    /// input can be kept instead of a copy.
    fn keeps_images_as_they_are(&self) -> bool {
        match self.keep() {
            Keep::Images => true,
            Keep::PaddedImages => self.geometry.padding == [0, 0],
            Keep::Nothing | Keep::Columns => false,
        }
    }

    /// dL/dw (F, C/G, KH, KW) and dL/db (F) of the last [`Conv2dPlan::forward_train`] for the
    /// upstream gradient `dy`, summed over the batch.
    ///
    /// # Errors
    /// No training forward before, or a `dy` that is not its output's shape.
    pub fn param_grads(&mut self, dy: ArrayView4<'_, f32>) -> Result<(Array4<f32>, Array1<f32>)> {
        let mut dw = Array4::zeros(self.geometry.weight_shape());
        let mut db = Array1::zeros(self.geometry.out_channels);
        self.add_param_grads(dy, dw.view_mut(), Some(db.view_mut()))?;
        Ok((dw, db))
    }

    /// Adds [`Conv2dPlan::param_grads`] to `dw` (F, C/G, KH, KW) and, if given, `db` (F), as
    /// PyTorch accumulates into `.grad`. With the same batch size as the last step the plan
    /// reuses its buffers (a GEMM kernel still allocates its packing memory inside each call).
    ///
    /// # Errors
    /// As [`Conv2dPlan::param_grads`], and a `dw` or `db` of another shape.
    pub fn add_param_grads(
        &mut self,
        dy: ArrayView4<'_, f32>,
        mut dw: ArrayViewMut4<'_, f32>,
        db: Option<ArrayViewMut1<'_, f32>>,
    ) -> Result<()> {
        let Some(batch) = self.kept_batch else {
            return Err(TensorError::InvalidArgument {
                op: OP,
                message:
                    "the weight gradient needs a training forward first (Conv2dPlan::forward_train)"
                        .into(),
            });
        };
        let g = self.geometry.with_batch(batch)?;
        Geometry::expect_shape(OP, "dy", &g.output_shape(), dy.shape())?;
        Geometry::expect_shape(OP, "dw", &g.weight_shape(), dw.shape())?;
        if let Some(db) = &db {
            Geometry::expect_shape(OP, "db", &[g.out_channels], db.shape())?;
        }
        let dy = dy.as_standard_layout();
        let dy = contiguous(OP, &dy)?;
        let kernel = self.kernels.weight_grad;
        let dw_len = g.out_channels * g.patch_len();
        let len = dw_len + g.out_channels;
        self.partial_total.resize(len, 0.0);
        let kept = &self.kept;
        let image = g.image_len();
        let input = match &self.kept_input {
            Some(x) => Some(x.as_slice().ok_or_else(internal)?),
            None => None,
        };
        // The images (or padded images) a chunk's weight gradient reads.
        let images_of = |images: &Range<usize>| match input {
            Some(x) => Ok(&x[images.start * image..images.end * image]),
            None => kept
                .get(images.start / BATCH_CHUNK)
                .and_then(|k| k.as_slice())
                .ok_or_else(internal),
        };
        let keep = self.keep();
        let total = &mut self.partial_total;
        sum_chunks_in_order(batch, &mut self.partials, total, |images, partial| {
            let (pw, pb) = partial.split_at_mut(dw_len);
            match kernel {
                WeightGradKernel::Direct => {
                    direct::param_grads_chunk(images_of(&images)?, dy, &g, images, pw, pb)
                }
                WeightGradKernel::FilterLanes => {
                    let xp = images_of(&images)?;
                    filter_lanes::param_grads_chunk(xp, dy, &g, images, pw, pb)
                }
                WeightGradKernel::Winograd => {
                    let x = images_of(&images)?;
                    winograd::weight_grad_chunk(x, dy, &g, images, pw, pb)
                }
                WeightGradKernel::Gemm if keep == Keep::Columns => {
                    let cols = kept.get(images.start / BATCH_CHUNK).ok_or_else(internal)?;
                    gemm::weight_grad_chunk(&cols.view(), dy, &g, images, pw, pb)
                }
                WeightGradKernel::Gemm => {
                    // The images were kept, not their windows: laid out here, a chunk at a time.
                    let x = images_of(&images)?;
                    let (rows, width) = (g.column_rows(), images.len() * g.out_plane());
                    with_scratch_to_overwrite(rows * width, |cols| {
                        fill_columns(x, &g, 0..images.len(), cols);
                        let cols = ArrayView2::from_shape((rows, width), &*cols)
                            .map_err(layout_error(OP))?;
                        gemm::weight_grad_chunk(&cols, dy, &g, images, pw, pb)
                    })
                }
            }
        })?;
        // The batch's sums, onto the gradients.
        let total = &self.partial_total;
        let dw = dw.as_slice_mut().ok_or_else(not_contiguous(OP))?;
        for (d, t) in dw.iter_mut().zip(&total[..dw_len]) {
            *d += t;
        }
        if let Some(mut db) = db {
            for (d, t) in db.iter_mut().zip(&total[dw_len..]) {
                *d += t;
            }
        }
        Ok(())
    }

    /// dL/dx (N, C, H, W) for the upstream gradient `dy` (N, F, OH, OW) and the weight `w`; it
    /// needs no forward pass.
    ///
    /// # Errors
    /// A `dy` or `w` whose shape is not the planned one.
    pub fn input_grad(
        &mut self,
        dy: ArrayView4<'_, f32>,
        w: ArrayView4<'_, f32>,
    ) -> Result<Array4<f32>> {
        let g = self
            .geometry
            .with_batch(dy.shape().first().copied().unwrap_or(0))?;
        let mut dx = Array4::zeros(g.input_shape());
        self.input_grad_into(dy, w, dx.view_mut())?;
        Ok(dx)
    }

    /// [`Conv2dPlan::input_grad`] into `dx` (N, C, H, W), whose values are overwritten.
    ///
    /// # Errors
    /// As [`Conv2dPlan::input_grad`], and a `dx` of another shape.
    pub fn input_grad_into(
        &mut self,
        dy: ArrayView4<'_, f32>,
        w: ArrayView4<'_, f32>,
        mut dx: ArrayViewMut4<'_, f32>,
    ) -> Result<()> {
        let g = self
            .geometry
            .with_batch(dy.shape().first().copied().unwrap_or(0))?;
        Geometry::expect_shape(OP, "dy", &g.output_shape(), dy.shape())?;
        Geometry::expect_shape(OP, "weight", &g.weight_shape(), w.shape())?;
        Geometry::expect_shape(OP, "dx", &g.input_shape(), dx.shape())?;
        match self.kernels.input_grad {
            InputGradKernel::DilatedConv => {
                let adjoint = match &mut self.adjoint {
                    Some(adjoint) => adjoint,
                    empty => empty.insert(Box::new(dilated::Adjoint::new(&g)?)),
                };
                adjoint.input_grad_into(dy, w, &g, dx)
            }
            InputGradKernel::Col2Im => {
                let dy = dy.as_standard_layout();
                let dy = contiguous(OP, &dy)?;
                let w = w.as_standard_layout();
                let w = gemm::weight_matrix(OP, w.view(), &g)?;
                dx.fill(0.0);
                for_each_chunk_mut(dx, |images, dx| gemm::col2im_chunk(dy, &w, &g, images, dx))
            }
        }
    }

    /// All three gradients of the last [`Conv2dPlan::forward_train`]: dL/dx, dL/dw and dL/db.
    ///
    /// # Errors
    /// As [`Conv2dPlan::param_grads`] and [`Conv2dPlan::input_grad`].
    pub fn backward(
        &mut self,
        dy: ArrayView4<'_, f32>,
        w: ArrayView4<'_, f32>,
    ) -> Result<Conv2dGrads> {
        let (dw, db) = self.param_grads(dy)?;
        let dx = self.input_grad(dy, w)?;
        Ok(Conv2dGrads { dx, dw, db })
    }

    /// Keeps what the weight gradient reads for `x` without computing the output.
    pub(crate) fn keep_input(&mut self, x: ArrayView4<'_, f32>) -> Result<()> {
        let g = self.checked_input(x.shape())?;
        let x = x.as_standard_layout();
        let x = contiguous(OP, &x)?;
        let keep = self.keep();
        self.kept
            .resize_with(chunk_count(g.batch), || Array2::zeros((0, 0)));
        for_each_chunk_with(g.batch, &mut self.kept, |images, kept| {
            keep.build(x, &g, images, Some(kept))
        })?;
        self.kept_batch = Some(g.batch);
        Ok(())
    }

    /// What a training forward keeps for the weight gradient. The GEMM's window matrix is kept
    /// where the forward builds it anyway; otherwise the images, whose windows the weight
    /// gradient lays out a chunk at a time (the matrix is (C/G)·KH·KW times the input: kept for
    /// the whole batch between the passes, it would hold that much more memory).
    fn keep(&self) -> Keep {
        match (self.kernels.weight_grad, self.kernels.forward) {
            (WeightGradKernel::Direct | WeightGradKernel::FilterLanes, _) => Keep::PaddedImages,
            (WeightGradKernel::Winograd, _) => Keep::Images,
            (WeightGradKernel::Gemm, ForwardKernel::Gemm)
                if !gemm::is_pointwise(&self.geometry) =>
            {
                Keep::Columns
            }
            (WeightGradKernel::Gemm, _) => Keep::Images,
        }
    }

    /// The geometry for an input of `shape`, which must be (N, C, H, W) with the planned C, H, W.
    fn checked_input(&self, shape: &[usize]) -> Result<Geometry> {
        let g = &self.geometry;
        match shape {
            &[n, c, h, w] if [c, h, w] == [g.channels, g.input[0], g.input[1]] => g.with_batch(n),
            _ => Err(TensorError::ShapeMismatch {
                op: OP,
                what: "input",
                expected: format!(
                    "(N, {}, {}, {}), as planned",
                    g.channels, g.input[0], g.input[1]
                ),
                got: shape.to_vec(),
            }),
        }
    }

    /// The forward pass into `out`, keeping per chunk what `keep` names in the buffer that
    /// `slot` finds in the chunk's state (one state per chunk; no buffer when nothing is kept).
    #[allow(clippy::too_many_arguments)]
    fn run_forward<S: Send>(
        &self,
        x: ArrayView4<'_, f32>,
        w: ArrayView4<'_, f32>,
        b: Option<ArrayView1<'_, f32>>,
        out: ArrayViewMut4<'_, f32>,
        keep: Keep,
        states: &mut [S],
        slot: impl Fn(&mut S) -> Option<&mut Array2<f32>> + Sync + Send,
    ) -> Result<()> {
        let g = self.checked_input(x.shape())?;
        Geometry::expect_shape(OP, "weight", &g.weight_shape(), w.shape())?;
        Geometry::expect_shape(OP, "y", &g.output_shape(), out.shape())?;
        if let Some(b) = &b {
            Geometry::expect_shape(OP, "bias", &[g.out_channels], b.shape())?;
        }
        let x = x.as_standard_layout();
        let x = contiguous(OP, &x)?;
        let w = w.as_standard_layout();
        let w_data = contiguous(OP, &w)?;
        let w2 = gemm::weight_matrix(OP, w.view(), &g)?;
        let forward = self.kernels.forward;
        let winograd_weights =
            (forward == ForwardKernel::Winograd).then(|| winograd::transform_weights(w_data, &g));
        let lane_weights = (forward == ForwardKernel::FilterLanes).then(|| {
            let lanes = filter_lanes_forward::lanes(&g);
            (filter_lanes_forward::pack_weights(w_data, &g, lanes), lanes)
        });
        // The forward of a chunk from its padded images, for the kernels that read them.
        let on_padded = |xp: &[f32], count: usize, out: ArrayViewMut4<'_, f32>| match forward {
            ForwardKernel::FilterLanes => {
                let (packed, lanes) = lane_weights.as_ref().ok_or_else(internal)?;
                let packed = (packed.as_slice(), *lanes);
                filter_lanes_forward::forward_chunk(xp, packed, b.as_ref(), &g, count, out)
            }
            _ => direct::forward_chunk(xp, w_data, b.as_ref(), &g, count, out),
        };
        for_each_chunk_mut_with(out, states, |images, out, state| {
            let kept = slot(state);
            let count = images.len();
            match (forward, keep) {
                (ForwardKernel::Direct | ForwardKernel::FilterLanes, Keep::PaddedImages) => {
                    let kept = kept.ok_or_else(internal)?;
                    keep.build(x, &g, images, Some(&mut *kept))?;
                    let data = kept.as_slice().ok_or_else(internal)?;
                    on_padded(data, count, out)
                }
                (ForwardKernel::Direct | ForwardKernel::FilterLanes, _) if g.padding == [0, 0] => {
                    // Without padding the padded images are the images: read in place.
                    let image = g.image_len();
                    on_padded(&x[images.start * image..images.end * image], count, out)?;
                    keep.build(x, &g, images, kept)
                }
                (ForwardKernel::Direct | ForwardKernel::FilterLanes, _) => {
                    let (rows, wp) = direct::padded_shape(&g, count);
                    with_scratch(rows * wp, |xp| {
                        direct::fill_padded(x, &g, images.clone(), xp);
                        on_padded(xp, count, out)
                    })?;
                    keep.build(x, &g, images, kept)
                }
                (ForwardKernel::Winograd, _) => {
                    let u = winograd_weights.as_deref().ok_or_else(internal)?;
                    let mut out = out;
                    let out_data = out.as_slice_mut().ok_or_else(internal)?;
                    winograd::forward_chunk(x, u, b.as_ref(), &g, images.clone(), out_data)?;
                    keep.build(x, &g, images, kept)
                }
                (ForwardKernel::Gemm, Keep::Columns) => {
                    let kept = kept.ok_or_else(internal)?;
                    keep.build(x, &g, images, Some(&mut *kept))?;
                    gemm::forward_chunk(&w2, b.as_ref(), &g, kept.view(), out)
                }
                (ForwardKernel::Gemm, _) if gemm::is_pointwise(&g) => {
                    // A 1x1 layer's window matrix is the image itself: no copy.
                    let (rows, plane) = (g.column_rows(), g.out_plane());
                    let mut out = out;
                    for (bi, n) in images.clone().enumerate() {
                        let cols = ArrayView2::from_shape(
                            (rows, plane),
                            &x[n * rows * plane..(n + 1) * rows * plane],
                        )
                        .map_err(layout_error(OP))?;
                        let out = out.slice_mut(ndarray::s![bi..bi + 1, .., .., ..]);
                        gemm::forward_chunk(&w2, b.as_ref(), &g, cols, out)?;
                    }
                    keep.build(x, &g, images, kept)
                }
                (ForwardKernel::Gemm, _) => {
                    // The windows are needed for this forward only: laid out in scratch memory,
                    // an image at a time where planes are large (they then stay in the cache
                    // for the GEMM), else the chunk at once.
                    let plane = g.out_plane();
                    let step = if plane >= GEMM_PER_IMAGE_PLANE {
                        1
                    } else {
                        count
                    };
                    let rows = g.column_rows();
                    let mut out = out;
                    for (part, first) in (images.start..images.end).step_by(step).enumerate() {
                        let part_images = first..(first + step).min(images.end);
                        let width = part_images.len() * plane;
                        let out = out.slice_mut(ndarray::s![
                            part * step..part * step + part_images.len(),
                            ..,
                            ..,
                            ..
                        ]);
                        with_scratch_to_overwrite(rows * width, |buf| {
                            fill_columns(x, &g, part_images, buf);
                            let cols = ArrayView2::from_shape((rows, width), &*buf)
                                .map_err(layout_error(OP))?;
                            gemm::forward_chunk(&w2, b.as_ref(), &g, cols, out)
                        })?;
                    }
                    keep.build(x, &g, images, kept)
                }
            }
        })
    }
}

/// The error of a buffer this module built contiguous and found otherwise (a bug).
fn internal() -> TensorError {
    TensorError::InvalidArgument {
        op: OP,
        message: "internal error: a kernel buffer is not contiguous".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kernels(x: [usize; 4], w: [usize; 4], p: Conv2dParams) -> Kernels {
        Conv2dPlan::new(&x, &w, p).unwrap().kernels()
    }

    #[test]
    fn plans_pick_kernels_by_geometry() {
        use ForwardKernel as F;
        use InputGradKernel as I;
        use WeightGradKernel as W;
        let same5 = Conv2dParams::new().padding([2, 2]);
        let same3 = Conv2dParams::new().padding([1, 1]);
        // One channel, 5x5, wide rows, few filters: the window matrix would be 25 times the
        // input, read by only 4 filters.
        let k = kernels([64, 1, 28, 28], [4, 1, 5, 5], same5);
        assert_eq!((k.forward, k.weight_grad), (F::Direct, W::Direct));
        // With 6 filters: the filter lanes forward (6 of 8 lanes), the GEMM for the weight
        // gradient.
        let k = kernels([64, 1, 28, 28], [6, 1, 5, 5], same5);
        assert_eq!((k.forward, k.weight_grad), (F::FilterLanes, W::Gemm));
        // A depthwise 3x3 layer: direct forward and weight gradient, and dL/dx as the direct
        // convolution of the padded gradient.
        let k = kernels([64, 32, 16, 16], [32, 1, 3, 3], same3.groups(32));
        assert_eq!(
            (k.forward, k.input_grad, k.weight_grad),
            (F::Direct, I::DilatedConv, W::Direct)
        );
        // 16 filters over 150-value windows and 10x10 outputs: filter lanes forward and for
        // the weight gradient.
        let k = kernels([64, 6, 14, 14], [16, 6, 5, 5], Conv2dParams::new());
        assert_eq!(
            (k.forward, k.input_grad, k.weight_grad),
            (F::FilterLanes, I::Col2Im, W::FilterLanes)
        );
        // The same with 12 filters: the GEMM (the lanes would be partly idle).
        let k = kernels([64, 6, 14, 14], [12, 6, 5, 5], Conv2dParams::new());
        assert_eq!(k.forward, F::Gemm);
        // A 1x1 layer: the GEMM on the image itself.
        let k = kernels([64, 256, 8, 8], [64, 256, 1, 1], Conv2dParams::new());
        assert_eq!(k.forward, F::Gemm);
        // A wide stride-1 3x3 layer: Winograd for all three, dL/dx as the Winograd convolution
        // of the padded gradient.
        let k = kernels([64, 64, 16, 16], [128, 64, 3, 3], same3);
        assert_eq!(
            (k.forward, k.input_grad, k.weight_grad),
            (F::Winograd, I::DilatedConv, W::Winograd)
        );
        // Wide 5x5 layers: Winograd's F(2x2, 5x5) for all three, dL/dx as the Winograd
        // convolution of the padded gradient.
        let k = kernels([64, 32, 14, 14], [64, 32, 5, 5], same5);
        assert_eq!(
            (k.forward, k.input_grad, k.weight_grad),
            (F::Winograd, I::DilatedConv, W::Winograd)
        );
        // A strided layer cannot take the direct kernels.
        let k = kernels([64, 3, 32, 32], [64, 3, 3, 3], same3.stride([2, 2]));
        assert_eq!(k.forward, F::Gemm);
        // Dilation 2 with 16 filters: the filter lanes read dilated taps too, and dL/dx is
        // their convolution of the padded gradient.
        let dilated = Conv2dParams::new().padding([2, 2]).dilation([2, 2]);
        let k = kernels([64, 16, 16, 16], [16, 16, 3, 3], dilated);
        assert_eq!(
            (k.forward, k.input_grad, k.weight_grad),
            (F::FilterLanes, I::DilatedConv, W::FilterLanes)
        );
        // Dilation 3: the GEMM (the filter lanes' taps would be at run-time offsets).
        let k = kernels([64, 16, 16, 16], [16, 16, 3, 3], dilated.dilation([3, 3]));
        assert_eq!(k.forward, F::Gemm);
        // A 5x5 kernel over a 5x5 input: the spread-out gradient is mostly zeros.
        let k = kernels([64, 16, 5, 5], [120, 16, 5, 5], Conv2dParams::new());
        assert_eq!(k.input_grad, I::Col2Im);
        // Padding larger than the kernel needs: more outputs than inputs.
        let k = kernels(
            [4, 2, 4, 4],
            [3, 2, 3, 3],
            Conv2dParams::new().padding([3, 3]),
        );
        assert_eq!(k.input_grad, I::DilatedConv);
    }

    #[test]
    fn a_kernel_that_cannot_compute_the_geometry_is_refused_by_name() {
        let plan = Conv2dPlan::new(
            &[1, 3, 9, 9],
            &[4, 3, 3, 3],
            Conv2dParams::new().stride([2, 2]),
        )
        .unwrap();
        let direct = Kernels {
            forward: ForwardKernel::Direct,
            ..plan.kernels()
        };
        let e = plan.with_kernels(direct).unwrap_err().to_string();
        assert!(
            e.contains("ForwardKernel::Direct") && e.contains("stride 1"),
            "{e}"
        );
    }

    #[test]
    fn gradients_need_a_training_forward() {
        let mut plan = Conv2dPlan::new(&[2, 1, 8, 8], &[1, 1, 3, 3], Conv2dParams::new()).unwrap();
        let dy = Array4::<f32>::zeros((2, 1, 6, 6));
        let e = plan.param_grads(dy.view()).unwrap_err().to_string();
        assert!(e.contains("forward_train"), "{e}");
    }
}
